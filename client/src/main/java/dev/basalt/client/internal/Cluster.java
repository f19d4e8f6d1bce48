package dev.basalt.client.internal;

import dev.basalt.client.TopicPartition;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataResponse;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable snapshot of cluster metadata as this client last saw it: brokers, the
 * controller, and the topics it asked about with their partitions' leaders.
 *
 * <p>Thread-safety: immutable; published through a volatile field by {@link MetadataManager}.
 */
public final class Cluster implements RecordAccumulator.LeaderView {
    /** One partition's placement. {@code leaderId} is -1 when the partition has no leader. */
    public record PartitionInfo(int partition, int leaderId, int leaderEpoch, List<Integer> replicas, List<Integer> isr) {
    }

    /**
     * One topic; partitions indexed by partition number. {@code maxMessageBytes}: the largest batch
     * its leaders accept (max.message.bytes), 0 if the brokers did not say.
     */
    public record TopicInfo(String name, String topicId, List<PartitionInfo> partitions, int maxMessageBytes) {
        public int partitionCount() {
            return partitions.size();
        }
    }

    public static final Cluster EMPTY = new Cluster(Map.of(), -1, "", Map.of(), Map.of(), Map.of(), Map.of(), java.util.Set.of(),
            Long.MIN_VALUE);

    /**
     * How long answers about a topic may all come from older images than the one its entry came
     * from before the client takes them anyway: then either only lagging brokers answer (their
     * view is all there is) or the metadata log behind these addresses started over (a cluster
     * formatted again under the same cluster id), and ignoring them would keep the entry forever.
     */
    public static final long OLDER_ANSWERS_IGNORED_MAX_MS = 30_000;

    private final Map<Integer, HostPort> brokers;
    private final int controllerId;
    private final String clusterId;
    private final Map<String, TopicInfo> topics;
    private final Map<String, ErrorCode> topicErrors;
    /**
     * Per topic name, the metadata log index of the answer its entry (topic or error) came from;
     * absent when that answer did not say (an older broker).
     */
    private final Map<String, Long> seenAtOffset;
    /** Per topic name, since when (monotonic ms) every answer about it came from an older image. */
    private final Map<String, Long> olderSinceMs;
    /** The names whose entries the merge that made this snapshot kept over its answer's (older) ones. */
    private final java.util.Set<String> skippedByMerge;
    private final long updatedMs;

    private Cluster(Map<Integer, HostPort> brokers, int controllerId, String clusterId,
                    Map<String, TopicInfo> topics, Map<String, ErrorCode> topicErrors, Map<String, Long> seenAtOffset,
                    Map<String, Long> olderSinceMs, java.util.Set<String> skippedByMerge, long updatedMs) {
        this.brokers = Map.copyOf(brokers);
        this.controllerId = controllerId;
        this.clusterId = clusterId;
        this.topics = Map.copyOf(topics);
        this.topicErrors = Map.copyOf(topicErrors);
        this.seenAtOffset = Map.copyOf(seenAtOffset);
        this.olderSinceMs = Map.copyOf(olderSinceMs);
        this.skippedByMerge = java.util.Set.copyOf(skippedByMerge);
        this.updatedMs = updatedMs;
    }

    /**
     * A new snapshot from a Metadata response, keeping this snapshot's topics that the response
     * did not mention (a response covers only the topics asked for).
     *
     * <p>A broker's metadata image may lag the controller's (KIP-320's reason for epochs in
     * metadata): when the answer gives a partition of the same topic id an older leader epoch
     * than this snapshot has, the partition keeps what this snapshot knows, so that a client
     * never routes back to a leader it has already seen replaced.
     *
     * <p>An answer that says from which metadata log index its image is ({@code metadata_offset}
     * above 0) does not replace a topic's entry that came from a newer image: a lagging broker
     * may still show a topic deleted and created again under its old id, or not yet show a new
     * topic. Found by review: a consumer given such an answer took its confirmed position for
     * one in a deleted topic and reset it. Once every answer about a topic for
     * {@link #OLDER_ANSWERS_IGNORED_MAX_MS} came from an older image, they are taken after all.
     */
    public Cluster merge(MetadataResponse r, long nowMs) {
        Map<Integer, HostPort> b = new HashMap<>();
        r.getBrokersList().forEach(n -> b.put(n.getId(), new HostPort(n.getHost(), n.getPort())));
        Map<String, TopicInfo> t = new HashMap<>(topics);
        Map<String, ErrorCode> errors = new HashMap<>(topicErrors);
        // Indexes of one cluster's metadata log only: another cluster id (storage formatted again
        // behind the same addresses) starts over.
        boolean sameCluster = clusterId.isEmpty() || clusterId.equals(r.getClusterId());
        Map<String, Long> seenAt = sameCluster ? new HashMap<>(seenAtOffset) : new HashMap<>();
        Map<String, Long> olderSince = sameCluster ? new HashMap<>(olderSinceMs) : new HashMap<>();
        java.util.Set<String> skipped = new java.util.HashSet<>();
        long answerOffset = r.getMetadataOffset();
        for (MetadataResponse.TopicMetadata tm : r.getTopicsList()) {
            if (answerOffset > 0 && seenAt.getOrDefault(tm.getName(), 0L) > answerOffset) {
                long since = olderSince.computeIfAbsent(tm.getName(), k -> nowMs);
                if (nowMs - since < OLDER_ANSWERS_IGNORED_MAX_MS) {
                    skipped.add(tm.getName());
                    continue; // this name's entry came from a newer image than this answer's
                }
            }
            olderSince.remove(tm.getName());
            if (answerOffset > 0) {
                seenAt.put(tm.getName(), answerOffset);
            } else {
                seenAt.remove(tm.getName());
            }
            if (tm.getErrorCode() != ErrorCode.NONE) {
                t.remove(tm.getName());
                errors.put(tm.getName(), tm.getErrorCode());
                continue;
            }
            errors.remove(tm.getName());
            PartitionInfo[] parts = new PartitionInfo[tm.getPartitionsCount()];
            for (MetadataResponse.PartitionMetadata pm : tm.getPartitionsList()) {
                int p = pm.getPartition();
                if (p < 0 || p >= parts.length || parts[p] != null) {
                    throw new IllegalStateException("metadata for " + tm.getName() + " lists partition " + p
                            + " out of range or twice (count " + parts.length + ")");
                }
                parts[p] = new PartitionInfo(p, pm.getLeaderId(), pm.getLeaderEpoch(),
                        List.copyOf(pm.getReplicasList()), List.copyOf(pm.getIsrList()));
                PartitionInfo known = knownPartition(tm.getName(), tm.getTopicId(), p);
                if (known != null && known.leaderEpoch() > pm.getLeaderEpoch()) {
                    parts[p] = known;
                }
            }
            t.put(tm.getName(), new TopicInfo(tm.getName(), tm.getTopicId(), List.of(parts), tm.getMaxMessageBytes()));
        }
        return new Cluster(b, r.getControllerId(), r.getClusterId(), t, errors, seenAt, olderSince, skipped, nowMs);
    }

    private PartitionInfo knownPartition(String topic, String topicId, int partition) {
        TopicInfo t = topics.get(topic);
        if (t == null || !t.topicId().equals(topicId) || partition >= t.partitionCount()) {
            return null;
        }
        return t.partitions().get(partition);
    }

    /**
     * This snapshot with a partition's leader replaced by a hint from a broker's answer
     * (NOT_LEADER with leader_id_hint), when the hint is newer than what this snapshot knows
     * and names a known broker; otherwise this snapshot. Lets a producer or consumer move to
     * the new leader without waiting for a full metadata round trip (as KIP-951).
     */
    public Cluster withLeaderHint(TopicPartition tp, int leaderId, int leaderEpoch) {
        TopicInfo t = topics.get(tp.topic());
        if (t == null || tp.partition() >= t.partitionCount() || leaderId < 0 || !brokers.containsKey(leaderId)) {
            return this;
        }
        PartitionInfo old = t.partitions().get(tp.partition());
        if (leaderEpoch <= old.leaderEpoch()) {
            return this;
        }
        List<PartitionInfo> parts = new java.util.ArrayList<>(t.partitions());
        parts.set(tp.partition(), new PartitionInfo(tp.partition(), leaderId, leaderEpoch, old.replicas(), old.isr()));
        Map<String, TopicInfo> ts = new HashMap<>(topics);
        ts.put(tp.topic(), new TopicInfo(t.name(), t.topicId(), List.copyOf(parts), t.maxMessageBytes()));
        return new Cluster(brokers, controllerId, clusterId, ts, topicErrors, seenAtOffset, olderSinceMs, java.util.Set.of(),
                updatedMs);
    }

    public Map<Integer, HostPort> brokers() {
        return brokers;
    }

    public HostPort broker(int id) {
        return brokers.get(id);
    }

    public int controllerId() {
        return controllerId;
    }

    public String clusterId() {
        return clusterId;
    }

    public TopicInfo topic(String name) {
        return topics.get(name);
    }

    /**
     * Whether the merge that made this snapshot kept {@code name}'s entry over its answer's, which
     * came from an older image: what that answer said of the topic is not the client's view.
     */
    public boolean skippedByMerge(String name) {
        return skippedByMerge.contains(name);
    }

    /** The error the last metadata answer gave for this topic (UNKNOWN_TOPIC, INVALID_TOPIC), or null. */
    public ErrorCode topicError(String name) {
        return topicErrors.get(name);
    }

    /** The leader's broker id, or -1 if the topic, partition or leader is unknown. */
    @Override
    public int leaderFor(TopicPartition tp) {
        TopicInfo t = topics.get(tp.topic());
        if (t == null || tp.partition() >= t.partitionCount()) {
            return -1;
        }
        int leader = t.partitions().get(tp.partition()).leaderId();
        return brokers.containsKey(leader) ? leader : -1;
    }

    /** The partition's leader epoch as last seen, or -1 if unknown. */
    @Override
    public int leaderEpochFor(TopicPartition tp) {
        TopicInfo t = topics.get(tp.topic());
        if (t == null || tp.partition() >= t.partitionCount()) {
            return -1;
        }
        return t.partitions().get(tp.partition()).leaderEpoch();
    }

    @Override
    public int batchBytesMaxFor(TopicPartition tp) {
        TopicInfo t = topics.get(tp.topic());
        return t == null ? 0 : Math.max(0, t.maxMessageBytes());
    }

    /** Monotonic ms of the metadata answer this snapshot came from; Long.MIN_VALUE if none. */
    public long updatedMs() {
        return updatedMs;
    }
}

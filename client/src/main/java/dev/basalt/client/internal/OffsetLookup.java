package dev.basalt.client.internal;

import dev.basalt.client.BasaltException;
import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.TopicPartition;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ListOffsetsRequest;
import dev.basalt.proto.v1.ListOffsetsResponse;
import dev.basalt.proto.v1.ListOffsetsServiceGrpc;
import io.grpc.StatusRuntimeException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Blocking ListOffsets lookups (earliest, latest, by timestamp) for a set of partitions, sent to
 * each partition's leader, retrying retriable errors after a metadata refresh until a deadline.
 *
 * <p>Thread-safety: thread-safe (stateless apart from the shared, thread-safe collaborators).
 */
public final class OffsetLookup {
    /** An answer that a topic does not exist this recent counts without a refresh in the lookup itself. */
    static final long RECENT_UNKNOWN_ANSWER_MS = 1_000;

    /** ListOffsets timestamp for the log start offset. */
    public static final long EARLIEST = -2L;
    /** ListOffsets timestamp for the high watermark. */
    public static final long LATEST = -1L;

    /** An answer: offset (and, for timestamp lookups, the found record's timestamp); -1 when none. */
    public record Found(long offset, long timestamp) {
    }

    private final MetadataManager metadata;
    private final ChannelPool channels;
    private final int requestTimeoutMs;
    private final long retryBackoffMs;
    private final Time time;

    public OffsetLookup(MetadataManager metadata, ChannelPool channels, int requestTimeoutMs, long retryBackoffMs, Time time) {
        this.metadata = metadata;
        this.channels = channels;
        this.requestTimeoutMs = requestTimeoutMs;
        this.retryBackoffMs = retryBackoffMs;
        this.time = time;
    }

    /**
     * Looks up each partition's offset for its target timestamp (EARLIEST, LATEST or a time).
     *
     * @throws ClientTimeoutException if retriable errors persisted until timeoutMs
     * @throws BasaltException        a definite non-retriable error (INVALID_PARTITION; UNKNOWN_TOPIC
     *                                at the deadline if metadata fetched during the lookup still
     *                                said so and the cluster has said so for
     *                                {@link MetadataManager#UNKNOWN_TOPIC_GRACE_MS})
     */
    public Map<TopicPartition, Found> lookup(Map<TopicPartition, Long> targets, long timeoutMs) throws InterruptedException {
        Map<TopicPartition, Found> out = new LinkedHashMap<>();
        lookup(targets, timeoutMs, out);
        return out;
    }

    /**
     * As above, putting each answer into {@code out} as it arrives: what was found stays there when
     * the lookup of another partition fails (a partition without a leader must not keep the others
     * of the same lookup from being read).
     */
    public void lookup(Map<TopicPartition, Long> targets, long timeoutMs, Map<TopicPartition, Found> out) throws InterruptedException {
        long deadline = time.monotonicMs() + timeoutMs;
        Map<TopicPartition, Long> left = new LinkedHashMap<>(targets);
        targets.keySet().forEach(tp -> metadata.track(java.util.List.of(tp.topic())));
        BasaltException last = null;
        boolean refreshed = false;
        while (!left.isEmpty()) {
            Cluster cluster = metadata.current();
            Map<Integer, Map<TopicPartition, Long>> byLeader = new HashMap<>();
            boolean missingLeader = false;
            for (Map.Entry<TopicPartition, Long> e : left.entrySet()) {
                int leader = cluster.leaderFor(e.getKey());
                if (leader < 0) {
                    missingLeader = true;
                    ErrorCode err = cluster.topicError(e.getKey().topic());
                    if (err != null && err != ErrorCode.UNKNOWN_TOPIC) {
                        throw Errors.forCode(err, "", "topic " + e.getKey().topic());
                    }
                    // a group may assign a partition added after this client's metadata: refused only
                    // when metadata fetched during this lookup still does not have it
                    if (refreshed && cluster.topic(e.getKey().topic()) != null
                            && e.getKey().partition() >= cluster.topic(e.getKey().topic()).partitionCount()) {
                        throw Errors.forCode(ErrorCode.INVALID_PARTITION, "", "partition " + e.getKey() + " does not exist (topic "
                                + e.getKey().topic() + " has " + cluster.topic(e.getKey().topic()).partitionCount() + ")");
                    }
                } else {
                    byLeader.computeIfAbsent(leader, k -> new LinkedHashMap<>()).put(e.getKey(), e.getValue());
                }
            }
            for (Map.Entry<Integer, Map<TopicPartition, Long>> e : byLeader.entrySet()) {
                last = ask(cluster.broker(e.getKey()), e.getValue(), cluster, out, left, last);
            }
            if (left.isEmpty()) {
                break;
            }
            long remaining = deadline - time.monotonicMs();
            if (remaining <= 0) {
                if (last != null && !last.retriable()) {
                    throw last;
                }
                for (TopicPartition tp : left.keySet()) {
                    // Only after the cluster said so for the grace, and lately (fetched during this
                    // lookup, or within a second): a short lookup (a poll's) that saw the metadata
                    // cached before the topic was created again called it missing (GroupsCliE2ETest:
                    // consume --group ended with "topic doomed does not exist" as its topic came back).
                    // Not only "fetched during this lookup": lookups of a few ms (poll(0)) rarely are.
                    long age = metadata.unknownAnswerAgeMs(tp.topic());
                    if (metadata.current().topicError(tp.topic()) == ErrorCode.UNKNOWN_TOPIC
                            && metadata.unknownForMs(tp.topic()) >= MetadataManager.UNKNOWN_TOPIC_GRACE_MS
                            && (refreshed || (age >= 0 && age <= RECENT_UNKNOWN_ANSWER_MS))) {
                        throw new dev.basalt.client.UnknownTopicException("topic " + tp.topic() + " does not exist");
                    }
                }
                throw new ClientTimeoutException("offsets of " + left.keySet() + " not found within " + timeoutMs + " ms"
                        + (last == null ? (missingLeader ? ": no leader known" : "") : ": " + last.getMessage()), last);
            }
            refreshed |= refreshQuietly(remaining);
            Thread.sleep(Math.min(retryBackoffMs, Math.max(1, deadline - time.monotonicMs())));
        }
    }

    private boolean refreshQuietly(long remainingMs) throws InterruptedException {
        try {
            metadata.refreshNow(remainingMs);
            return true;
        } catch (BasaltException e) {
            return false; // the loop retries until its deadline and reports the last error then
        }
    }

    private BasaltException ask(HostPort address, Map<TopicPartition, Long> targets, Cluster cluster,
                                Map<TopicPartition, Found> out, Map<TopicPartition, Long> left, BasaltException last) {
        Map<String, ListOffsetsRequest.TopicData.Builder> topics = new LinkedHashMap<>();
        targets.forEach((tp, ts) -> topics.computeIfAbsent(tp.topic(), t -> ListOffsetsRequest.TopicData.newBuilder().setName(t))
                .addPartitions(ListOffsetsRequest.PartitionData.newBuilder().setPartition(tp.partition()).setTimestamp(ts)
                        .setCurrentLeaderEpoch(cluster.leaderEpochFor(tp))));
        ListOffsetsRequest.Builder req = ListOffsetsRequest.newBuilder();
        topics.values().forEach(req::addTopics);
        ListOffsetsResponse resp;
        try {
            resp = ListOffsetsServiceGrpc.newBlockingStub(channels.channel(address))
                    .withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS).listOffsets(req.build());
        } catch (StatusRuntimeException e) {
            return Errors.forTransport(e, false, "list offsets from " + address);
        }
        if (resp.getErrorCode() != ErrorCode.NONE) {
            return Errors.forCode(resp.getErrorCode(), resp.getErrorMessage(), "list offsets from " + address);
        }
        for (ListOffsetsResponse.TopicResponse t : resp.getTopicsList()) {
            for (ListOffsetsResponse.PartitionResponse p : t.getPartitionsList()) {
                TopicPartition tp = new TopicPartition(t.getName(), p.getPartition());
                if (!left.containsKey(tp)) {
                    continue;
                }
                if (p.getErrorCode() == ErrorCode.NONE) {
                    out.put(tp, new Found(p.getOffset(), p.getTimestamp()));
                    left.remove(tp);
                } else {
                    BasaltException e = Errors.forCode(p.getErrorCode(), p.getErrorMessage(), "list offsets of " + tp);
                    if (!Errors.isRetriable(p.getErrorCode())) {
                        throw e;
                    }
                    last = e;
                }
            }
        }
        return last;
    }
}

package dev.basalt.broker.replica;

import dev.basalt.broker.purgatory.Purgatory;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TopicPartition;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.ErrorCode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this broker's partition replicas in step with the metadata image: creates the log of
 * every partition assigned here, applies leader/ISR changes and topic configs, and deletes the
 * data of topics that were removed (or replaced by a new topic of the same name — the topic id
 * decides, so a re-created topic never sees the old data).
 *
 * <p>The topic id of each partition's data is kept in {@code <partition dir>/partition.metadata}; at start-up
 * a log whose id differs from the image's (the topic was deleted and re-created while this broker
 * was down) is deleted before it can be served.
 *
 * <p>Thread-safety: {@link #applyImage} is called by one thread (the metadata publisher); lookups
 * run concurrently on request threads and see either the old or the new partition map.
 */
public final class ReplicaManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaManager.class);
    /** Holds the topic id of the partition's data; the log engine leaves it alone. */
    private static final String TOPIC_ID_FILE = dev.basalt.log.recovery.LogLoader.PARTITION_METADATA_FILE;

    private final int brokerId;
    private final LogManager logs;
    private final Map<String, String> topicDefaults;
    private final int defaultMinInsyncReplicas;
    private final Purgatory<TopicPartition> fetchWaiters;
    private final ConcurrentMap<TopicPartition, Partition> partitions = new ConcurrentHashMap<>();
    private volatile MetadataImage image = MetadataImage.EMPTY;

    public ReplicaManager(int brokerId, LogManager logs, Map<String, String> topicDefaults, Purgatory<TopicPartition> fetchWaiters) {
        this.brokerId = brokerId;
        this.logs = logs;
        this.topicDefaults = Map.copyOf(topicDefaults);
        this.defaultMinInsyncReplicas = Integer.parseInt(topicDefaults.getOrDefault("min.insync.replicas", "1"));
        this.fetchWaiters = fetchWaiters;
    }

    public MetadataImage image() {
        return image;
    }

    public int brokerId() {
        return brokerId;
    }

    /** Finds the local leader replica of {@code topic}/{@code partition}, or the error to answer. */
    public Lookup leaderFor(String topic, int partition) {
        MetadataImage img = image;
        Optional<TopicImage> t = img.topics().topic(topic);
        if (t.isEmpty()) {
            return Lookup.error(ErrorCode.UNKNOWN_TOPIC, "unknown topic '" + topic + "'");
        }
        Optional<PartitionRegistration> reg = t.get().partition(partition);
        if (reg.isEmpty()) {
            return Lookup.error(ErrorCode.INVALID_PARTITION, "topic '" + topic + "' has " + t.get().partitionCount()
                    + " partitions; " + partition + " is not one of them");
        }
        PartitionRegistration r = reg.get();
        if (r.leader() != brokerId) {
            return Lookup.notLeader("broker " + brokerId + " does not lead " + topic + "-" + partition
                    + (r.hasLeader() ? " (leader is " + r.leader() + ")" : " (no leader)"), r.leader(), r.leaderEpoch());
        }
        Partition p = partitions.get(new TopicPartition(topic, partition));
        if (p == null || !p.isLeader()) {
            return Lookup.error(ErrorCode.REPLICA_NOT_AVAILABLE, "replica of " + topic + "-" + partition + " is still loading");
        }
        return Lookup.found(p);
    }

    /** Wakes long-polling fetches waiting on {@code tp} (after an append or a HW move). */
    public void notifyAppended(TopicPartition tp) {
        fetchWaiters.checkAndComplete(tp);
    }

    public Purgatory<TopicPartition> fetchWaiters() {
        return fetchWaiters;
    }

    /**
     * Makes the local replicas match {@code next}: creates logs of new assignments, applies
     * leadership and configs, and — only once {@code caughtUp} — deletes the data of topics gone or
     * replaced. Before the image has caught up with the quorum (right after a restart, while the
     * metadata log replays) a topic missing from it may exist all the same: deleting its data then
     * would destroy acknowledged records, so such logs are left alone and not served.
     */
    public synchronized void applyImage(MetadataImage next, boolean caughtUp) {
        Set<TopicPartition> wanted = new HashSet<>();
        Map<TopicPartition, String> wantedIds = new HashMap<>();
        for (TopicImage topic : next.topics().topicsById().values()) {
            for (Map.Entry<Integer, PartitionRegistration> e : topic.partitions().entrySet()) {
                if (e.getValue().replicas().contains(brokerId)) {
                    TopicPartition tp = new TopicPartition(topic.name(), e.getKey());
                    wanted.add(tp);
                    wantedIds.put(tp, topic.id().toString());
                }
            }
        }
        // 1. Drop replicas no longer wanted, or whose topic id changed (delete + re-create).
        for (TopicPartition tp : logs.partitions()) {
            Partition p = partitions.get(tp);
            String diskId = p != null ? p.topicId() : readTopicId(tp);
            if (!wanted.contains(tp) || !wantedIds.get(tp).equals(diskId)) {
                partitions.remove(tp);
                if (!caughtUp) {
                    continue;
                }
                log.info("Deleting replica {} (topic id on disk {}, in metadata {})", tp, diskId, wantedIds.get(tp));
                logs.delete(tp);
                fetchWaiters.checkAndComplete(tp);
            }
        }
        // 2. Create or update the wanted ones.
        for (TopicPartition tp : wanted) {
            TopicImage topic = next.topics().topic(tp.topic()).orElseThrow();
            PartitionRegistration reg = topic.partition(tp.partition()).orElseThrow();
            Map<String, String> topicConfig = next.configs().configs(ConfigResource.topic(tp.topic()));
            LogConfig cfg = logConfig(topicConfig);
            int minIsr = Integer.parseInt(topicConfig.getOrDefault("min.insync.replicas", String.valueOf(defaultMinInsyncReplicas)));
            Partition.State state = new Partition.State(reg.leader(), reg.leaderEpoch(), reg.replicas(), reg.isr(), minIsr);
            Partition existing = partitions.get(tp);
            if (existing == null) {
                if (logs.partitions().contains(tp) && !wantedIds.get(tp).equals(readTopicId(tp))) {
                    // Data of an older topic of the same name, kept until the image catches up (above).
                    continue;
                }
                PartitionLog plog = logs.getOrCreate(tp, cfg);
                writeTopicId(plog.directory(), wantedIds.get(tp));
                Partition p = new Partition(tp, wantedIds.get(tp), brokerId, plog, state);
                p.update(state, cfg);
                partitions.put(tp, p);
            } else {
                existing.update(state, cfg);
            }
            fetchWaiters.checkAndComplete(tp);
        }
        image = next;
    }

    /** Topic-level config = broker defaults overridden by the topic's own keys; only log keys. */
    public LogConfig logConfig(Map<String, String> topicOverrides) {
        Map<String, String> merged = new HashMap<>();
        topicDefaults.forEach((k, v) -> {
            if (LogConfig.KEYS.contains(k)) {
                merged.put(k, v);
            }
        });
        topicOverrides.forEach((k, v) -> {
            if (LogConfig.KEYS.contains(k)) {
                merged.put(k, v);
            }
        });
        return LogConfig.parse(merged);
    }

    public Optional<Partition> partition(TopicPartition tp) {
        return Optional.ofNullable(partitions.get(tp));
    }

    public Map<TopicPartition, Partition> partitions() {
        return Map.copyOf(partitions);
    }

    private String readTopicId(TopicPartition tp) {
        Path file = logs.dataDir().resolve(tp.dirName()).resolve(TOPIC_ID_FILE);
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8).trim() : null;
        } catch (IOException e) {
            log.warn("Cannot read {}: {}", file, e.toString());
            return null;
        }
    }

    private static void writeTopicId(Path dir, String topicId) {
        Path file = dir.resolve(TOPIC_ID_FILE);
        Path tmp = dir.resolve(TOPIC_ID_FILE + ".tmp");
        try {
            if (Files.exists(file) && Files.readString(file, StandardCharsets.UTF_8).trim().equals(topicId)) {
                return;
            }
            Files.writeString(tmp, topicId + "\n", StandardCharsets.UTF_8);
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new dev.basalt.log.LogStorageException("cannot write the topic id", file, e);
        }
    }

    @Override
    public void close() {
        fetchWaiters.expireAll();
        partitions.clear();
    }
}

package dev.basalt.broker.replica;

import dev.basalt.broker.config.NodeConfig;
import java.util.Map;

/**
 * The replication settings of a broker (node config keys in brackets; docs/broker.md
 * "Replication" documents them). Immutable.
 *
 * @param brokerId               this broker [node.id]
 * @param topicDefaults          broker-wide topic defaults (min.insync.replicas, durable.acks, log keys)
 * @param lagTimeMaxMs           an ISR follower not caught up for longer leaves the ISR [replica.lag.time.max.ms = 10000]
 * @param isrCheckIntervalMs     how often leaders look for laggards [replica.isr.check.interval.ms = 1000]
 * @param fetchWaitMaxMs         long-poll wait of a follower fetch at the leader [replica.fetch.wait.max.ms = 500]
 * @param fetchHwWaitMaxMs       long-poll wait instead while the follower holds records whose commit it has not
 *                               learned (its HW below its log end) [replica.fetch.hw.wait.max.ms = 10]
 * @param fetchMinBytes          bytes a follower fetch waits for [replica.fetch.min.bytes = 1]
 * @param fetchMaxBytes          record bytes per partition per fetch [replica.fetch.max.bytes = 1 MiB]
 * @param fetchResponseMaxBytes  record bytes per fetch answer [replica.fetch.response.max.bytes = 10 MiB]
 * @param fetchBackoffMs         pause after a fetch error [replica.fetch.backoff.ms = 100]
 * @param requestTimeoutMs       deadline of a replica request beyond its wait [replica.request.timeout.ms = 10000]
 * @param hwCheckpointIntervalMs how often HWs are written to disk [replica.high.watermark.checkpoint.interval.ms = 5000]
 */
public record ReplicaConfig(int brokerId, Map<String, String> topicDefaults, long lagTimeMaxMs, long isrCheckIntervalMs,
                            int fetchWaitMaxMs, int fetchHwWaitMaxMs, int fetchMinBytes, int fetchMaxBytes, int fetchResponseMaxBytes,
                            long fetchBackoffMs, long requestTimeoutMs, long hwCheckpointIntervalMs) {
    public ReplicaConfig {
        topicDefaults = Map.copyOf(topicDefaults);
        positive("replica.lag.time.max.ms", lagTimeMaxMs);
        positive("replica.isr.check.interval.ms", isrCheckIntervalMs);
        nonNegative("replica.fetch.wait.max.ms", fetchWaitMaxMs);
        positive("replica.fetch.hw.wait.max.ms", fetchHwWaitMaxMs);
        nonNegative("replica.fetch.min.bytes", fetchMinBytes);
        positive("replica.fetch.max.bytes", fetchMaxBytes);
        positive("replica.fetch.response.max.bytes", fetchResponseMaxBytes);
        positive("replica.fetch.backoff.ms", fetchBackoffMs);
        positive("replica.request.timeout.ms", requestTimeoutMs);
        positive("replica.high.watermark.checkpoint.interval.ms", hwCheckpointIntervalMs);
    }

    /** Kafka-like defaults for {@code brokerId} (tests). */
    public static ReplicaConfig defaults(int brokerId, Map<String, String> topicDefaults) {
        return new ReplicaConfig(brokerId, topicDefaults, 10_000, 1_000, 500, 10, 1, 1 << 20, 10 << 20, 100, 10_000, 5_000);
    }

    public static ReplicaConfig from(NodeConfig c) {
        return new ReplicaConfig(c.nodeId(), c.topicDefaults(), c.getLong("replica.lag.time.max.ms"),
                c.getLong("replica.isr.check.interval.ms"), c.getInt("replica.fetch.wait.max.ms"),
                c.getInt("replica.fetch.hw.wait.max.ms"), c.getInt("replica.fetch.min.bytes"), c.getInt("replica.fetch.max.bytes"),
                c.getInt("replica.fetch.response.max.bytes"), c.getLong("replica.fetch.backoff.ms"),
                c.getLong("replica.request.timeout.ms"), c.getLong("replica.high.watermark.checkpoint.interval.ms"));
    }

    private static void positive(String key, long v) {
        if (v <= 0) {
            throw new IllegalArgumentException(key + " must be positive: " + v);
        }
    }

    private static void nonNegative(String key, long v) {
        if (v < 0) {
            throw new IllegalArgumentException(key + " must be >= 0: " + v);
        }
    }
}

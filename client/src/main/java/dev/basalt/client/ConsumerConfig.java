package dev.basalt.client;

import dev.basalt.client.internal.ConfigDef;
import java.util.Map;

/**
 * Consumer configuration keys (Kafka's names and defaults) and their validation.
 *
 * <p>Thread-safety: constants and a read-only definition.
 */
public final class ConsumerConfig {
    public static final String BOOTSTRAP_SERVERS = CommonClientConfigs.BOOTSTRAP_SERVERS;
    /** earliest | latest | none (default latest): where to start a partition without a position. */
    public static final String AUTO_OFFSET_RESET = "auto.offset.reset";
    /** Bytes a fetch waits for before the broker answers (default 1). */
    public static final String FETCH_MIN_BYTES = "fetch.min.bytes";
    /** Longest a broker holds a fetch waiting for fetch.min.bytes (ms, default 500). */
    public static final String FETCH_MAX_WAIT_MS = "fetch.max.wait.ms";
    /** Bytes per partition per fetch (default 1 MiB). */
    public static final String MAX_PARTITION_FETCH_BYTES = "max.partition.fetch.bytes";
    /** Bytes per fetch response (default 50 MiB). */
    public static final String FETCH_MAX_BYTES = "fetch.max.bytes";
    /** Records returned by one poll (default 500). */
    public static final String MAX_POLL_RECORDS = "max.poll.records";
    /** Bound of blocking calls without an explicit timeout (position, seekToEnd) (ms, default 60000). */
    public static final String DEFAULT_API_TIMEOUT_MS = "default.api.timeout.ms";
    /** Verify each batch's CRC32C before handing out its records (default true). */
    public static final String CHECK_CRCS = "check.crcs";
    /**
     * This consumer's rack (default empty = none). When set, the partition leader may direct the
     * consumer to an in-sync replica in the same rack (its {@code broker.rack}), KIP-392; the
     * consumer falls back to the leader on any error from that replica.
     */
    public static final String CLIENT_RACK = "client.rack";
    public static final String KEY_DESERIALIZER = "key.deserializer";
    public static final String VALUE_DESERIALIZER = "value.deserializer";
    /** The consumer group (needed by subscribe and by commits); default none. */
    public static final String GROUP_ID = "group.id";
    /** group.instance.id: a static member keeps its partitions across a restart within the session timeout. */
    public static final String GROUP_INSTANCE_ID = "group.instance.id";
    /** Commit positions every auto.commit.interval.ms, on revocation and on close (default true). */
    public static final String ENABLE_AUTO_COMMIT = "enable.auto.commit";
    public static final String AUTO_COMMIT_INTERVAL_MS = "auto.commit.interval.ms";
    /**
     * The member gives its partitions up (onPartitionsLost) when no heartbeat was answered for this
     * long; keep it at most the brokers' group.consumer.session.timeout.ms (default 45000).
     */
    public static final String SESSION_TIMEOUT_MS = "session.timeout.ms";
    /**
     * Longest time between two calls of poll (default 300000): past it the member leaves the group
     * on its own and its partitions go to the others; the next poll reports them lost and rejoins.
     * Also sent as the member's rebalance timeout.
     */
    public static final String MAX_POLL_INTERVAL_MS = "max.poll.interval.ms";
    /** Server assignor to ask for: uniform or range (default: the group's or the broker's). */
    public static final String GROUP_REMOTE_ASSIGNOR = "group.remote.assignor";
    public static final String CLIENT_ID = CommonClientConfigs.CLIENT_ID;
    public static final String REQUEST_TIMEOUT_MS = CommonClientConfigs.REQUEST_TIMEOUT_MS;
    public static final String RETRY_BACKOFF_MS = CommonClientConfigs.RETRY_BACKOFF_MS;

    static final ConfigDef DEF = CommonClientConfigs.base(30_000)
            .define(AUTO_OFFSET_RESET, ConfigDef.Type.STRING, "latest", ConfigDef.oneOf("earliest", "latest", "none"), "reset policy")
            .define(FETCH_MIN_BYTES, ConfigDef.Type.INT, 1, ConfigDef.between(0, Integer.MAX_VALUE), "fetch min bytes")
            .define(FETCH_MAX_WAIT_MS, ConfigDef.Type.INT, 500, ConfigDef.between(0, 600_000), "fetch wait (ms)")
            .define(MAX_PARTITION_FETCH_BYTES, ConfigDef.Type.INT, 1024 * 1024, ConfigDef.between(1, Integer.MAX_VALUE), "partition bytes")
            .define(FETCH_MAX_BYTES, ConfigDef.Type.INT, 50 * 1024 * 1024, ConfigDef.between(1, Integer.MAX_VALUE), "fetch bytes")
            .define(MAX_POLL_RECORDS, ConfigDef.Type.INT, 500, ConfigDef.between(1, Integer.MAX_VALUE), "records per poll")
            .define(DEFAULT_API_TIMEOUT_MS, ConfigDef.Type.INT, 60_000, ConfigDef.between(0, Integer.MAX_VALUE), "api timeout (ms)")
            .define(CHECK_CRCS, ConfigDef.Type.BOOLEAN, true, "check CRCs")
            .define(CLIENT_RACK, ConfigDef.Type.STRING, "", v -> String.valueOf(v).length() > 255 ? "at most 255 characters" : null,
                    "rack of this consumer (fetch from a replica in the same rack)")
            .define(KEY_DESERIALIZER, ConfigDef.Type.OBJECT, null, "key deserializer")
            .define(VALUE_DESERIALIZER, ConfigDef.Type.OBJECT, null, "value deserializer")
            .define(GROUP_ID, ConfigDef.Type.STRING, "", v -> String.valueOf(v).length() > 255 ? "at most 255 characters" : null,
                    "group id")
            .define(GROUP_INSTANCE_ID, ConfigDef.Type.STRING, "", v -> String.valueOf(v).length() > 255 ? "at most 255 characters" : null,
                    "static member id")
            .define(ENABLE_AUTO_COMMIT, ConfigDef.Type.BOOLEAN, true, "auto commit")
            .define(AUTO_COMMIT_INTERVAL_MS, ConfigDef.Type.INT, 5_000, ConfigDef.between(1, Integer.MAX_VALUE), "auto commit interval")
            .define(SESSION_TIMEOUT_MS, ConfigDef.Type.INT, 45_000, ConfigDef.between(1, Integer.MAX_VALUE), "session timeout (ms)")
            .define(MAX_POLL_INTERVAL_MS, ConfigDef.Type.INT, 300_000, ConfigDef.between(1, 30 * 60 * 1000), "longest time between polls before the member leaves the group (ms)")
            .define(GROUP_REMOTE_ASSIGNOR, ConfigDef.Type.STRING, "", ConfigDef.oneOf("", "uniform", "range"), "server assignor");

    private ConsumerConfig() {
    }

    /** Every configuration key this client accepts (tools use it to route shared config files). */
    public static java.util.Set<String> configNames() {
        return java.util.Collections.unmodifiableSet(DEF.docs().keySet());
    }

    public static ConfigDef.Parsed parse(Map<String, ?> raw) {
        ConfigDef.Parsed p = DEF.parse(raw);
        if (!p.getString(GROUP_INSTANCE_ID).isEmpty() && p.getString(GROUP_ID).isEmpty()) {
            // a static member of no group: silently ignored before
            throw new dev.basalt.client.ConfigException(GROUP_INSTANCE_ID, p.getString(GROUP_INSTANCE_ID), "needs group.id");
        }
        return p;
    }
}

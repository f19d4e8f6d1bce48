package dev.basalt.broker.config;

import dev.basalt.log.InvalidConfigException;
import dev.basalt.log.LogConfig;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The topic-level configuration keys a topic may set, their types and documentation, and their
 * validation: the log keys are validated by {@link LogConfig} (the log engine owns their meaning),
 * the replication keys here. Stateless and thread-safe.
 */
public final class TopicConfigs {
    public static final String MIN_INSYNC_REPLICAS = "min.insync.replicas";
    public static final String UNCLEAN_LEADER_ELECTION_ENABLE = "unclean.leader.election.enable";
    /**
     * Durable acks (default true): the high watermark, and so every acks=all answer and every
     * consumer read, counts only offsets fsynced on every ISR member, the leader included. false is
     * Kafka's weaker mode: replicated to the ISR members' memory (page cache) is enough.
     */
    public static final String DURABLE_ACKS = "durable.acks";
    public static final boolean DURABLE_ACKS_DEFAULT = true;

    /** Key → (type, documentation). Type names follow ConfigEntry.Type of admin.proto. */
    public static final Map<String, String[]> KEYS;

    static {
        Map<String, String[]> k = new LinkedHashMap<>();
        k.put(LogConfig.CLEANUP_POLICY, new String[] {"LIST", "delete, compact, or compact,delete."});
        k.put(LogConfig.RETENTION_MS, new String[] {"LONG", "Delete whole segments older than this (-1 = forever)."});
        k.put(LogConfig.RETENTION_BYTES, new String[] {"LONG",
            "Delete old segments beyond this size per partition (-1 = no limit)."});
        k.put(LogConfig.SEGMENT_BYTES, new String[] {"INT", "Roll a new segment before a batch would take the active one past this size (a larger batch gets a segment of its own)."});
        k.put(LogConfig.SEGMENT_MS, new String[] {"LONG", "Roll a new segment after this long."});
        k.put(LogConfig.DELETE_RETENTION_MS, new String[] {"LONG", "Keep a tombstone of a compacted topic this long after"
                + " compaction first meets it (and until every replica holds it)."});
        k.put(LogConfig.MIN_COMPACTION_LAG_MS, new String[] {"LONG", "Never compact records younger than this."});
        k.put(LogConfig.MAX_COMPACTION_LAG_MS, new String[] {"LONG", "Compact a record at the latest this long after it was"
                + " written, whatever the dirty ratio (≥ min.compaction.lag.ms)."});
        k.put(LogConfig.MIN_CLEANABLE_DIRTY_RATIO, new String[] {"DOUBLE", "Compact once the bytes written since the last pass"
                + " are at least this share of the cleanable log (0..1)."});
        k.put(LogConfig.MAX_MESSAGE_BYTES, new String[] {"INT", "Largest record batch accepted."});
        k.put(LogConfig.INDEX_INTERVAL_BYTES, new String[] {"INT", "Bytes between offset-index entries."});
        k.put(LogConfig.FLUSH_MESSAGES, new String[] {"LONG",
            "fsync after this many messages (1 = fsync before acknowledging)."});
        k.put(LogConfig.FLUSH_MS, new String[] {"LONG", "fsync at least this often."});
        k.put(LogConfig.MESSAGE_TIMESTAMP_TYPE, new String[] {"STRING", "CreateTime or LogAppendTime."});
        k.put(LogConfig.MESSAGE_TIMESTAMP_BEFORE_MAX_MS, new String[] {"LONG", "CreateTime topics: refuse records whose"
                + " timestamp is more than this before the broker's clock (INVALID_RECORD)."});
        k.put(LogConfig.MESSAGE_TIMESTAMP_AFTER_MAX_MS, new String[] {"LONG", "CreateTime topics: refuse records whose"
                + " timestamp is more than this after the broker's clock (INVALID_RECORD). Default 1 hour (3600000), as Kafka 4."});
        k.put(MIN_INSYNC_REPLICAS, new String[] {"INT", "acks=all needs at least this many in-sync replicas."});
        k.put(UNCLEAN_LEADER_ELECTION_ENABLE, new String[] {"BOOLEAN", "Elect an out-of-sync replica when no ISR member is alive"
                + " (may lose acknowledged data)."});
        k.put(DURABLE_ACKS, new String[] {"BOOLEAN", "true (default): acks=all and the high watermark count only offsets"
                + " fsynced on every in-sync replica, the leader included; false: replicated to their memory (Kafka's mode)."});
        KEYS = java.util.Collections.unmodifiableMap(k);
    }

    private TopicConfigs() {
    }

    /** Why {@code key} is not a topic configuration (naming the ones there are), or empty if it is one. */
    public static Optional<String> unknownKey(String key) {
        return KEYS.containsKey(key) ? Optional.empty()
                : Optional.of("unknown topic configuration (known: " + String.join(", ", KEYS.keySet()) + ")");
    }

    /**
     * Checks a topic's whole set of overrides: each key as {@link #validate} does, and the rules
     * between keys over the broker defaults (max.compaction.lag.ms ≥ min.compaction.lag.ms).
     *
     * @throws InvalidConfigException naming the first unknown key, bad value or broken rule
     */
    public static void validateSet(Map<String, String> overrides, Map<String, String> brokerDefaults) {
        validate(overrides, brokerDefaults).checkRules();
    }

    /**
     * Validates a topic's overrides (merged over {@code brokerDefaults}).
     *
     * @throws InvalidConfigException naming the first unknown key or bad value
     */
    public static LogConfig validate(Map<String, String> overrides, Map<String, String> brokerDefaults) {
        Map<String, String> logKeys = new TreeMap<>();
        for (Map.Entry<String, String> e : brokerDefaults.entrySet()) {
            if (LogConfig.KEYS.contains(e.getKey())) {
                logKeys.put(e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            Optional<String> unknown = unknownKey(key);
            if (unknown.isPresent()) {
                throw InvalidConfigException.unknownKey(key, value, unknown.get());
            }
            if (value == null) {
                throw new InvalidConfigException(key, "null", "a value is required");
            }
            if (LogConfig.KEYS.contains(key)) {
                logKeys.put(key, value);
            } else if (key.equals(MIN_INSYNC_REPLICAS)) {
                try {
                    int v = Integer.parseInt(value.trim());
                    if (v < 1) {
                        throw new InvalidConfigException(key, value, "must be >= 1");
                    }
                } catch (NumberFormatException ex) {
                    throw new InvalidConfigException(key, value, "expected an integer");
                }
            } else if (key.equals(UNCLEAN_LEADER_ELECTION_ENABLE) || key.equals(DURABLE_ACKS)) {
                String v = value.trim().toLowerCase(Locale.ROOT);
                if (!v.equals("true") && !v.equals("false")) {
                    throw new InvalidConfigException(key, value, "expected true or false");
                }
            }
        }
        return LogConfig.parse(logKeys);
    }

    /** The effective durable.acks of a topic: its override, else the broker default, else true. */
    public static boolean durableAcks(Map<String, String> overrides, Map<String, String> brokerDefaults) {
        String v = overrides.getOrDefault(DURABLE_ACKS, brokerDefaults.get(DURABLE_ACKS));
        return v == null ? DURABLE_ACKS_DEFAULT : Boolean.parseBoolean(v.trim());
    }

    /** The effective min.insync.replicas of a topic: its override, else the broker default, else 1. */
    public static int minInsyncReplicas(Map<String, String> overrides, Map<String, String> brokerDefaults) {
        String v = overrides.getOrDefault(MIN_INSYNC_REPLICAS, brokerDefaults.getOrDefault(MIN_INSYNC_REPLICAS, "1"));
        return Integer.parseInt(v.trim());
    }
}

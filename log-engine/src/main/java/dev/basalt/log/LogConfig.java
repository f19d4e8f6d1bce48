package dev.basalt.log;

import dev.basalt.record.TimestampType;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Per-partition log settings under Kafka's topic-config names and units. Parsed from string maps
 * (topic configs travel as strings) with {@link #parse}, or layered on a broker default with
 * {@link #withOverrides}. Unknown keys are rejected so a typo is not silently ignored.
 *
 * <table>
 * <caption>keys</caption>
 * <tr><td>segment.bytes</td><td>roll a segment before a batch would take it past this size (a larger batch gets a segment of its own); [128, 2^31-1]; default 1 GiB</td></tr>
 * <tr><td>segment.ms</td><td>roll a non-empty segment this long after it was opened; default 7 days</td></tr>
 * <tr><td>retention.ms</td><td>delete sealed segments whose newest record is older; -1 = forever; default 7 days</td></tr>
 * <tr><td>retention.bytes</td><td>delete oldest sealed segments while the log is larger; -1 = no limit</td></tr>
 * <tr><td>cleanup.policy</td><td>delete | compact | compact,delete</td></tr>
 * <tr><td>delete.retention.ms</td><td>how long compaction keeps a tombstone after it first meets it; default 1 day</td></tr>
 * <tr><td>max.message.bytes</td><td>largest batch accepted; default 1048588 (Kafka's)</td></tr>
 * <tr><td>index.interval.bytes</td><td>bytes between sparse offset/time index entries; default 4096</td></tr>
 * <tr><td>flush.messages</td><td>fsync after this many unflushed records; 1 = durable mode (group commit)</td></tr>
 * <tr><td>flush.ms</td><td>fsync data older than this (background); default never</td></tr>
 * <tr><td>min.compaction.lag.ms</td><td>records younger than this are not compacted; default 0</td></tr>
 * <tr><td>max.compaction.lag.ms</td><td>a record is compacted at the latest this long after it was written
 *     (compaction runs whatever the dirty ratio, and the active segment rolls after this long); ≥ min.compaction.lag.ms;
 *     default unbounded</td></tr>
 * <tr><td>min.cleanable.dirty.ratio</td><td>compaction runs once the segments written since its last pass are at
 *     least this share of the cleanable log's bytes; [0, 1]; default 0.5</td></tr>
 * <tr><td>message.timestamp.type</td><td>CreateTime | LogAppendTime</td></tr>
 * <tr><td>message.timestamp.before.max.ms</td><td>CreateTime topics: refuse a record whose timestamp is
 *     more than this before the broker's clock (INVALID_RECORD); default unbounded</td></tr>
 * <tr><td>message.timestamp.after.max.ms</td><td>CreateTime topics: refuse a record whose timestamp is
 *     more than this after the broker's clock (INVALID_RECORD); default 1 hour, as Kafka 4 (KIP-1030):
 *     a timestamp years ahead would keep its segment from time retention until then</td></tr>
 * </table>
 *
 * <p>Immutable; thread-safe.
 */
public record LogConfig(
        int segmentBytes,
        long segmentMs,
        long retentionMs,
        long retentionBytes,
        boolean cleanupDelete,
        boolean cleanupCompact,
        long deleteRetentionMs,
        int maxMessageBytes,
        int indexIntervalBytes,
        long flushMessages,
        long flushMs,
        long minCompactionLagMs,
        long maxCompactionLagMs,
        double minCleanableDirtyRatio,
        TimestampType timestampType,
        long timestampBeforeMaxMs,
        long timestampAfterMaxMs) {

    public static final String SEGMENT_BYTES = "segment.bytes";
    public static final String SEGMENT_MS = "segment.ms";
    public static final String RETENTION_MS = "retention.ms";
    public static final String RETENTION_BYTES = "retention.bytes";
    public static final String CLEANUP_POLICY = "cleanup.policy";
    public static final String DELETE_RETENTION_MS = "delete.retention.ms";
    public static final String MAX_MESSAGE_BYTES = "max.message.bytes";
    public static final String INDEX_INTERVAL_BYTES = "index.interval.bytes";
    public static final String FLUSH_MESSAGES = "flush.messages";
    public static final String FLUSH_MS = "flush.ms";
    public static final String MIN_COMPACTION_LAG_MS = "min.compaction.lag.ms";
    public static final String MAX_COMPACTION_LAG_MS = "max.compaction.lag.ms";
    public static final String MIN_CLEANABLE_DIRTY_RATIO = "min.cleanable.dirty.ratio";
    public static final String MESSAGE_TIMESTAMP_TYPE = "message.timestamp.type";
    public static final String MESSAGE_TIMESTAMP_BEFORE_MAX_MS = "message.timestamp.before.max.ms";
    public static final String MESSAGE_TIMESTAMP_AFTER_MAX_MS = "message.timestamp.after.max.ms";
    /** Default of {@value #MESSAGE_TIMESTAMP_AFTER_MAX_MS}: one hour, Kafka 4's (KIP-1030). */
    public static final long TIMESTAMP_AFTER_MAX_MS_DEFAULT = 3_600_000L;

    public static final Set<String> KEYS = Set.of(SEGMENT_BYTES, SEGMENT_MS, RETENTION_MS, RETENTION_BYTES,
            CLEANUP_POLICY, DELETE_RETENTION_MS, MAX_MESSAGE_BYTES, INDEX_INTERVAL_BYTES, FLUSH_MESSAGES, FLUSH_MS,
            MIN_COMPACTION_LAG_MS, MAX_COMPACTION_LAG_MS, MIN_CLEANABLE_DIRTY_RATIO, MESSAGE_TIMESTAMP_TYPE, MESSAGE_TIMESTAMP_BEFORE_MAX_MS, MESSAGE_TIMESTAMP_AFTER_MAX_MS);

    /** Smallest segment: a few batch headers; tiny segments are for tests. */
    public static final int SEGMENT_BYTES_MIN = 128;

    /** Kafka's defaults. */
    public static final LogConfig DEFAULT = new LogConfig(1 << 30, 7L * 24 * 3600 * 1000, 7L * 24 * 3600 * 1000, -1L,
            true, false, 24L * 3600 * 1000, 1048588, 4096, Long.MAX_VALUE, Long.MAX_VALUE, 0L, Long.MAX_VALUE, 0.5, TimestampType.CREATE_TIME,
            Long.MAX_VALUE, TIMESTAMP_AFTER_MAX_MS_DEFAULT);

    public LogConfig {
        check(SEGMENT_BYTES, segmentBytes, SEGMENT_BYTES_MIN, Integer.MAX_VALUE);
        check(SEGMENT_MS, segmentMs, 1, Long.MAX_VALUE);
        check(RETENTION_MS, retentionMs, -1, Long.MAX_VALUE);
        check(RETENTION_BYTES, retentionBytes, -1, Long.MAX_VALUE);
        if (!cleanupDelete && !cleanupCompact) {
            throw new InvalidConfigException(CLEANUP_POLICY, "", "needs delete, compact or both");
        }
        check(DELETE_RETENTION_MS, deleteRetentionMs, 0, Long.MAX_VALUE);
        check(MAX_MESSAGE_BYTES, maxMessageBytes, 0, Integer.MAX_VALUE);
        check(INDEX_INTERVAL_BYTES, indexIntervalBytes, 0, Integer.MAX_VALUE);
        check(FLUSH_MESSAGES, flushMessages, 1, Long.MAX_VALUE);
        check(FLUSH_MS, flushMs, 0, Long.MAX_VALUE);
        check(MIN_COMPACTION_LAG_MS, minCompactionLagMs, 0, Long.MAX_VALUE);
        check(MAX_COMPACTION_LAG_MS, maxCompactionLagMs, 1, Long.MAX_VALUE);
        if (!(minCleanableDirtyRatio >= 0 && minCleanableDirtyRatio <= 1)) { // NaN fails too
            throw new InvalidConfigException(MIN_CLEANABLE_DIRTY_RATIO, Double.toString(minCleanableDirtyRatio), "outside [0, 1]");
        }
        if (timestampType == null) {
            throw new InvalidConfigException(MESSAGE_TIMESTAMP_TYPE, "null", "CreateTime or LogAppendTime");
        }
        check(MESSAGE_TIMESTAMP_BEFORE_MAX_MS, timestampBeforeMaxMs, 0, Long.MAX_VALUE);
        check(MESSAGE_TIMESTAMP_AFTER_MAX_MS, timestampAfterMaxMs, 0, Long.MAX_VALUE);
    }

    /** True if {@code timestampMs} is within the configured bounds around {@code nowMs} (≥ 0; CreateTime topics). */
    public boolean timestampAcceptable(long timestampMs, long nowMs) {
        if (timestampType == TimestampType.LOG_APPEND_TIME) {
            return true;
        }
        // No overflow for any timestamp as long as nowMs >= 0: nowMs - before is in [-MAX, nowMs],
        // and timestampMs - nowMs is in [1, MAX] once timestampMs > nowMs.
        boolean tooOld = timestampBeforeMaxMs != Long.MAX_VALUE && timestampMs < nowMs - timestampBeforeMaxMs;
        boolean tooNew = timestampAfterMaxMs != Long.MAX_VALUE && timestampMs > nowMs && timestampMs - nowMs > timestampAfterMaxMs;
        return !tooOld && !tooNew;
    }

    /** True if a record timestamp bound is configured (the append path then checks each batch's smallest and largest). */
    public boolean timestampBounded() {
        return timestampType == TimestampType.CREATE_TIME
                && (timestampBeforeMaxMs != Long.MAX_VALUE || timestampAfterMaxMs != Long.MAX_VALUE);
    }

    private static void check(String key, long value, long min, long max) {
        if (value < min || value > max) {
            throw new InvalidConfigException(key, Long.toString(value), "outside [" + min + ", " + max + "]");
        }
    }

    /**
     * Rules between keys, checked where a whole set is known (a topic's overrides at create and
     * alter, a node's defaults at start), not by the constructor: a key checked alone against
     * defaults it will not be used with would be refused wrongly, and a broker whose defaults
     * differ from the controller's must still open a topic the controller accepted (its log then
     * runs with min.compaction.lag.ms winning: segments younger than it are not cleanable).
     *
     * @throws InvalidConfigException naming the key that breaks a rule
     */
    public LogConfig checkRules() {
        if (minCompactionLagMs > maxCompactionLagMs) {
            throw new InvalidConfigException(MAX_COMPACTION_LAG_MS, Long.toString(maxCompactionLagMs),
                    "below " + MIN_COMPACTION_LAG_MS + " (" + minCompactionLagMs + ")");
        }
        return this;
    }

    /**
     * How long the active segment stays open once it holds a record: segment.ms, or
     * max.compaction.lag.ms if that is shorter on a compacted topic (compaction takes only sealed
     * segments, so a record could otherwise wait segment.ms for its first pass).
     */
    public long segmentRollMs() {
        return cleanupCompact ? Math.min(segmentMs, maxCompactionLagMs) : segmentMs;
    }

    /** Durable mode: every append is fsynced before it is acknowledged (group commit). */
    public boolean durable() {
        return flushMessages == 1;
    }

    /** Parses a full config: keys not given take Kafka's defaults. */
    public static LogConfig parse(Map<String, String> props) {
        return DEFAULT.withOverrides(props);
    }

    /**
     * This config with the given keys replaced (a topic's overrides over the broker defaults).
     *
     * @throws InvalidConfigException naming the first bad key and its value
     */
    public LogConfig withOverrides(Map<String, String> props) {
        for (String key : props.keySet()) {
            if (!KEYS.contains(key)) {
                throw InvalidConfigException.unknownKey(key, props.get(key), "not a log config");
            }
        }
        boolean[] policy = props.containsKey(CLEANUP_POLICY)
                ? parsePolicy(props.get(CLEANUP_POLICY)) : new boolean[] {cleanupDelete, cleanupCompact};
        return new LogConfig(
                (int) longOf(props, SEGMENT_BYTES, segmentBytes, SEGMENT_BYTES_MIN, Integer.MAX_VALUE),
                longOf(props, SEGMENT_MS, segmentMs, 1, Long.MAX_VALUE),
                longOf(props, RETENTION_MS, retentionMs, -1, Long.MAX_VALUE),
                longOf(props, RETENTION_BYTES, retentionBytes, -1, Long.MAX_VALUE),
                policy[0], policy[1],
                longOf(props, DELETE_RETENTION_MS, deleteRetentionMs, 0, Long.MAX_VALUE),
                (int) longOf(props, MAX_MESSAGE_BYTES, maxMessageBytes, 0, Integer.MAX_VALUE),
                (int) longOf(props, INDEX_INTERVAL_BYTES, indexIntervalBytes, 0, Integer.MAX_VALUE),
                longOf(props, FLUSH_MESSAGES, flushMessages, 1, Long.MAX_VALUE),
                longOf(props, FLUSH_MS, flushMs, 0, Long.MAX_VALUE),
                longOf(props, MIN_COMPACTION_LAG_MS, minCompactionLagMs, 0, Long.MAX_VALUE),
                longOf(props, MAX_COMPACTION_LAG_MS, maxCompactionLagMs, 1, Long.MAX_VALUE),
                ratioOf(props, MIN_CLEANABLE_DIRTY_RATIO, minCleanableDirtyRatio),
                props.containsKey(MESSAGE_TIMESTAMP_TYPE) ? parseTimestampType(props.get(MESSAGE_TIMESTAMP_TYPE)) : timestampType,
                longOf(props, MESSAGE_TIMESTAMP_BEFORE_MAX_MS, timestampBeforeMaxMs, 0, Long.MAX_VALUE),
                longOf(props, MESSAGE_TIMESTAMP_AFTER_MAX_MS, timestampAfterMaxMs, 0, Long.MAX_VALUE));
    }

    private static long longOf(Map<String, String> props, String key, long current, long min, long max) {
        String raw = props.get(key);
        if (raw == null) {
            return current;
        }
        long v;
        try {
            v = Long.parseLong(raw.trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigException(key, raw, "not an integer");
        }
        if (v < min || v > max) {
            throw new InvalidConfigException(key, raw, "outside [" + min + ", " + max + "]");
        }
        return v;
    }

    private static double ratioOf(Map<String, String> props, String key, double current) {
        String raw = props.get(key);
        if (raw == null) {
            return current;
        }
        double v;
        try {
            v = Double.parseDouble(raw.trim());
        } catch (NumberFormatException e) {
            throw new InvalidConfigException(key, raw, "not a number");
        }
        if (!(v >= 0 && v <= 1)) {
            throw new InvalidConfigException(key, raw, "outside [0, 1]");
        }
        return v;
    }

    private static boolean[] parsePolicy(String raw) {
        boolean delete = false;
        boolean compact = false;
        for (String part : raw.split(",", -1)) {
            switch (part.trim()) {
                case "delete" -> delete = true;
                case "compact" -> compact = true;
                default -> throw new InvalidConfigException(CLEANUP_POLICY, raw, "expected delete, compact or compact,delete");
            }
        }
        return new boolean[] {delete, compact};
    }

    private static TimestampType parseTimestampType(String raw) {
        return switch (raw.trim()) {
            case "CreateTime" -> TimestampType.CREATE_TIME;
            case "LogAppendTime" -> TimestampType.LOG_APPEND_TIME;
            default -> throw new InvalidConfigException(MESSAGE_TIMESTAMP_TYPE, raw, "expected CreateTime or LogAppendTime");
        };
    }

    /** The config as Kafka-named strings (round-trips through {@link #parse}). */
    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(SEGMENT_BYTES, Integer.toString(segmentBytes));
        m.put(SEGMENT_MS, Long.toString(segmentMs));
        m.put(RETENTION_MS, Long.toString(retentionMs));
        m.put(RETENTION_BYTES, Long.toString(retentionBytes));
        m.put(CLEANUP_POLICY, cleanupCompact ? (cleanupDelete ? "compact,delete" : "compact") : "delete");
        m.put(DELETE_RETENTION_MS, Long.toString(deleteRetentionMs));
        m.put(MAX_MESSAGE_BYTES, Integer.toString(maxMessageBytes));
        m.put(INDEX_INTERVAL_BYTES, Integer.toString(indexIntervalBytes));
        m.put(FLUSH_MESSAGES, Long.toString(flushMessages));
        m.put(FLUSH_MS, Long.toString(flushMs));
        m.put(MIN_COMPACTION_LAG_MS, Long.toString(minCompactionLagMs));
        m.put(MAX_COMPACTION_LAG_MS, Long.toString(maxCompactionLagMs));
        m.put(MIN_CLEANABLE_DIRTY_RATIO, Double.toString(minCleanableDirtyRatio));
        m.put(MESSAGE_TIMESTAMP_TYPE, timestampType == TimestampType.LOG_APPEND_TIME ? "LogAppendTime" : "CreateTime");
        m.put(MESSAGE_TIMESTAMP_BEFORE_MAX_MS, Long.toString(timestampBeforeMaxMs));
        m.put(MESSAGE_TIMESTAMP_AFTER_MAX_MS, Long.toString(timestampAfterMaxMs));
        return m;
    }
}

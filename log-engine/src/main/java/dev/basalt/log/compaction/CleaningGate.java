package dev.basalt.log.compaction;

import java.util.List;

/**
 * Whether a compacted log is worth a compaction pass now, from what its last pass left and the
 * sizes of its cleanable segments; pure (no I/O, no clock: the caller passes the time).
 *
 * <p>A pass reads every cleanable segment, so running one on every tick of the cleaner re-read a
 * long-lived compacted log whole every {@code log.cleaner.backoff.ms} whether or not anything
 * had been written. As in Kafka's cleaner, a pass now runs only when one of these holds:
 * <ol>
 * <li>{@link Reason#DIRTY_RATIO}: the segments written since the last pass (dirty) are at least
 *     min.cleanable.dirty.ratio of the cleanable bytes (a ratio of 0: any dirty byte);</li>
 * <li>{@link Reason#MAX_COMPACTION_LAG}: a dirty segment's first batch is older than
 *     max.compaction.lag.ms, whatever the ratio;</li>
 * <li>{@link Reason#TOMBSTONE_HORIZON}: a tombstone the last pass kept reaches its delete horizon
 *     (Kafka's KIP-534: a log whose tombstones are due is cleaned even with nothing dirty, or a
 *     deletion would outlive delete.retention.ms for as long as the topic is idle);</li>
 * <li>{@link Reason#TOMBSTONE_RELEASED}: a tombstone past its horizon was kept only because a
 *     replica did not hold it yet, and now every replica holds it.</li>
 * </ol>
 * Everything a pass does not decide to clean stays cleanable: the gate delays work, it never
 * drops it (a log that has never been cleaned since it opened is wholly dirty).
 *
 * <p>Immutable values and static methods; thread-safe.
 */
public final class CleaningGate {
    private CleaningGate() {
    }

    /** Why a pass runs; {@link #NONE}: it does not. */
    public enum Reason {
        NONE, DIRTY_RATIO, MAX_COMPACTION_LAG, TOMBSTONE_HORIZON, TOMBSTONE_RELEASED
    }

    /**
     * One cleanable segment (sealed, below the high watermark, past min.compaction.lag.ms).
     *
     * @param firstBatchTimestampMs the newest timestamp of its first batch (Kafka's measure of a
     *                              segment's age for max.compaction.lag.ms); {@link Long#MIN_VALUE} if unknown
     */
    public record Segment(long baseOffset, long sizeBytes, long firstBatchTimestampMs) {
    }

    /**
     * What the last pass left.
     *
     * @param cleanedEndOffset        the segments below this offset were cleaned by it (a segment
     *                                boundary; 0: nothing is known to be clean)
     * @param tombstoneDueMs          the earliest delete horizon still ahead among the tombstones
     *                                it kept ({@link Long#MAX_VALUE}: none)
     * @param tombstoneHeldFromOffset the lowest offset of a tombstone past its horizon that it
     *                                kept because not every replica held it ({@link Long#MAX_VALUE}: none)
     */
    public record Memory(long cleanedEndOffset, long tombstoneDueMs, long tombstoneHeldFromOffset) {
        /** A log no pass has cleaned since it opened: everything is dirty. */
        public static final Memory NONE = new Memory(0, Long.MAX_VALUE, Long.MAX_VALUE);

        /**
         * This memory after a truncation that left {@code offset} the base of the log's active
         * segment (the segment cut takes new appends, so none of it may count as clean).
         */
        public Memory truncatedTo(long offset) {
            return offset >= cleanedEndOffset ? this : new Memory(offset, tombstoneDueMs, tombstoneHeldFromOffset);
        }
    }

    /**
     * @param cleanable            the cleanable segments, oldest first
     * @param tombstoneBoundOffset every replica holds the log below this offset now
     */
    public static Reason decide(List<Segment> cleanable, Memory memory, double minCleanableDirtyRatio,
                                long maxCompactionLagMs, long tombstoneBoundOffset, long nowMs) {
        if (cleanable.isEmpty()) {
            return Reason.NONE;
        }
        if (nowMs >= memory.tombstoneDueMs()) {
            return Reason.TOMBSTONE_HORIZON;
        }
        if (tombstoneBoundOffset > memory.tombstoneHeldFromOffset()) {
            return Reason.TOMBSTONE_RELEASED;
        }
        long total = 0;
        long dirty = 0;
        boolean anyDirty = false;
        long oldestDirtyMs = Long.MAX_VALUE;
        for (Segment s : cleanable) {
            total += s.sizeBytes();
            if (s.baseOffset() >= memory.cleanedEndOffset()) {
                anyDirty = true;
                dirty += s.sizeBytes();
                if (s.firstBatchTimestampMs() != Long.MIN_VALUE) {
                    oldestDirtyMs = Math.min(oldestDirtyMs, s.firstBatchTimestampMs());
                }
            }
        }
        if (!anyDirty) {
            return Reason.NONE;
        }
        if (oldestDirtyMs != Long.MAX_VALUE && olderThan(oldestDirtyMs, maxCompactionLagMs, nowMs)) {
            return Reason.MAX_COMPACTION_LAG;
        }
        // total > 0 unless every cleanable segment is empty; a ratio of 0 cleans any dirty segment.
        // Exact: dirty / total >= ratio with no rounding at the boundary (a ratio of 1 with all dirty).
        if (total == 0 ? minCleanableDirtyRatio == 0 : java.math.BigDecimal.valueOf(dirty)
                .compareTo(java.math.BigDecimal.valueOf(total).multiply(new java.math.BigDecimal(minCleanableDirtyRatio))) >= 0) {
            return Reason.DIRTY_RATIO;
        }
        return Reason.NONE;
    }

    /**
     * {@code nowMs - timestampMs >= lagMs} without overflow for any timestamp (a producer sets it):
     * {@code nowMs - lagMs} cannot overflow for a clock reading ≥ 0 and a lag in [1, MAX].
     */
    public static boolean olderThan(long timestampMs, long lagMs, long nowMs) {
        return lagMs != Long.MAX_VALUE && timestampMs <= nowMs - lagMs;
    }
}

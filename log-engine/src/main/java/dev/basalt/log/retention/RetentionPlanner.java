package dev.basalt.log.retention;

import java.util.List;

/**
 * Decides which sealed segments retention deletes (cleanup.policy delete), as Kafka does: whole
 * segments only, oldest first, only segments lying entirely below the high watermark, each one
 * either older than retention.ms (by its max timestamp) or not needed to keep the log at or above
 * retention.bytes. The first segment that qualifies for neither stops the plan: retention never
 * leaves a hole in the log.
 *
 * <p>Pure: no I/O, no clock (time comes in as {@code nowMs}), no threads. A segment's max
 * timestamp is asked for only when the plan reaches it (the caller may have to compute it by
 * scanning the segment if the index lost it).
 *
 * <p>Thread-safety: stateless, safe from any thread.
 */
public final class RetentionPlanner {
    /** A max timestamp that is not known (an empty segment, or one whose timestamps were lost). */
    public static final long UNKNOWN_TIMESTAMP = Long.MIN_VALUE;

    private RetentionPlanner() {
    }

    /** One sealed segment as retention sees it. */
    public interface Candidate {
        long baseOffset();

        /** Base offset of the next segment (the log start offset if this one goes). */
        long nextBaseOffset();

        long sizeBytes();

        /** The largest record timestamp in the segment, or {@link #UNKNOWN_TIMESTAMP}. */
        long maxTimestampMs();
    }

    /** Retention limits; a negative value means "no limit of this kind". */
    public record Limits(long retentionMs, long retentionBytes) {
        public boolean none() {
            return retentionMs < 0 && retentionBytes < 0;
        }
    }

    /**
     * What to delete: the first {@code segmentCount} candidates, after which the log starts at
     * {@code newLogStartOffset} (unchanged if nothing goes); {@code bySize} of them go for
     * retention.bytes, the others for retention.ms (for the log line that says why).
     */
    public record Plan(int segmentCount, long newLogStartOffset, int bySize) {
        public boolean isEmpty() {
            return segmentCount == 0;
        }
    }

    /**
     * @param sealed           the segments retention may delete, oldest first: the sealed ones, and
     *                         the active one last when the whole log is below the high watermark
     *                         (the caller rolls a new one before deleting it)
     * @param totalSizeBytes   bytes of every segment of the log, the active one included
     * @param highWatermark    nothing at or above it may be deleted
     * @param logStartOffset   the current log start offset
     */
    public static Plan plan(List<? extends Candidate> sealed, long totalSizeBytes, long highWatermark,
                            long logStartOffset, Limits limits, long nowMs) {
        if (limits.none()) {
            return new Plan(0, logStartOffset, 0);
        }
        long total = totalSizeBytes;
        long newStart = logStartOffset;
        int count = 0;
        int countBySize = 0;
        for (Candidate s : sealed) {
            if (s.nextBaseOffset() > highWatermark) {
                break;
            }
            boolean bySize = limits.retentionBytes() >= 0 && total - s.sizeBytes() >= limits.retentionBytes();
            // Asked only when size alone does not decide: the max timestamp may cost a scan.
            boolean byTime = !bySize && expired(s.maxTimestampMs(), limits.retentionMs(), nowMs);
            if (!byTime && !bySize) {
                break;
            }
            count++;
            countBySize += bySize ? 1 : 0;
            total -= s.sizeBytes();
            newStart = s.nextBaseOffset();
        }
        return new Plan(count, Math.max(logStartOffset, newStart), countBySize);
    }

    private static boolean expired(long maxTimestampMs, long retentionMs, long nowMs) {
        return retentionMs >= 0 && maxTimestampMs != UNKNOWN_TIMESTAMP && nowMs - maxTimestampMs > retentionMs;
    }
}

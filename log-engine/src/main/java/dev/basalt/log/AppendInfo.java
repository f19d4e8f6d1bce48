package dev.basalt.log;

/**
 * What an append did: the offsets assigned to its records and, for log-append-time topics, the
 * timestamp stamped on them ({@code -1} under create time). Immutable.
 *
 * @param firstOffset     offset of the first record appended
 * @param lastOffset      offset of the last record appended
 * @param logAppendTimeMs broker time stamped on the batches, or -1 under CreateTime
 * @param logStartOffset  the log start offset at the time of the append
 * @param duplicate       nothing was appended: every batch was a retry of an idempotent producer's
 *                        stored batches, which are at {@code firstOffset..lastOffset}
 */
public record AppendInfo(long firstOffset, long lastOffset, long logAppendTimeMs, long logStartOffset, boolean duplicate) {
    /** An append that wrote its batches. */
    public AppendInfo(long firstOffset, long lastOffset, long logAppendTimeMs, long logStartOffset) {
        this(firstOffset, lastOffset, logAppendTimeMs, logStartOffset, false);
    }
}

package dev.basalt.broker.lag.state;

import java.util.Collection;
import java.util.List;

/**
 * Burrow's consumer-lag evaluator, rule by rule as Basalt specifies it (DESIGN.md §6 "Lag
 * monitor"), over a window of a partition's last commits (oldest first). The first rule that
 * applies decides:
 * <ol>
 *   <li>DATA_LOSS (beyond Burrow): the last committed offset is below the log start offset;</li>
 *   <li>PAST_LOG_END (beyond Burrow): the last committed offset is above the log end offset (the
 *       high watermark), and was committed longer ago than the log end offset the monitor holds
 *       can be stale (a consumer commits at most the high watermark it read, so a log end sampled
 *       before that commit may still trail it). Found probing: an offset committed by hand far past
 *       the log end read OK at lag 0, while the group's next consumer would get
 *       OFFSET_OUT_OF_RANGE and be moved by its auto.offset.reset (re-reading everything, or
 *       skipping what is written meanwhile). A log cut back below a commit by an unclean election
 *       shows so too, as does, until it moves, a high watermark held back below the commit (a new
 *       leader whose ISR is below min.insync.replicas): the consumer reads nothing there either;</li>
 *   <li>OK: the current lag (log end offset now − last committed offset, floored at 0) is at most
 *       the allowed lag;</li>
 *   <li>STOP: no commit for longer than the window spans (now − last commit time &gt; last − first
 *       commit time) and the consumer was not recently caught up: not at its last commit (that
 *       commit's lag &gt; allowed), or, if it was, it has been behind since for longer than the
 *       window spans (the time since the log end passed the last committed offset + the allowed
 *       lag, from the log end samples). A consumer that caught up and then saw no new records is
 *       idle, not stopped, and one that is caught up when records arrive after a quiet spell is
 *       given a window's span to commit them. Found probing: consumers stopped while caught up,
 *       records kept coming, and the partitions read OK for good, lag rising;</li>
 *   <li>REWIND: the committed offset went backwards between two commits and never climbed back to
 *       where it was (equivalently: the last offset is below the highest earlier one);</li>
 *   <li>OK: some commit in the window had lag at most the allowed lag;</li>
 *   <li>STALL: every offset in the window is the same;</li>
 *   <li>WARN: the lag never decreased from one commit to the next;</li>
 *   <li>OK otherwise.</li>
 * </ol>
 * Rules 4 to 8 compare commits with each other and need two; with one commit only rules 1 to 3
 * apply, and otherwise the status is OK (not enough data to judge — {@code complete} says how full
 * the window is).
 *
 * <p>A commit replayed from the log by a new coordinator has an unknown lag at commit: it is never
 * "caught up" for rules 4 and 6 (the current lag, rule 3, is known and above the allowed lag): a
 * consumer that stopped before the coordinator moved is found STOPped at once; STALL needs one
 * commit with a known lag (a stalled consumer keeps committing, so one comes soon), and rule 8
 * compares only consecutive commits whose lags are both known (no WARN without such a pair).
 *
 * <p>Pure and stateless; thread-safe.
 */
public final class LagEvaluator {
    private LagEvaluator() {
    }

    /**
     * @param window         the partition's last commits, oldest first; not empty
     * @param logEndOffset   the partition's log end offset now
     * @param logStartOffset the partition's log start offset now
     * @param allowedLag     {@code lag.allowed}
     */
    public static PartitionStatus evaluate(List<Commit> window, long logEndOffset, long logStartOffset, long allowedLag, long nowMs) {
        return evaluate(window, logEndOffset, logStartOffset, allowedLag, nowMs, -1, DEFAULT_LOG_END_STALE_MAX_MS);
    }

    /** As below, with {@link #DEFAULT_LOG_END_STALE_MAX_MS}. */
    public static PartitionStatus evaluate(List<Commit> window, long logEndOffset, long logStartOffset, long allowedLag, long nowMs,
                                           long behindMs) {
        return evaluate(window, logEndOffset, logStartOffset, allowedLag, nowMs, behindMs, DEFAULT_LOG_END_STALE_MAX_MS);
    }

    /** How old a log end offset may be when it comes from a sampling round (tests' default; the node passes its own). */
    public static final long DEFAULT_LOG_END_STALE_MAX_MS = 5_000;

    /**
     * As above, with {@code behindMs}: how long the log end has been more than the allowed lag past
     * the last committed offset (from the log end samples); negative if unknown (then a consumer
     * caught up at its last commit is never STOPped, as without samples); and
     * {@code logEndStaleMaxMs}: how far behind the partition's real log end the {@code
     * logEndOffset} given may be (PAST_LOG_END waits that long after a commit).
     */
    public static PartitionStatus evaluate(List<Commit> window, long logEndOffset, long logStartOffset, long allowedLag, long nowMs,
                                           long behindMs, long logEndStaleMaxMs) {
        if (window.isEmpty()) {
            throw new IllegalArgumentException("a partition without commits is not evaluated");
        }
        Commit first = window.get(0);
        Commit last = window.get(window.size() - 1);
        if (last.offset() < logStartOffset) {
            return PartitionStatus.DATA_LOSS;
        }
        if (last.offset() > logEndOffset && nowMs - last.timestampMs() > logEndStaleMaxMs) {
            return PartitionStatus.PAST_LOG_END;
        }
        if (currentLag(last, logEndOffset) <= allowedLag) {
            return PartitionStatus.OK;
        }
        if (window.size() < 2) {
            return PartitionStatus.OK;
        }
        long spanMs = last.timestampMs() - first.timestampMs();
        if (nowMs - last.timestampMs() > spanMs && (!last.lagKnown() || last.lag() > allowedLag || behindMs > spanMs)) {
            return PartitionStatus.STOP;
        }
        long highestEarlier = Long.MIN_VALUE;
        for (int i = 0; i < window.size() - 1; i++) {
            highestEarlier = Math.max(highestEarlier, window.get(i).offset());
        }
        if (last.offset() < highestEarlier) {
            return PartitionStatus.REWIND;
        }
        boolean allEqual = true;
        boolean lagNeverDecreased = true;
        int knownPairs = 0;
        boolean anyKnown = false;
        for (int i = 0; i < window.size(); i++) {
            Commit c = window.get(i);
            if (c.lagKnown() && c.lag() <= allowedLag) {
                return PartitionStatus.OK;
            }
            anyKnown |= c.lagKnown();
            if (i > 0) {
                allEqual &= c.offset() == first.offset();
                Commit prev = window.get(i - 1);
                if (c.lagKnown() && prev.lagKnown()) {
                    knownPairs++;
                    lagNeverDecreased &= c.lag() >= prev.lag();
                }
            }
        }
        if (allEqual && anyKnown) {
            return PartitionStatus.STALL;
        }
        if (lagNeverDecreased && knownPairs > 0) {
            return PartitionStatus.WARN;
        }
        return PartitionStatus.OK;
    }

    /** Log end offset now − the last committed offset, floored at 0. */
    public static long currentLag(Commit last, long logEndOffset) {
        return Math.max(0, logEndOffset - last.offset());
    }

    /** The worst partition status as the group shows it (OK for no partitions). */
    public static GroupStatus groupStatus(Collection<PartitionStatus> partitions) {
        GroupStatus worst = GroupStatus.OK;
        for (PartitionStatus p : partitions) {
            if (p.groupStatus().compareTo(worst) > 0) {
                worst = p.groupStatus();
            }
        }
        return worst;
    }
}

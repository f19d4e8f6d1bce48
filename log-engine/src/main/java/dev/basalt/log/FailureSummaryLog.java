package dev.basalt.log;

import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;

/**
 * Logging for a periodic task that runs over every partition (HW checkpoints, retention, ...)
 * when it fails for many of them at once. On a full disk every index write fails: a WARN with a
 * stack trace per partition per round wrote 3,400 lines in 10 s for 136 replicas (about 3 GB a
 * day; found probing). Here each round's failures become at most one line: when the task starts
 * failing, then at most once per {@link #SUMMARY_INTERVAL_MS} while it keeps failing, each
 * counting the failing partitions and naming one with its error; one line when it works again
 * for every partition. Each failure's stack trace is logged at DEBUG only.
 *
 * <p>Use: {@link #failed} for each partition the round failed on, then {@link #endRound} once the
 * round has visited every partition.
 *
 * <p>Thread-safety: thread-safe (synchronized); a round is meant to run on one thread at a time,
 * and two overlapping rounds only merge their counts.
 */
public final class FailureSummaryLog {
    /** While the task keeps failing, a summary at most this often. */
    public static final long SUMMARY_INTERVAL_MS = 60_000;

    private final Logger log;
    private final String what;
    /** Failures of the round in progress. */
    private final Set<TopicPartition> failing = new HashSet<>();
    private TopicPartition example;
    private Throwable exampleError;
    /** Partitions the last round failed on: none means the next failure is a change of state. */
    private int failingBefore;
    /** When the last summary was logged; meaningless while {@link #failingBefore} is 0. */
    private long lastSummaryMs;
    /** Rounds that failed since the last summary (for the summary's "N rounds" count). */
    private long roundsSinceSummary;

    /** @param what the task, as a phrase that reads after "cannot ...": "checkpoint the HW" */
    public FailureSummaryLog(Logger log, String what) {
        this.log = log;
        this.what = what;
    }

    /** The round in progress failed on {@code tp}. */
    public synchronized void failed(TopicPartition tp, Throwable e) {
        if (failing.add(tp) && example == null) {
            example = tp;
            exampleError = e;
        }
        if (log.isDebugEnabled()) {
            log.debug("Cannot {} of {}", what, tp, e);
        }
    }

    /** The round visited every partition: logs a change of state, or the periodic summary. */
    public synchronized void endRound(long nowMs) {
        int count = failing.size();
        try {
            if (count == 0) {
                if (failingBefore > 0) {
                    log.info("Can {} of every partition again ({} failed the round before)", what, failingBefore);
                }
                return;
            }
            roundsSinceSummary++;
            if (failingBefore == 0) {
                log.warn("Cannot {} of {} partitions (e.g. {}: {}); while this lasts, one summary a minute (stack traces at"
                        + " DEBUG)", what, count, example, exampleError.toString());
            } else if (nowMs - lastSummaryMs >= SUMMARY_INTERVAL_MS) {
                log.warn("Still cannot {} of {} partitions ({} rounds failed in the last {} s; e.g. {}: {})", what, count,
                        roundsSinceSummary, (nowMs - lastSummaryMs) / 1000, example, exampleError.toString());
            } else {
                return;
            }
            lastSummaryMs = nowMs;
            roundsSinceSummary = 0;
        } finally {
            failingBefore = count;
            failing.clear();
            example = null;
            exampleError = null;
        }
    }
}

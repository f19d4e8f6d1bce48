package dev.basalt.broker.lag.state;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

/**
 * Goal: the evaluator equals a straightforward reference implementation, written from the rules'
 * wording (REWIND literally: some drop after which no offset climbs back), on random windows with
 * small offsets (so equal offsets, drops and caught-up commits are common).
 *
 * <p>Reproduce: jqwik prints the failing sample and the seed to pin with {@code @Property(seed=...)}.
 */
class LagEvaluatorProperties {
    @Property(tries = 2_000)
    void evaluatorMatchesTheReference(@ForAll @Size(min = 1, max = 12) List<@IntRange(min = 0, max = 6) Integer> offsetSteps,
                                      @ForAll @Size(min = 12, max = 12) List<@IntRange(min = -1, max = 8) Integer> lags,
                                      @ForAll @Size(min = 12, max = 12) List<@IntRange(min = 0, max = 4) Integer> gapsSec,
                                      @ForAll @IntRange(min = 0, max = 3) int allowed, @ForAll @IntRange(min = -3, max = 12) int extraEnd,
                                      @ForAll @IntRange(min = 0, max = 40) int nowAfterSec, @ForAll @LongRange(min = 0, max = 8) long logStart,
                                      @ForAll boolean rewinds, @ForAll @IntRange(min = -1, max = 60) int behindSec,
                                      @ForAll @IntRange(min = 0, max = 20) int staleSec) {
        List<Commit> window = new ArrayList<>();
        long offset = 10;
        long time = 1_000;
        for (int i = 0; i < offsetSteps.size(); i++) {
            int step = offsetSteps.get(i);
            offset = rewinds && step == 0 && offset >= 3 ? offset - 3 : offset + step - 1;
            offset = Math.max(0, offset);
            time += gapsSec.get(i) * 1000L;
            window.add(new Commit(offset, time, lags.get(i)));
        }
        long logEnd = window.get(window.size() - 1).offset() + extraEnd;
        long now = time + nowAfterSec * 1000L;
        long behindMs = behindSec < 0 ? -1 : behindSec * 1000L;
        long staleMs = staleSec * 1000L;
        assertEquals(reference(window, logEnd, logStart + 5, allowed, now, behindMs, staleMs),
                LagEvaluator.evaluate(window, logEnd, logStart + 5, allowed, now, behindMs, staleMs),
                () -> "window " + window + ", log end " + logEnd + ", behind " + behindMs + ", stale " + staleMs);
    }

    /** The rules as worded, without shortcuts. */
    static PartitionStatus reference(List<Commit> w, long logEnd, long logStart, long allowed, long now, long behindMs, long staleMs) {
        int n = w.size();
        Commit last = w.get(n - 1);
        if (last.offset() < logStart) {
            return PartitionStatus.DATA_LOSS;
        }
        // committed past the log end, and longer ago than the log end may trail the real one
        if (logEnd < last.offset() && last.timestampMs() + staleMs < now) {
            return PartitionStatus.PAST_LOG_END;
        }
        long currentLag = Math.max(0, logEnd - last.offset());
        if (currentLag <= allowed) {
            return PartitionStatus.OK;
        }
        if (n < 2) {
            return PartitionStatus.OK;
        }
        long span = last.timestampMs() - w.get(0).timestampMs();
        // -1: a commit replayed by a new coordinator, its lag then unknown: never "caught up"
        // ... and, if caught up then, not behind since for longer than the window spans (unknown: not)
        boolean caughtUpRecently = last.lag() >= 0 && last.lag() <= allowed && !(behindMs >= 0 && behindMs > span);
        if (now - last.timestampMs() > span && !caughtUpRecently) {
            return PartitionStatus.STOP;
        }
        for (int j = 1; j < n; j++) {
            if (w.get(j).offset() < w.get(j - 1).offset()) {
                boolean climbedBack = false;
                for (int k = j; k < n; k++) {
                    if (w.get(k).offset() >= w.get(j - 1).offset()) {
                        climbedBack = true;
                    }
                }
                if (!climbedBack) {
                    return PartitionStatus.REWIND;
                }
            }
        }
        for (Commit c : w) {
            if (c.lag() >= 0 && c.lag() <= allowed) {
                return PartitionStatus.OK;
            }
        }
        boolean allEqual = w.stream().allMatch(c -> c.offset() == w.get(0).offset());
        if (allEqual && w.stream().anyMatch(c -> c.lag() >= 0)) {
            return PartitionStatus.STALL;
        }
        boolean neverDecreased = true;
        boolean comparedAny = false;
        for (int j = 1; j < n; j++) {
            if (w.get(j).lag() >= 0 && w.get(j - 1).lag() >= 0) {
                comparedAny = true;
                if (w.get(j).lag() < w.get(j - 1).lag()) {
                    neverDecreased = false;
                }
            }
        }
        return neverDecreased && comparedAny ? PartitionStatus.WARN : PartitionStatus.OK;
    }
}

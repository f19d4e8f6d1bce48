package dev.basalt.broker.lag.state;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One test per evaluator rule and per precedence between rules (LagEvaluator's javadoc lists them
 * in order; Burrow's wiki "Consumer Lag Evaluation Rules" is the source). Windows are written as
 * (offset, time, lag) triples, time in seconds for readability.
 */
class LagEvaluatorTest {
    private static List<Commit> w(long... triples) {
        List<Commit> out = new ArrayList<>();
        for (int i = 0; i < triples.length; i += 3) {
            out.add(new Commit(triples[i], triples[i + 1] * 1000, triples[i + 2]));
        }
        return out;
    }

    private static PartitionStatus eval(List<Commit> window, long logEnd, long nowSec) {
        return LagEvaluator.evaluate(window, logEnd, 0, 0, nowSec * 1000);
    }

    @Test
    void rule1_dataLoss_committedBelowLogStart_winsOverEverything() {
        List<Commit> caughtUp = w(10, 1, 0, 20, 2, 0);
        assertEquals(PartitionStatus.DATA_LOSS, LagEvaluator.evaluate(caughtUp, 20, 25, 0, 3_000));
    }

    @Test
    void rule2_currentLagWithinAllowed_isOk_evenIfStoppedLongAgo() {
        assertEquals(PartitionStatus.OK, eval(w(10, 1, 5, 20, 2, 5), 20, 1_000));
        assertEquals(PartitionStatus.OK, LagEvaluator.evaluate(w(10, 1, 5, 20, 2, 5), 25, 0, 5, 1_000_000));
    }

    @Test
    void rule3_stop_noCommitForLongerThanTheWindowSpans_withLag() {
        // window spans 4 s (1..5), last commit 5 s ago at now=10 -> 5 > 4
        assertEquals(PartitionStatus.STOP, eval(w(10, 1, 5, 20, 3, 5, 30, 5, 5), 40, 10));
        // exactly the span: not stopped (strictly greater), falls to later rules (lag never decreased -> WARN)
        assertEquals(PartitionStatus.WARN, eval(w(10, 1, 5, 20, 3, 5, 30, 5, 5), 40, 9));
    }

    @Test
    void rule3_notStop_whenCaughtUpAtTheLastCommit() {
        // idle consumer: caught up at its last commit, then new records arrived; some commit had lag 0 -> OK
        assertEquals(PartitionStatus.OK, eval(w(10, 1, 5, 20, 3, 5, 30, 5, 0), 40, 100));
    }

    /**
     * Found probing a cluster: consumers stopped while caught up, records kept coming, and their
     * partitions read OK for good while the lag rose. Caught up at the last commit, a consumer is
     * STOPped once it has been behind for longer than the window spans (4 s here), not before.
     */
    @Test
    void rule3_stop_whenCaughtUpAtTheLastCommit_butBehindSinceForLongerThanTheWindowSpans() {
        List<Commit> caughtUp = w(10, 1, 5, 20, 3, 5, 30, 5, 0);
        assertEquals(PartitionStatus.STOP, LagEvaluator.evaluate(caughtUp, 40, 0, 0, 100_000, 60_000), "behind for 60 s");
        assertEquals(PartitionStatus.OK, LagEvaluator.evaluate(caughtUp, 40, 0, 0, 100_000, 3_000),
                "records arrived 3 s ago after a quiet spell: it has a window's span to commit them");
        assertEquals(PartitionStatus.OK, LagEvaluator.evaluate(caughtUp, 40, 0, 0, 100_000, -1), "unknown: as before");
    }

    @Test
    void rule3_stop_beatsRewind() {
        assertEquals(PartitionStatus.STOP, eval(w(30, 1, 5, 20, 2, 15), 40, 100));
    }

    @Test
    void rule4_rewind_offsetWentBackAndStayedBelow() {
        assertEquals(PartitionStatus.REWIND, eval(w(30, 1, 5, 35, 2, 5, 20, 3, 20, 25, 4, 20), 45, 5));
    }

    @Test
    void rule4_noRewind_whenTheOffsetClimbedBack() {
        // went back to 20, climbed back past 35; lag decreased at the end -> OK
        assertEquals(PartitionStatus.OK, eval(w(30, 1, 5, 35, 2, 5, 20, 3, 20, 40, 4, 2), 42, 5));
    }

    @Test
    void rule4_rewind_beatsAnEarlierCaughtUpCommit() {
        assertEquals(PartitionStatus.REWIND, eval(w(30, 1, 0, 20, 2, 10), 30, 3));
    }

    @Test
    void rule5_ok_whenSomeCommitHadLagWithinAllowed_beatsStallAndWarn() {
        assertEquals(PartitionStatus.OK, eval(w(10, 1, 0, 10, 2, 3, 10, 3, 6), 16, 4));
    }

    @Test
    void rule6_stall_sameOffsetAtEveryCommit_withLag() {
        assertEquals(PartitionStatus.STALL, eval(w(10, 1, 5, 10, 2, 5, 10, 3, 5), 15, 4));
    }

    @Test
    void rule6_stall_beatsWarn() {
        // offsets equal and lag growing: STALL, not WARN
        assertEquals(PartitionStatus.STALL, eval(w(10, 1, 5, 10, 2, 8, 10, 3, 9), 20, 4));
    }

    @Test
    void rule7_warn_lagNeverDecreased() {
        assertEquals(PartitionStatus.WARN, eval(w(10, 1, 5, 20, 2, 5, 30, 3, 8), 40, 4));
    }

    @Test
    void rule8_ok_lagDecreasedSomewhere() {
        assertEquals(PartitionStatus.OK, eval(w(10, 1, 5, 20, 2, 9, 30, 3, 4), 40, 4));
    }

    /**
     * Found probing: an offset committed by hand far past the log end (999,999,999 against 39,343)
     * read OK at lag 0. It is PAST_LOG_END (ERR) once it is older than the log end the monitor
     * holds can trail the real one; before that the log end may just not have caught up with the
     * commit yet (a consumer commits what it read, up to the high watermark then).
     */
    @Test
    void rule2_pastLogEnd_onceTheLogEndCannotJustBeStale() {
        List<Commit> one = w(999, 1, 0);
        assertEquals(PartitionStatus.OK, LagEvaluator.evaluate(one, 50, 0, 0, 4_000, -1, 5_000), "log end maybe stale");
        assertEquals(PartitionStatus.PAST_LOG_END, LagEvaluator.evaluate(one, 50, 0, 0, 6_001, -1, 5_000));
        assertEquals(PartitionStatus.OK, LagEvaluator.evaluate(one, 999, 0, 0, 60_000, -1, 5_000), "at the log end: caught up");
        List<Commit> several = w(10, 1, 0, 20, 2, 0, 80, 3, 0);
        assertEquals(PartitionStatus.PAST_LOG_END, LagEvaluator.evaluate(several, 30, 0, 0, 20_000, -1, 5_000));
        assertEquals(GroupStatus.ERR, PartitionStatus.PAST_LOG_END.groupStatus());
    }

    @Test
    void oneCommit_onlyTheCurrentLagRules() {
        assertEquals(PartitionStatus.OK, eval(w(10, 1, 5), 20, 1_000));
        assertEquals(PartitionStatus.DATA_LOSS, LagEvaluator.evaluate(w(10, 1, 5), 20, 11, 0, 1_000));
    }

    @Test
    void groupStatus_isTheWorstPartition_withErrStatesAsErr() {
        assertEquals(GroupStatus.OK, LagEvaluator.groupStatus(List.of()));
        assertEquals(GroupStatus.WARN, LagEvaluator.groupStatus(List.of(PartitionStatus.OK, PartitionStatus.WARN)));
        for (PartitionStatus err : List.of(PartitionStatus.STOP, PartitionStatus.STALL, PartitionStatus.REWIND, PartitionStatus.DATA_LOSS,
                PartitionStatus.PAST_LOG_END)) {
            assertEquals(GroupStatus.ERR, LagEvaluator.groupStatus(List.of(PartitionStatus.WARN, err, PartitionStatus.OK)));
        }
    }

    @Test
    void window_keepsTheLastCommits_andReportsItsFill() {
        CommitWindow win = new CommitWindow(3);
        for (int i = 0; i < 5; i++) {
            win.add(new Commit(i, i, 0));
        }
        assertEquals(List.of(2L, 3L, 4L), win.commits().stream().map(Commit::offset).toList());
        assertEquals(1.0, win.complete());
        CommitWindow half = new CommitWindow(4);
        half.add(new Commit(1, 1, 0));
        half.add(new Commit(2, 2, 0));
        assertEquals(0.5, half.complete());
    }
}

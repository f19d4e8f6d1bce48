package dev.basalt.raft.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.testkit.KvHistory.Kind;
import dev.basalt.raft.testkit.KvHistory.Op;
import org.junit.jupiter.api.Test;

/**
 * Goal: the checker accepts linearizable histories and rejects non-linearizable ones, so a pass of
 * the simulation's linearizability check means something. Method: small hand-built histories with
 * known verdicts (the classic examples of Herlihy and Wing, and Jepsen's indeterminate writes).
 * Reproduce: deterministic, run this class.
 */
class LinearizabilityCheckerTest {
    private final LinearizabilityChecker checker = new LinearizabilityChecker();

    private static Op write(KvHistory h, int client, String value, long from, long to) {
        Op op = h.invoke(client, Kind.WRITE, "x", value, from);
        h.ok(op, null, to);
        return op;
    }

    private static Op read(KvHistory h, int client, String value, long from, long to) {
        Op op = h.invoke(client, Kind.READ, "x", null, from);
        h.ok(op, value, to);
        return op;
    }

    @Test
    void sequentialHistory_isLinearizable() {
        KvHistory h = new KvHistory();
        read(h, 0, null, 0, 1);
        write(h, 0, "a", 2, 3);
        read(h, 1, "a", 4, 5);
        write(h, 1, "b", 6, 7);
        read(h, 0, "b", 8, 9);
        assertTrue(checker.check(h).linearizable());
    }

    @Test
    void concurrentReadMaySeeOldOrNewValue() {
        KvHistory h = new KvHistory();
        write(h, 0, "a", 0, 1);
        write(h, 0, "b", 2, 10);
        read(h, 1, "b", 3, 4); // b takes effect early
        read(h, 2, "b", 5, 6);
        assertTrue(checker.check(h).linearizable());
    }

    @Test
    void staleReadAfterCompletedWrite_isNotLinearizable() {
        KvHistory h = new KvHistory();
        write(h, 0, "a", 0, 1);
        write(h, 0, "b", 2, 3);
        read(h, 1, "a", 4, 5); // b completed before this read began
        assertFalse(checker.check(h).linearizable());
    }

    @Test
    void readsObservingNewThenOld_areNotLinearizable() {
        KvHistory h = new KvHistory();
        write(h, 0, "a", 0, 1);
        write(h, 0, "b", 2, 20); // concurrent with both reads
        read(h, 1, "b", 3, 4);
        read(h, 2, "a", 5, 6); // after a read saw b, a is gone for good
        assertFalse(checker.check(h).linearizable());
    }

    @Test
    void readOfNeverWrittenValue_isNotLinearizable() {
        KvHistory h = new KvHistory();
        write(h, 0, "a", 0, 1);
        read(h, 1, "z", 2, 3);
        assertFalse(checker.check(h).linearizable());
    }

    @Test
    void indeterminateWriteMayTakeEffectLateOrNever() {
        KvHistory h = new KvHistory();
        write(h, 0, "a", 0, 1);
        Op lost = h.invoke(1, Kind.WRITE, "x", "b", 2);
        h.info(lost);
        read(h, 2, "a", 3, 4);   // b not yet
        read(h, 2, "b", 10, 11); // b took effect late
        assertTrue(checker.check(h).linearizable());

        KvHistory never = new KvHistory();
        write(never, 0, "a", 0, 1);
        never.info(never.invoke(1, Kind.WRITE, "x", "b", 2));
        read(never, 2, "a", 30, 31);
        assertTrue(checker.check(never).linearizable());
    }

    @Test
    void failedWriteNeverTakesEffect() {
        KvHistory h = new KvHistory();
        write(h, 0, "a", 0, 1);
        Op failed = h.invoke(1, Kind.WRITE, "x", "b", 2);
        h.fail(failed, 3);
        read(h, 2, "b", 4, 5);
        assertFalse(checker.check(h).linearizable());
    }

    @Test
    void keysAreCheckedIndependently() {
        KvHistory h = new KvHistory();
        Op wx = h.invoke(0, Kind.WRITE, "x", "1", 0);
        h.ok(wx, null, 1);
        Op ry = h.invoke(1, Kind.READ, "y", null, 2);
        h.ok(ry, "1", 3); // y was never written
        LinearizabilityChecker.Result r = checker.check(h);
        assertFalse(r.linearizable());
        assertTrue(r.key().equals("y"), r.toString());
    }

    @Test
    void manyConcurrentOperations_finishQuicklyThanksToMemoization() {
        KvHistory h = new KvHistory();
        for (int i = 0; i < 200; i++) {
            Op w = h.invoke(i % 5, Kind.WRITE, "x", "v" + i, i);
            h.ok(w, null, i + 50);
        }
        read(h, 9, "v199", 300, 301);
        assertTrue(checker.check(h).linearizable());
    }
}

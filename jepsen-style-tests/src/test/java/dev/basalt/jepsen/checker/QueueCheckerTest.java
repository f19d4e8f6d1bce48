package dev.basalt.jepsen.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.jepsen.history.Fn;
import dev.basalt.jepsen.history.History;
import dev.basalt.jepsen.history.Msg;
import dev.basalt.jepsen.history.Op;
import dev.basalt.jepsen.history.OpType;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Hand-written histories for the checker's definitions and the configuration's allowed anomalies. */
class QueueCheckerTest {
    private final List<Op> ops = new ArrayList<>();

    private void send(int process, String key, long value, long offset, OpType outcome) {
        Op invoke = Op.of(process, OpType.INVOKE, Fn.SEND, 0, 0).withValues(List.of(new Msg(key, -1, value)));
        ops.add(invoke);
        ops.add(outcome == OpType.OK ? invoke.withType(OpType.OK).withValues(List.of(new Msg(key, offset, value))) : invoke.withType(outcome));
    }

    private void poll(int process, Msg... read) {
        Op invoke = Op.of(process, OpType.INVOKE, Fn.POLL, 0, 0);
        ops.add(invoke);
        ops.add(invoke.withType(OpType.OK).withValues(List.of(read)));
    }

    private CheckResult check(CheckerConfig config) {
        return QueueChecker.check(History.of(ops), config);
    }

    @Test
    void aDuplicateIsAllowedOnlyWithoutIdempotence() {
        send(0, "k", 1, 0, OpType.OK);
        poll(1, new Msg("k", 0, 1), new Msg("k", 1, 1));
        assertEquals(Set.of(Anomaly.DUPLICATE), check(CheckerConfig.basaltDefaults()).found());
        assertFalse(check(CheckerConfig.basaltDefaults()).valid());
        assertTrue(check(new CheckerConfig(false, true, false, true, false, 8)).valid());
    }

    @Test
    void anUnreadTailIsUnseen_anErrorOnlyAfterFinalReads() {
        send(0, "k", 1, 0, OpType.OK);
        send(0, "k", 2, 1, OpType.OK);
        poll(1, new Msg("k", 0, 1));
        CheckResult withFinal = check(CheckerConfig.basaltDefaults());
        assertEquals(Set.of(Anomaly.UNSEEN), withFinal.found());
        assertFalse(withFinal.valid());
        CheckResult withoutFinal = check(new CheckerConfig(true, true, false, false, false, 8));
        assertTrue(withoutFinal.valid());
        assertEquals(1L, withoutFinal.stats().get("unseen"));
    }

    @Test
    void aWriteBelowWhatWasReadButNeverReadIsLost_allowedOnlyWithUncleanElections() {
        send(0, "k", 1, 0, OpType.OK);
        send(0, "k", 2, 1, OpType.OK);
        poll(1, new Msg("k", 1, 2));
        assertEquals(Set.of(Anomaly.LOST_WRITE), check(CheckerConfig.basaltDefaults()).found());
        assertTrue(check(new CheckerConfig(true, true, true, true, false, 8)).valid());
    }

    @Test
    void examplesAreCapped() {
        for (int i = 0; i < 20; i++) {
            send(0, "k", 100 + i, i, OpType.OK);
        }
        poll(1, new Msg("k", 20, 999_999));
        send(2, "k", 999_999, 21, OpType.FAIL);
        CheckResult r = check(new CheckerConfig(true, true, false, true, false, 3));
        assertEquals(20, r.counts().get(Anomaly.LOST_WRITE));
        assertEquals(3, r.examples().get(Anomaly.LOST_WRITE).size());
        assertEquals(Set.of(Anomaly.LOST_WRITE, Anomaly.G1A), r.found());
        assertTrue(r.toJson().contains("\"G1a\""), r.toJson());
    }
}

package dev.basalt.jepsen.checker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Loss of unsynced data is tolerated exactly when acknowledgements did not wait for fsyncs and a whole ISR crashed. */
class CheckerConfigTest {
    @Test
    void unsyncedLossAllowsLostWritesOnlyWithoutDurableAcksAndAWholeIsrCrash() {
        CheckerConfig base = CheckerConfig.basaltDefaults();
        assertFalse(base.allowed().contains(Anomaly.LOST_WRITE));
        assertFalse(base.withUnsyncedLoss(true, true).allowed().contains(Anomaly.LOST_WRITE), "durable acks: nothing may go");
        assertFalse(base.withUnsyncedLoss(false, false).allowed().contains(Anomaly.LOST_WRITE), "a minority crash: nothing may go");
        assertTrue(base.withUnsyncedLoss(false, true).allowed().containsAll(java.util.Set.of(Anomaly.LOST_WRITE, Anomaly.UNSEEN,
                Anomaly.INCONSISTENT_OFFSETS, Anomaly.LOST_ON_NODE)));
        assertFalse(base.withUnsyncedLoss(false, true).allowed().contains(Anomaly.G1A));
    }
}

package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.admin.PartitionReassignment;
import dev.basalt.client.admin.PartitionReassignment.ReplicaProgress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code reassign --verify}'s copy rate and ETA from two listings. */
class CopyRateTest {
    /** Partition t-{p} moving from [1] to [1, adding]: leader 1 holds {@code leaderBytes}, the new replica {@code copied}. */
    private static PartitionReassignment moving(int p, int adding, long leaderBytes, long copied) {
        Map<Integer, ReplicaProgress> progress = new HashMap<>();
        progress.put(1, new ReplicaProgress(1, true, 0, 1000, leaderBytes));
        if (copied >= 0) {
            progress.put(adding, new ReplicaProgress(adding, false, 0, 10, copied));
        }
        return new PartitionReassignment("t", p, List.of(1, adding), List.of(adding), List.of(), List.of(1), 1, progress);
    }

    /**
     * Found probing: under a 1 MB/s throttle, --verify said 1.56 MB/s and "ETA 9 s" for a copy
     * that took 19 s more. A rate above the broker's throttle is its throttle, and the ETA follows.
     */
    @Test
    void aRateAboveTheThrottle_isCappedAtIt_andTheEtaFollows() {
        CopyRate.Estimate e = CopyRate.estimate(List.of(moving(0, 4, 17_000_000, 0)), List.of(moving(0, 4, 17_000_000, 3_120_000)),
                2_000, Map.of(4, 1_000_000L));
        assertEquals(1_000_000, e.bytesPerSecond(), 1e-6);
        assertTrue(e.capped());
        assertEquals(13.88, e.etaSeconds(), 1e-9, "13,880,000 bytes left at 1,000,000 bytes/s");
        assertEquals(", copying 1000000 bytes/s (over 2.0 s; capped at the catch-up throttle of 1000000 bytes/s per broker),"
                + " ETA 14 s", CopyRate.describe(e));
    }

    @Test
    void aRateBelowTheThrottle_isAsMeasured_overTheMeasuredWindow() {
        CopyRate.Estimate e = CopyRate.estimate(List.of(moving(0, 4, 10_000_000, 1_000_000)),
                List.of(moving(0, 4, 10_000_000, 2_000_000)), 2_500, Map.of(4, 1_000_000L));
        assertEquals(400_000, e.bytesPerSecond(), 1e-6, "1,000,000 bytes over 2.5 s, not over the nominal sample");
        assertFalse(e.capped());
        assertEquals(20, e.etaSeconds(), 1e-9);
        assertEquals(", copying 400000 bytes/s (over 2.5 s; within the catch-up throttle of 1000000 bytes/s per broker), ETA 20 s",
                CopyRate.describe(e));
        CopyRate.Estimate unthrottled = CopyRate.estimate(List.of(moving(0, 4, 10_000_000, 1_000_000)),
                List.of(moving(0, 4, 10_000_000, 2_000_000)), 2_000, Map.of());
        assertEquals(", copying 500000 bytes/s (over 2.0 s), ETA 16 s", CopyRate.describe(unthrottled));
    }

    /** A replica that appears only in the second listing was not copied in the window: its whole size is not a rate. */
    @Test
    void aReplicaNewInTheSecondListing_countsNothing() {
        CopyRate.Estimate e = CopyRate.estimate(List.of(moving(0, 4, 10_000_000, 1_000_000)),
                List.of(moving(0, 4, 10_000_000, 1_500_000), moving(1, 5, 10_000_000, 8_000_000)), 1_000, Map.of());
        assertEquals(500_000, e.bytesPerSecond(), 1e-6);
        assertTrue(Double.isNaN(e.etaSeconds()), "broker 5 has bytes left and no measured rate yet: " + e);
        assertEquals(", copying 500000 bytes/s (over 1.0 s), ETA unknown", CopyRate.describe(e));
    }

    /** Two receiving brokers each have their own throttle: the total is capped broker by broker, the ETA is the slowest. */
    @Test
    void eachReceivingBroker_isCappedByItsOwnThrottle() {
        CopyRate.Estimate e = CopyRate.estimate(List.of(moving(0, 4, 10_000_000, 0), moving(1, 5, 4_000_000, 0)),
                List.of(moving(0, 4, 10_000_000, 4_000_000), moving(1, 5, 4_000_000, 1_000_000)), 2_000,
                Map.of(4, 1_000_000L, 5, 1_000_000L));
        assertEquals(1_500_000, e.bytesPerSecond(), 1e-6, "broker 4 capped at 1,000,000, broker 5 at its 500,000");
        assertTrue(e.capped());
        assertEquals(6, e.etaSeconds(), 1e-9, "broker 4: 6,000,000 left at 1,000,000/s; broker 5: 3,000,000 at 500,000/s");
    }

    @Test
    void aReplicaThatDidNotReport_makesTheEtaUnknown() {
        CopyRate.Estimate e = CopyRate.estimate(List.of(moving(0, 4, 10_000_000, 0)), List.of(moving(0, 4, 10_000_000, -1)),
                2_000, Map.of());
        assertEquals(0, e.bytesPerSecond(), 1e-6);
        assertEquals(", ETA unknown", CopyRate.describe(e));
    }
}

package dev.basalt.broker.lag.state;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Lag in seconds against constructed histories: the answer is how long ago the log end passed the
 * committed offset (kafka-lag-exporter's interpolation).
 */
class OffsetTimelineTest {
    @Test
    void interpolatesBetweenTheSamplesAroundTheOffset() {
        OffsetTimeline t = new OffsetTimeline(10);
        t.record(0, 0);
        t.record(100, 10_000);   // 10 records/s
        t.record(300, 20_000);   // 20 records/s
        // offset 50 was reached at 5 s; now 30 s -> 25 s behind
        assertEquals(25.0, t.lagSeconds(50, 30_000), 1e-9);
        // offset 200 at 15 s -> 15 s behind
        assertEquals(15.0, t.lagSeconds(200, 30_000), 1e-9);
        // caught up with the newest sample
        assertEquals(0.0, t.lagSeconds(300, 30_000), 1e-9);
        assertEquals(0.0, t.lagSeconds(400, 30_000), 1e-9);
    }

    @Test
    void belowTheOldestSample_isTheOldestSamplesAge_aLowerBound() {
        OffsetTimeline t = new OffsetTimeline(3);
        t.record(0, 0);
        t.record(100, 10_000);
        t.record(200, 20_000);
        t.record(300, 30_000); // drops (0, 0)
        // offset 50 was passed before the oldest sample (100 at 10 s): at least 30 s ago
        assertEquals(30.0, t.lagSeconds(50, 40_000), 1e-9);
    }

    /**
     * Found probing a cluster: 1,000 records written before sampling began, 10 more 30 s later;
     * extrapolating that trickle back to a consumer at offset 100 gave 2,915 s for a 38-second-old
     * topic. The samples only know the log end passed it before the first one.
     */
    @Test
    void aBurstBeforeTheFirstSample_isNotProjectedBackWithALaterRate() {
        OffsetTimeline t = new OffsetTimeline(600);
        t.record(1_000, 0);
        t.record(1_000, 15_000);
        t.record(1_010, 30_000);
        assertEquals(38.0, t.lagSeconds(100, 38_000), 1e-9);
    }

    @Test
    void anIdleLog_keepsTheTimeItFirstReachedItsEnd() {
        OffsetTimeline t = new OffsetTimeline(10);
        t.record(0, 0);
        t.record(100, 10_000);
        t.record(100, 20_000);
        t.record(100, 30_000);
        assertEquals(3, t.samples().size());
        // offset 99 was passed just before 10 s
        assertEquals(40.1, t.lagSeconds(99, 50_000), 1e-9);
        assertEquals(0.0, t.lagSeconds(100, 50_000), 1e-9);
    }

    @Test
    void aTruncatedLog_restartsTheTable_andNoSamplesMeansUnknown() {
        OffsetTimeline t = new OffsetTimeline(10);
        assertEquals(-1.0, t.lagSeconds(5, 1_000), 1e-9);
        t.record(100, 1_000);
        t.record(80, 2_000);
        assertEquals(1, t.samples().size());
        // below the only sample, no rate: the sample's age is the lower bound
        assertEquals(3.0, t.lagSeconds(10, 5_000), 1e-9);
    }
}

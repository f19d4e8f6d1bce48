package dev.basalt.log.retention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: the retention planner deletes exactly what Kafka's rules allow: a prefix of the sealed
 * segments, each wholly below the high watermark and either expired by retention.ms or not needed
 * for retention.bytes, stopping at the first that is neither.
 *
 * <p>Method: differential against a brute-force model that, for every prefix length, checks the
 * rules segment by segment and takes the longest valid prefix; logs are derived from a seed.
 *
 * <p>Reproduce: a failure prints {@code -Dbasalt.seed=SEED}; run
 * {@code ./mvnw -B -ntp -o -pl log-engine -am verify -Dtest=RetentionPlannerProperties#replay
 * -Dbasalt.seed=SEED -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class RetentionPlannerProperties {
    record Seg(long baseOffset, long nextBaseOffset, long sizeBytes, long maxTimestampMs) implements RetentionPlanner.Candidate {
    }

    @Property(tries = 2_000)
    void planMatchesModel(@ForAll long seed) {
        runOne(seed);
    }

    @Test
    void replay() {
        String spec = System.getProperty("basalt.seed", "");
        Assumptions.assumeFalse(spec.isBlank(), "set -Dbasalt.seed=SEED to replay one run");
        runOne(Long.parseLong(spec));
    }

    @Test
    void noLimitsDeletesNothing() {
        List<Seg> segs = List.of(new Seg(0, 10, 100, 0), new Seg(10, 20, 100, 0));
        RetentionPlanner.Plan p = RetentionPlanner.plan(segs, 300, 20, 0, new RetentionPlanner.Limits(-1, -1), 1_000_000);
        assertTrue(p.isEmpty());
        assertEquals(0, p.newLogStartOffset());
    }

    @Test
    void neverPastTheHighWatermark() {
        List<Seg> segs = List.of(new Seg(0, 10, 100, 0), new Seg(10, 20, 100, 0));
        RetentionPlanner.Plan p = RetentionPlanner.plan(segs, 300, 15, 0, new RetentionPlanner.Limits(0, 0), 1_000_000);
        assertEquals(1, p.segmentCount());
        assertEquals(10, p.newLogStartOffset());
    }

    /** The plan says how many segments go for size (the rest for time), for the log line naming the reason. */
    @Test
    void thePlanCountsTheSegmentsDeletedForSize() {
        // Seg(base, next, size, maxTimestamp): the first two are old; the log is 300 bytes against a 100-byte limit
        List<Seg> segs = List.of(new Seg(0, 10, 100, 0), new Seg(10, 20, 100, 0), new Seg(20, 30, 50, 999_999));
        RetentionPlanner.Plan bySize = RetentionPlanner.plan(segs, 300, 30, 0, new RetentionPlanner.Limits(-1, 100), 1_000_000);
        assertEquals(2, bySize.segmentCount());
        assertEquals(2, bySize.bySize());
        RetentionPlanner.Plan byTime = RetentionPlanner.plan(segs, 300, 30, 0, new RetentionPlanner.Limits(10_000, -1), 1_000_000);
        assertEquals(2, byTime.segmentCount());
        assertEquals(0, byTime.bySize());
        RetentionPlanner.Plan both = RetentionPlanner.plan(segs, 300, 30, 0, new RetentionPlanner.Limits(10_000, 190), 1_000_000);
        assertEquals(2, both.segmentCount(), "the first for size (200 left >= 190), the second for time");
        assertEquals(1, both.bySize());
    }

    private static void runOne(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = r.nextInt(0, 12);
        List<Seg> sealed = new ArrayList<>();
        long base = r.nextLong(0, 1000);
        long logStart = base;
        long total = 0;
        long nowMs = 1_000_000;
        for (int i = 0; i < n; i++) {
            long next = base + 1 + r.nextLong(0, 50);
            long size = r.nextLong(0, 500);
            long ts = r.nextInt(8) == 0 ? RetentionPlanner.UNKNOWN_TIMESTAMP : nowMs - r.nextLong(0, 20_000);
            sealed.add(new Seg(base, next, size, ts));
            total += size;
            base = next;
        }
        long activeBytes = r.nextLong(0, 500);
        total += activeBytes;
        long hw = logStart + r.nextLong(0, Math.max(1, base - logStart + 10));
        long retentionMs = r.nextInt(3) == 0 ? -1 : r.nextLong(0, 20_000);
        long retentionBytes = r.nextInt(3) == 0 ? -1 : r.nextLong(0, total + 100);
        RetentionPlanner.Limits limits = new RetentionPlanner.Limits(retentionMs, retentionBytes);
        String context = "seed " + seed + " (replay: -Dtest=RetentionPlannerProperties#replay -Dbasalt.seed=" + seed + ")";

        RetentionPlanner.Plan plan = RetentionPlanner.plan(sealed, total, hw, logStart, limits, nowMs);

        int expected = modelCount(sealed, total, hw, retentionMs, retentionBytes, nowMs);
        assertEquals(expected, plan.segmentCount(), context);
        long expectedStart = expected == 0 ? logStart : sealed.get(expected - 1).nextBaseOffset();
        assertEquals(expectedStart, plan.newLogStartOffset(), context);
        assertTrue(plan.newLogStartOffset() <= Math.max(hw, logStart), context);
    }

    /** The longest prefix in which every segment may go, checked from scratch for each prefix. */
    private static int modelCount(List<Seg> sealed, long total, long hw, long retentionMs, long retentionBytes, long nowMs) {
        if (retentionMs < 0 && retentionBytes < 0) {
            return 0;
        }
        int best = 0;
        for (int k = 1; k <= sealed.size(); k++) {
            boolean ok = true;
            for (int i = 0; i < k && ok; i++) {
                Seg s = sealed.get(i);
                long remainingBefore = total;
                for (int j = 0; j < i; j++) {
                    remainingBefore -= sealed.get(j).sizeBytes();
                }
                boolean belowHw = s.nextBaseOffset() <= hw;
                boolean byTime = retentionMs >= 0 && s.maxTimestampMs() != RetentionPlanner.UNKNOWN_TIMESTAMP
                        && nowMs - s.maxTimestampMs() > retentionMs;
                boolean bySize = retentionBytes >= 0 && remainingBefore - s.sizeBytes() >= retentionBytes;
                ok = belowHw && (byTime || bySize);
            }
            if (!ok) {
                break;
            }
            best = k;
        }
        return best;
    }
}

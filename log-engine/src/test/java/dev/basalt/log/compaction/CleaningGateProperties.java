package dev.basalt.log.compaction;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.log.compaction.CleaningGate.Memory;
import dev.basalt.log.compaction.CleaningGate.Reason;
import dev.basalt.log.compaction.CleaningGate.Segment;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: compaction's gate runs a pass exactly when Kafka's rules (and KIP-534's for tombstones)
 * ask for one, and never lets work be lost: more dirty bytes or a later clock never turn a pass
 * into none, and a log nothing has cleaned yet is cleaned at its first tick.
 *
 * <p>Method: differential against a model written from the rules in exact arithmetic (BigDecimal
 * for the ratio, no overflow shortcuts), over logs, memories and clocks derived from a seed, with
 * timestamps anywhere in the long range (a producer sets them).
 *
 * <p>Reproduce: a failure prints {@code -Dbasalt.seed=SEED}; run
 * {@code ./mvnw -B -ntp -o -pl log-engine -am verify -Dtest=CleaningGateProperties#replay
 * -Dbasalt.seed=SEED -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class CleaningGateProperties {
    record Case(List<Segment> cleanable, Memory memory, double ratio, long maxLagMs, long bound, long nowMs) {
        Reason decide() {
            return CleaningGate.decide(cleanable, memory, ratio, maxLagMs, bound, nowMs);
        }
    }

    @Property(tries = 3_000)
    void gateMatchesModel_andNeverDropsWork(@ForAll long seed) {
        try {
            runOne(seed);
        } catch (AssertionError e) {
            throw new AssertionError("replay with -Dbasalt.seed=" + seed + ": " + e.getMessage(), e);
        }
    }

    @Test
    void replay() {
        String spec = System.getProperty("basalt.seed", "");
        Assumptions.assumeFalse(spec.isBlank(), "set -Dbasalt.seed=SEED to replay one run");
        runOne(Long.parseLong(spec));
    }

    static void runOne(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Case c = randomCase(rnd);
        assertEquals(model(c), c.decide(), c.toString());

        // A later clock never cancels a pass.
        long later = c.nowMs() + rnd.nextLong(0, 1L << 40);
        if (later >= c.nowMs() && c.decide() != Reason.NONE) {
            Case atLater = new Case(c.cleanable(), c.memory(), c.ratio(), c.maxLagMs(), c.bound(), later);
            assertEquals(true, atLater.decide() != Reason.NONE, "a pass due at " + c.nowMs() + " is not due at " + later + ": " + c);
        }
        // Another dirty segment never cancels a pass.
        if (c.decide() != Reason.NONE) {
            List<Segment> more = new ArrayList<>(c.cleanable());
            long base = more.isEmpty() ? c.memory().cleanedEndOffset() : more.get(more.size() - 1).baseOffset() + 1;
            more.add(new Segment(Math.max(base, c.memory().cleanedEndOffset()), rnd.nextLong(0, 1 << 20), rnd.nextLong()));
            Case dirtier = new Case(more, c.memory(), c.ratio(), c.maxLagMs(), c.bound(), c.nowMs());
            assertEquals(true, dirtier.decide() != Reason.NONE, "a dirty segment more cancelled the pass: " + dirtier);
        }
        // Nothing cleaned since the log opened: its first tick cleans whatever is cleanable.
        Case fresh = new Case(c.cleanable(), Memory.NONE, c.ratio(), c.maxLagMs(), c.bound(), c.nowMs());
        long bytes = c.cleanable().stream().mapToLong(Segment::sizeBytes).sum();
        if (bytes > 0) {
            assertEquals(true, fresh.decide() != Reason.NONE, "a log never cleaned was not: " + fresh);
        }
    }

    /** A case from a seed; boundaries (a timestamp exactly the lag old, a horizon exactly now, a bound at the held offset) are common. */
    static Case randomCase(SplittableRandom rnd) {
        int n = rnd.nextInt(0, 8);
        List<Segment> segs = new ArrayList<>();
        long base = rnd.nextLong(0, 1000);
        long now = rnd.nextLong(0, Long.MAX_VALUE / 2);
        long lag = rnd.nextBoolean() ? Long.MAX_VALUE : rnd.nextLong(1, 200_000);
        for (int i = 0; i < n; i++) {
            long size = rnd.nextInt(10) == 0 ? 0 : rnd.nextLong(1, 1L << 30);
            long ts = switch (rnd.nextInt(5)) {
                case 0 -> Long.MIN_VALUE; // unknown
                case 1 -> rnd.nextLong(); // anything a producer can set
                case 2 -> lag == Long.MAX_VALUE ? now : now - lag + rnd.nextInt(-1, 2); // at the boundary
                default -> now - rnd.nextLong(0, 100_000);
            };
            segs.add(new Segment(base, size, ts));
            base += rnd.nextLong(1, 1000);
        }
        long cleanedEnd = n == 0 || rnd.nextInt(4) == 0 ? rnd.nextLong(0, 2000)
                : segs.get(rnd.nextInt(n)).baseOffset() + (rnd.nextBoolean() ? 0 : 1);
        long due = switch (rnd.nextInt(3)) {
            case 0 -> Long.MAX_VALUE;
            case 1 -> now + rnd.nextInt(-1, 2);
            default -> now + rnd.nextLong(-10_000, 10_000);
        };
        long held = rnd.nextBoolean() ? Long.MAX_VALUE : rnd.nextLong(0, 3000);
        double ratio = switch (rnd.nextInt(4)) {
            case 0 -> 0;
            case 1 -> 1;
            default -> rnd.nextDouble();
        };
        long bound = switch (rnd.nextInt(3)) {
            case 0 -> Long.MAX_VALUE;
            case 1 -> held == Long.MAX_VALUE ? 0 : held + rnd.nextInt(-1, 2);
            default -> rnd.nextLong(0, 3000);
        };
        return new Case(segs, new Memory(cleanedEnd, due, held), ratio, lag, bound, now);
    }

    /** The rules, one by one, in exact arithmetic. */
    static Reason model(Case c) {
        if (c.cleanable().isEmpty()) {
            return Reason.NONE;
        }
        if (c.nowMs() >= c.memory().tombstoneDueMs()) {
            return Reason.TOMBSTONE_HORIZON;
        }
        if (c.bound() > c.memory().tombstoneHeldFromOffset()) {
            return Reason.TOMBSTONE_RELEASED;
        }
        List<Segment> dirty = c.cleanable().stream().filter(s -> s.baseOffset() >= c.memory().cleanedEndOffset()).toList();
        if (dirty.isEmpty()) {
            return Reason.NONE;
        }
        if (c.maxLagMs() != Long.MAX_VALUE) {
            for (Segment s : dirty) {
                if (s.firstBatchTimestampMs() != Long.MIN_VALUE && BigDecimal.valueOf(c.nowMs())
                        .subtract(BigDecimal.valueOf(s.firstBatchTimestampMs())).compareTo(BigDecimal.valueOf(c.maxLagMs())) >= 0) {
                    return Reason.MAX_COMPACTION_LAG;
                }
            }
        }
        BigDecimal dirtyBytes = BigDecimal.valueOf(dirty.stream().mapToLong(Segment::sizeBytes).sum());
        BigDecimal total = BigDecimal.valueOf(c.cleanable().stream().mapToLong(Segment::sizeBytes).sum());
        boolean ratioMet = total.signum() == 0 ? c.ratio() == 0
                : dirtyBytes.compareTo(total.multiply(new BigDecimal(c.ratio()))) >= 0;
        return ratioMet ? Reason.DIRTY_RATIO : Reason.NONE;
    }

    @Test
    void aTimestampFarInThePast_orFuture_doesNotOverflowTheLag() {
        List<Segment> segs = List.of(new Segment(0, 100, Long.MIN_VALUE + 1), new Segment(10, 100, Long.MAX_VALUE));
        Memory m = new Memory(0, Long.MAX_VALUE, Long.MAX_VALUE);
        assertEquals(Reason.MAX_COMPACTION_LAG, CleaningGate.decide(segs, m, 1.1, 1000, Long.MAX_VALUE, 5_000));
        assertEquals(Reason.NONE, CleaningGate.decide(List.of(segs.get(1)), m, 1.1, 1000, Long.MAX_VALUE, 5_000));
    }

    @Test
    void truncationBelowTheCleanedEnd_makesTheRestDirty() {
        Memory m = new Memory(500, 7, 9);
        assertEquals(m, m.truncatedTo(500));
        assertEquals(new Memory(200, 7, 9), m.truncatedTo(200));
    }
}

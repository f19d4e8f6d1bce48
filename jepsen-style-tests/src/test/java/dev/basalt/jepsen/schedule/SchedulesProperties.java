package dev.basalt.jepsen.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;

/**
 * Schedules are a pure function of their seed, round-trip through their encoding, respect their
 * limits, shrink to strictly simpler schedules, and covering seeds cover.
 *
 * <p>Reproduce: jqwik prints the seed of a failing try; re-run with {@code -Djqwik.seeds.whenfixed}
 * or call {@code Schedules.generate(seed, limits)} with the printed {@code seed} argument.
 */
class SchedulesProperties {

    @Property(tries = 300)
    void sameSeedSameSchedule_andEncodingRoundTrips(@ForAll @LongRange(min = 0, max = 1L << 40) long seed) {
        for (Schedules.Limits limits : List.of(Schedules.Limits.quick(), Schedules.Limits.thorough())) {
            Schedule a = Schedules.generate(seed, limits);
            assertEquals(a, Schedules.generate(seed, limits), "seed " + seed);
            assertEquals(a, Schedule.decode(a.encode()), "seed " + seed);
            assertTrue(a.faults().size() >= 1 && a.faults().size() <= limits.faultsMax(), a.encode());
            for (FaultStep f : a.faults()) {
                assertTrue(f.durationMs() >= limits.faultMsMin() && f.durationMs() <= limits.faultMsMax(), a.encode());
            }
        }
    }

    @Property(tries = 200)
    void shrinkCandidatesAreSimpler(@ForAll @LongRange(min = 0, max = 1L << 40) long seed) {
        Schedule s = Schedules.generate(seed, Schedules.Limits.thorough());
        for (Schedule c : Schedules.shrink(s)) {
            assertTrue(c.shrunk());
            assertFalse(c.equals(s));
            long weight = c.faults().size() * 1_000_000L + c.faults().stream().mapToLong(FaultStep::durationMs).sum() + c.producers()
                    + c.consumers() + c.subscribers();
            long original = s.faults().size() * 1_000_000L + s.faults().stream().mapToLong(FaultStep::durationMs).sum() + s.producers()
                    + s.consumers() + s.subscribers();
            assertTrue(weight < original, "not simpler: " + c.encode() + " from " + s.encode());
            assertEquals(c, Schedule.decode(c.encode()));
        }
    }

    @Property(tries = 20)
    void coveringSeedsCoverEveryKindGivenEnoughSchedules(@ForAll @LongRange(min = 0, max = 1L << 40) long base) {
        Set<FaultKind> available = EnumSet.allOf(FaultKind.class);
        List<Long> seeds = Schedules.coveringSeeds(base, available, Schedules.Limits.quick(), 8);
        Set<FaultKind> covered = EnumSet.noneOf(FaultKind.class);
        seeds.forEach(s -> covered.addAll(Schedules.generate(s, Schedules.Limits.quick()).kinds()));
        assertEquals(available, covered, "base " + base + " seeds " + seeds);
        assertTrue(seeds.size() <= 8);
    }

    /** The default suite's case: three schedules over the kinds it uses (no lazyfs) hold most of them. */
    @Property(tries = 20)
    void threeCoveringSeedsHoldMostDefaultKinds(@ForAll @LongRange(min = 0, max = 1L << 40) long base) {
        Set<FaultKind> available = EnumSet.allOf(FaultKind.class);
        available.removeIf(k -> k.nodeJvmOptions().contains("-Dbasalt.test.lazyfs=true"));
        List<Long> seeds = Schedules.coveringSeeds(base, available, Schedules.Limits.quick(), 3);
        Set<FaultKind> covered = EnumSet.noneOf(FaultKind.class);
        for (long s : seeds) {
            Set<FaultKind> kinds = Schedules.generate(s, Schedules.Limits.quick()).kinds();
            assertTrue(available.containsAll(kinds), "seed " + s + " uses a kind left out: " + kinds);
            covered.addAll(kinds);
        }
        assertTrue(seeds.size() <= 3, "seeds " + seeds);
        assertTrue(covered.size() >= 15, "base " + base + " seeds " + seeds + " cover only " + covered);
    }

    @Example
    void coveringSeedsAvoidUnavailableKinds() {
        Set<FaultKind> available = EnumSet.allOf(FaultKind.class);
        available.removeIf(FaultKind::needsNetfilter);
        for (long s : Schedules.coveringSeeds(12345, available, Schedules.Limits.quick(), 4)) {
            assertTrue(available.containsAll(Schedules.generate(s, Schedules.Limits.quick()).kinds()));
        }
    }
}

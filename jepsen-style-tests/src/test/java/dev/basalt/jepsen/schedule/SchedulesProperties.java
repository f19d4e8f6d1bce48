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
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * Schedules are a pure function of their seed, round-trip through their encoding, respect their
 * limits, shrink to strictly simpler schedules, and the default suite's covering schedules cover.
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

    /** The default suite's schedules: {@code kindsMax} available kinds (all, if fewer), each once, a pure function of the base seed. */
    @Property(tries = 200)
    void coveringSchedulesRunEveryAvailableKindOnce(@ForAll @LongRange(min = 0, max = 1L << 40) long base,
                                                    @ForAll @IntRange(min = 1, max = 8) int count,
                                                    @ForAll @IntRange(min = 1, max = 30) int kindsMax,
                                                    @ForAll boolean withoutPackets) {
        Set<FaultKind> available = EnumSet.allOf(FaultKind.class);
        if (withoutPackets) {
            available.removeIf(FaultKind::needsNetfilter);
        }
        Schedules.Limits limits = Schedules.Limits.quick();
        List<Schedule> schedules = Schedules.covering(base, available, count, kindsMax, limits);
        assertEquals(schedules, Schedules.covering(base, available, count, kindsMax, limits), "base " + base);
        int running = Math.min(kindsMax, available.size());
        assertEquals(Math.min(count, running), schedules.size());
        if (kindsMax >= available.size()) {
            assertEquals(schedules, Schedules.covering(base, available, count, limits), "all kinds: the same as without a cap");
        }
        List<FaultKind> ran = new java.util.ArrayList<>();
        for (Schedule s : schedules) {
            assertFalse(s.faults().isEmpty(), s.encode());
            assertEquals(s, Schedule.decode(s.encode()));
            assertFalse(Schedules.replaysFromSeed(s, limits), "must replay from its encoding: " + s.encode());
            for (FaultStep f : s.faults()) {
                assertTrue(f.durationMs() >= limits.faultMsMin() && f.durationMs() <= limits.faultMsMax(), s.encode());
                ran.add(f.kind());
            }
        }
        assertEquals(running, ran.size(), "each kind at most once: " + ran);
        assertEquals(running, EnumSet.copyOf(ran).size(), "each kind at most once: " + ran);
        assertTrue(available.containsAll(ran), "only available kinds: " + ran);
        int most = schedules.stream().mapToInt(x -> x.faults().size()).max().orElseThrow();
        int least = schedules.stream().mapToInt(x -> x.faults().size()).min().orElseThrow();
        assertTrue(most - least <= 1, "kinds dealt evenly");
    }

    @Property(tries = 100)
    void generatedSchedulesReplayFromTheirSeed(@ForAll @LongRange(min = 0, max = 1L << 40) long seed) {
        assertTrue(Schedules.replaysFromSeed(Schedules.generate(seed, Schedules.Limits.quick()), Schedules.Limits.quick()));
        Schedule s = Schedules.generate(seed, Schedules.Limits.thorough());
        Schedules.shrink(s).forEach(c -> assertFalse(Schedules.replaysFromSeed(c, Schedules.Limits.thorough()), c.encode()));
    }
}

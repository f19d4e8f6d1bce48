package dev.basalt.jepsen.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.jepsen.checker.MetaOp.Kind;
import dev.basalt.jepsen.checker.MetaOp.Outcome;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.Assume;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;

/**
 * Mutation tests of {@link MetadataChecker}.
 *
 * <p>Goal: no anomaly on linearizable histories; a planted stale read, phantom read or double
 * create is reported by exactly its name.
 *
 * <p>Method: {@link #generate} simulates processes whose operations take effect at a point drawn
 * inside their interval (the true linearization), with failed and indeterminate (half applied)
 * outcomes; the injections change one read's answer to the state before a change that completed
 * before the read began (stale), to a value nobody wrote (phantom), or append two sequential
 * successful creates of one topic (a lost or ignored commit).
 *
 * <p>Reproduce: the message names the seed; {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am test
 * -Dtest=MetadataCheckerProperties -Dsurefire.failIfNoSpecifiedTests=false -Djqwik.seed=<printed seed>},
 * or call {@code generate(seed)} and the injection in a test.
 */
class MetadataCheckerProperties {

    private static String replay(long seed, String what) {
        return " [seed " + seed + ", " + what + "; replay: MetadataCheckerProperties.generate(" + seed + ") or -Djqwik.seed=<printed>]";
    }

    @Property(tries = 400)
    void linearizableHistoriesHaveNoAnomaly(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 2) long seed) {
        List<MetaOp> h = generate(seed);
        MetadataChecker.Result r = MetadataChecker.check(h, true);
        assertEquals(Map.of(), r.counts(), r.summary() + " " + r.examples() + replay(seed, "no injection"));
        assertTrue(r.valid());
    }

    @Property(tries = 400)
    void aStaleReadIsReportedAsStaleReadAndAllowedOnlyWhenReadsMayLag(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 2) long seed) {
        List<MetaOp> h = generate(seed);
        Optional<List<MetaOp>> mutated = injectStaleRead(h, new SplittableRandom(seed));
        Assume.that(mutated.isPresent());
        MetadataChecker.Result strict = MetadataChecker.check(mutated.get(), true);
        assertEquals(Set.of("stale-read"), strict.counts().keySet(), strict.summary() + " " + strict.examples() + replay(seed, "stale"));
        assertFalse(strict.valid());
        MetadataChecker.Result lagging = MetadataChecker.check(mutated.get(), false);
        assertTrue(lagging.valid(), lagging.summary() + replay(seed, "stale, reads may lag"));
        assertEquals(strict.counts(), lagging.counts(), "still counted");
    }

    @Property(tries = 200)
    void aPhantomReadIsReported(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 2) long seed) {
        List<MetaOp> h = new ArrayList<>(generate(seed));
        List<Integer> reads = indexes(h, op -> op.kind() == Kind.READ && op.outcome() != Outcome.FAILED && op.outcome() != Outcome.UNKNOWN);
        Assume.that(!reads.isEmpty());
        int i = reads.get(new SplittableRandom(seed).nextInt(reads.size()));
        h.set(i, h.get(i).withOutcome(Outcome.VALUE, 777_777_777L));
        MetadataChecker.Result r = MetadataChecker.check(h, false);
        assertEquals(Set.of("phantom-read"), r.counts().keySet(), r.summary() + " " + r.examples() + replay(seed, "phantom"));
        assertFalse(r.valid());
    }

    @Property(tries = 200)
    void twoSequentialSuccessfulCreatesAreNotLinearizable(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 2) long seed) {
        List<MetaOp> h = new ArrayList<>(generate(seed));
        String topic = h.get(new SplittableRandom(seed).nextInt(h.size())).topic();
        // an indeterminate delete could fall between the two creates and make them valid
        Assume.that(h.stream().noneMatch(op -> op.topic().equals(topic) && op.kind() == Kind.DELETE && op.outcome() == Outcome.UNKNOWN));
        long end = h.stream().mapToLong(op -> op.completeNanos() == MetaOp.NEVER ? op.invokeNanos() : op.completeNanos()).max().orElse(0);
        h.add(new MetaOp(h.size(), 99, Kind.CREATE, topic, 900_001, Outcome.CREATED, end + 10, end + 20, null));
        h.add(new MetaOp(h.size(), 99, Kind.CREATE, topic, 900_002, Outcome.CREATED, end + 30, end + 40, null));
        MetadataChecker.Result r = MetadataChecker.check(h, false);
        assertEquals(Set.of("nonlinearizable"), r.counts().keySet(), r.summary() + " " + r.examples() + replay(seed, "double create"));
        assertFalse(r.valid());
    }

    @Example
    void anIndeterminateCreateMayTakeEffectLater() {
        List<MetaOp> h = List.of(
                new MetaOp(0, 1, Kind.CREATE, "t", 5, Outcome.UNKNOWN, 0, MetaOp.NEVER, null),
                new MetaOp(1, 2, Kind.READ, "t", 0, Outcome.ABSENT, 10, 20, null),
                new MetaOp(2, 2, Kind.READ, "t", 5, Outcome.VALUE, 30, 40, null),
                new MetaOp(3, 2, Kind.CREATE, "t", 6, Outcome.EXISTS, 50, 60, null));
        MetadataChecker.Result r = MetadataChecker.check(h, true);
        assertTrue(r.valid(), r.summary() + r.examples());
        List<MetaOp> back = new ArrayList<>(h);
        back.add(new MetaOp(4, 2, Kind.READ, "t", 0, Outcome.ABSENT, 70, 80, null));
        MetadataChecker.Result stale = MetadataChecker.check(back, true);
        assertEquals(Map.of("stale-read", 1), stale.counts(), stale.summary() + stale.examples());
    }

    // ------------------------------------------------------------------ generation

    private record Plan(int process, Kind kind, String topic, long invoke, long point, long complete) {
    }

    /** A linearizable history: each operation takes effect at a point inside its interval. */
    static List<MetaOp> generate(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int topics = 1 + r.nextInt(3);
        int processes = 2 + r.nextInt(4);
        int perProcess = 3 + r.nextInt(25);
        List<Plan> plans = new ArrayList<>();
        for (int p = 0; p < processes; p++) {
            long t = r.nextLong(20);
            for (int i = 0; i < perProcess; i++) {
                Kind kind = Kind.values()[r.nextInt(4)];
                long point = t + 1 + r.nextLong(40);
                long complete = point + 1 + r.nextLong(40);
                plans.add(new Plan(p, kind, "t" + r.nextInt(topics), t, point, complete));
                t = complete + r.nextLong(30);
            }
        }
        plans.sort(Comparator.comparingLong(Plan::point));
        Map<String, Long> state = new HashMap<>();
        List<MetaOp> out = new ArrayList<>();
        long values = 1_000;
        for (Plan pl : plans) {
            long v = pl.kind() == Kind.CREATE || pl.kind() == Kind.ALTER ? ++values : 0;
            int fate = r.nextInt(10);
            if (fate == 0) {
                out.add(new MetaOp(0, pl.process(), pl.kind(), pl.topic(), v, Outcome.FAILED, pl.invoke(), pl.complete(), "failed"));
                continue;
            }
            long s = state.getOrDefault(pl.topic(), MetadataChecker.ABSENT);
            boolean present = s != MetadataChecker.ABSENT;
            Outcome o;
            long after = s;
            long shown = v;
            switch (pl.kind()) {
                case CREATE -> {
                    o = present ? Outcome.EXISTS : Outcome.CREATED;
                    after = present ? s : v;
                }
                case DELETE -> {
                    o = present ? Outcome.DELETED : Outcome.ABSENT;
                    after = MetadataChecker.ABSENT;
                }
                case ALTER -> {
                    o = present ? Outcome.ALTERED : Outcome.ABSENT;
                    after = present ? v : s;
                }
                default -> {
                    o = present ? Outcome.VALUE : Outcome.ABSENT;
                    shown = present ? s : 0;
                }
            }
            if (fate == 1) { // indeterminate: took effect at its point, or never
                if (r.nextBoolean()) {
                    state.put(pl.topic(), after);
                }
                out.add(new MetaOp(0, pl.process(), pl.kind(), pl.topic(), v, Outcome.UNKNOWN, pl.invoke(), MetaOp.NEVER, "timeout"));
                continue;
            }
            state.put(pl.topic(), after);
            out.add(new MetaOp(0, pl.process(), pl.kind(), pl.topic(), shown, o, pl.invoke(), pl.complete(), null));
        }
        out.sort(Comparator.comparingLong(MetaOp::invokeNanos));
        List<MetaOp> indexed = new ArrayList<>();
        for (MetaOp op : out) {
            indexed.add(op.withIndex(indexed.size()));
        }
        return indexed;
    }

    /**
     * A read R answers the state before the last change W of its topic that completed before R
     * began, where the older state cannot come back: the op that wrote it completed (an
     * indeterminate one could be placed after W), and when it is "absent", no delete could fall
     * after W.
     */
    private static Optional<List<MetaOp>> injectStaleRead(List<MetaOp> h, SplittableRandom r) {
        List<Integer> reads = indexes(h, op -> op.kind() == Kind.READ && (op.outcome() == Outcome.VALUE || op.outcome() == Outcome.ABSENT));
        if (reads.isEmpty()) {
            return Optional.empty();
        }
        int start = r.nextInt(reads.size());
        for (int k = 0; k < reads.size(); k++) {
            MetaOp read = h.get(reads.get((start + k) % reads.size()));
            MetaOp w = null;
            for (MetaOp c : h) {
                boolean change = c.topic().equals(read.topic()) && (c.outcome() == Outcome.CREATED || c.outcome() == Outcome.ALTERED
                        || c.outcome() == Outcome.DELETED);
                if (change && c.completeNanos() < read.invokeNanos() && (w == null || c.completeNanos() > w.completeNanos())) {
                    w = c;
                }
            }
            if (w == null) {
                continue;
            }
            Optional<Long> before = stateBefore(h, w);
            if (before.isEmpty()) {
                continue;
            }
            long s0 = before.get();
            MetaOp wFinal = w;
            if (s0 == MetadataChecker.ABSENT) {
                boolean deleteAfter = h.stream().anyMatch(d -> d.topic().equals(read.topic()) && d.kind() == Kind.DELETE
                        && d.outcome() != Outcome.FAILED && d.invokeNanos() <= read.completeNanos() && d.completeNanos() >= wFinal.invokeNanos());
                if (deleteAfter) {
                    continue;
                }
            }
            List<MetaOp> out = new ArrayList<>(h);
            int i = out.indexOf(read);
            out.set(i, s0 == MetadataChecker.ABSENT ? read.withOutcome(Outcome.ABSENT, 0) : read.withOutcome(Outcome.VALUE, s0));
            if (out.get(i).equals(read)) {
                continue;
            }
            return Optional.of(out);
        }
        return Optional.empty();
    }

    /**
     * The state W changed, when it is certain: W created (absent before), or W altered/deleted a
     * value written by a completed create or alter that is the only candidate (values are unique,
     * so that is the alter or create with that value; found as the latest completed writer that
     * completed before W began and no other write is concurrent with W).
     */
    private static Optional<Long> stateBefore(List<MetaOp> h, MetaOp w) {
        if (w.outcome() == Outcome.CREATED) {
            return Optional.of(MetadataChecker.ABSENT);
        }
        List<MetaOp> writers = new ArrayList<>();
        for (MetaOp c : h) {
            boolean writer = c.topic().equals(w.topic()) && c != w && (c.outcome() == Outcome.CREATED || c.outcome() == Outcome.ALTERED
                    || c.outcome() == Outcome.UNKNOWN && c.kind() != Kind.READ || c.outcome() == Outcome.DELETED);
            if (!writer) {
                continue;
            }
            if (c.completeNanos() >= w.invokeNanos()) {
                return Optional.empty(); // concurrent with W (or indeterminate): the state before W is not certain
            }
            writers.add(c);
        }
        MetaOp last = writers.stream().max(Comparator.comparingLong(MetaOp::completeNanos)).orElse(null);
        if (last == null || last.outcome() == Outcome.DELETED) {
            return Optional.empty();
        }
        for (MetaOp c : writers) {
            if (c != last && c.completeNanos() >= last.invokeNanos()) {
                return Optional.empty(); // concurrent with the last writer: either may be last
            }
        }
        return Optional.of(last.value());
    }

    private static List<Integer> indexes(List<MetaOp> h, java.util.function.Predicate<MetaOp> p) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < h.size(); i++) {
            if (p.test(h.get(i))) {
                out.add(i);
            }
        }
        return out;
    }
}

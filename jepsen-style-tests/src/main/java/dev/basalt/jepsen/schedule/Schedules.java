package dev.basalt.jepsen.schedule;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Generates schedules from a seed, picks seeds that together cover a set of fault kinds, and
 * proposes simpler variants of a failing schedule (shrinking). Pure: the seed is the only source
 * of randomness.
 *
 * <p>Every derived parameter comes from one {@link SplittableRandom} in a fixed order, so a seed
 * always yields the same schedule (swarm testing: the number of faults, their kinds, durations,
 * and the workload's size all vary by seed).
 *
 * <p>Thread-safety: stateless.
 */
public final class Schedules {
    /** Limits of generated schedules (a run's length is roughly quiet + faults + recovery + ~20 s of set-up and reads). */
    public record Limits(int faultsMax, long faultMsMin, long faultMsMax, long gapMsMax, long quietMs, long recoverMs) {
        public Limits {
            if (faultsMax < 1 || faultMsMin < 100 || faultMsMax < faultMsMin || gapMsMax < 0 || quietMs < 0 || recoverMs < 0) {
                throw new IllegalArgumentException("bad limits");
            }
        }

        /** Short faults for the default suite ({@link #covering} ignores {@code faultsMax}: each schedule holds its share). */
        public static Limits quick() {
            return new Limits(6, 2_000, 4_000, 1_000, 2_000, 3_000);
        }

        /** Longer runs for -Pjepsen. */
        public static Limits thorough() {
            return new Limits(6, 2_000, 12_000, 5_000, 3_000, 8_000);
        }
    }

    private Schedules() {
    }

    /** The schedule of {@code seed} over the fault kinds {@code enabled}. */
    public static Schedule generate(long seed, Set<FaultKind> enabled, Limits limits) {
        if (enabled.isEmpty()) {
            throw new IllegalArgumentException("no fault kinds enabled");
        }
        List<FaultKind> kinds = new ArrayList<>(EnumSet.copyOf(enabled));
        SplittableRandom r = new SplittableRandom(seed);
        int partitions = 1 + r.nextInt(3);
        int producers = 3 + r.nextInt(4);
        int consumers = 2 + r.nextInt(2);
        int subscribers = r.nextInt(3);
        int faultCount = 1 + r.nextInt(limits.faultsMax());
        List<FaultStep> faults = new ArrayList<>();
        long t = 0;
        for (int i = 0; i < faultCount; i++) {
            FaultKind kind = kinds.get(r.nextInt(kinds.size()));
            long duration = limits.faultMsMin() + r.nextLong(limits.faultMsMax() - limits.faultMsMin() + 1);
            faults.add(new FaultStep(kind, r.nextInt(1 << 16), t, duration));
            t += duration + 500 + r.nextLong(limits.gapMsMax() + 1);
        }
        return new Schedule(seed, false, 3, partitions, producers, consumers, subscribers, limits.quietMs(), faults, limits.recoverMs());
    }

    /** Every fault kind: schedules are always generated over all of them, so a seed means the same schedule everywhere. */
    public static Set<FaultKind> allKinds() {
        return EnumSet.allOf(FaultKind.class);
    }

    /** The schedule of {@code seed} over every fault kind. */
    public static Schedule generate(long seed, Limits limits) {
        return generate(seed, allKinds(), limits);
    }

    /**
     * {@code count} schedules that together run every kind of {@code available} exactly once: the
     * kinds shuffled by {@code base} and dealt out in turn, each schedule with its workload and its
     * faults' targets, durations and gaps drawn from seed {@code base + i} within {@code limits}
     * (whose {@code faultsMax} does not apply: a schedule holds its share). They are not
     * {@link #generate}'s schedule of their seed, so they replay from their encoding
     * ({@code -Djepsen.schedule=...}), or all together from {@code base}.
     */
    public static List<Schedule> covering(long base, Set<FaultKind> available, int count, Limits limits) {
        return covering(base, available, count, available.size(), limits);
    }

    /**
     * As {@link #covering(long, Set, int, Limits)}, but only the first {@code kindsMax} kinds of the
     * shuffled order: a different subset every base seed, so every kind runs over a few builds.
     */
    public static List<Schedule> covering(long base, Set<FaultKind> available, int count, int kindsMax, Limits limits) {
        if (available.isEmpty() || count < 1 || kindsMax < 1) {
            throw new IllegalArgumentException("need kinds, at least one schedule and at least one kind to run");
        }
        List<FaultKind> kinds = new ArrayList<>(EnumSet.copyOf(available));
        SplittableRandom shuffle = new SplittableRandom(base);
        for (int i = kinds.size() - 1; i > 0; i--) {
            java.util.Collections.swap(kinds, i, shuffle.nextInt(i + 1));
        }
        kinds = new ArrayList<>(kinds.subList(0, Math.min(kindsMax, kinds.size())));
        int n = Math.min(count, kinds.size());
        List<Schedule> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SplittableRandom r = new SplittableRandom(base + i);
            int partitions = 1 + r.nextInt(3);
            int producers = 3 + r.nextInt(4);
            int consumers = 2 + r.nextInt(2);
            int subscribers = r.nextInt(3);
            List<FaultStep> faults = new ArrayList<>();
            long t = 0;
            for (int k = i; k < kinds.size(); k += n) {
                long duration = limits.faultMsMin() + r.nextLong(limits.faultMsMax() - limits.faultMsMin() + 1);
                faults.add(new FaultStep(kinds.get(k), r.nextInt(1 << 16), t, duration));
                t += duration + 500 + r.nextLong(limits.gapMsMax() + 1);
            }
            out.add(new Schedule(base + i, false, 3, partitions, producers, consumers, subscribers, limits.quietMs(), faults,
                    limits.recoverMs()));
        }
        return out;
    }

    /** Whether {@code s} is {@link #generate}'s schedule of its seed under {@code limits} (so its seed replays it). */
    public static boolean replaysFromSeed(Schedule s, Limits limits) {
        return !s.shrunk() && s.equals(generate(s.seed(), limits));
    }

    /**
     * Simpler variants of {@code s}, most aggressive first: each fault removed, the first half of
     * the faults, each duration halved (down to 1 s), fewer producers, consumers and subscribers. A shrinker
     * runs them in order and restarts from the first that still fails.
     */
    public static List<Schedule> shrink(Schedule s) {
        Set<Schedule> out = new LinkedHashSet<>();
        if (s.faults().size() > 1) {
            out.add(with(s, s.faults().subList(0, s.faults().size() / 2), s.producers(), s.consumers()));
            for (int i = 0; i < s.faults().size(); i++) {
                List<FaultStep> f = new ArrayList<>(s.faults());
                f.remove(i);
                out.add(with(s, restack(f), s.producers(), s.consumers()));
            }
        }
        List<FaultStep> halved = new ArrayList<>();
        for (FaultStep f : s.faults()) {
            halved.add(new FaultStep(f.kind(), f.choice(), 0, Math.max(1_000, f.durationMs() / 2)));
        }
        List<FaultStep> restacked = restack(halved);
        if (!restacked.equals(s.faults())) {
            out.add(with(s, restacked, s.producers(), s.consumers()));
        }
        if (s.producers() > 1 || s.consumers() > 1 || s.subscribers() > 0) {
            out.add(new Schedule(s.seed(), true, s.nodes(), s.partitions(), Math.max(1, s.producers() / 2), Math.max(1, s.consumers() / 2),
                    s.subscribers() / 2, s.quietMs(), s.faults(), s.recoverMs()));
        }
        out.remove(s);
        return List.copyOf(out);
    }

    /** The same faults back to back with 1 s between them, starting at 0. */
    private static List<FaultStep> restack(List<FaultStep> faults) {
        List<FaultStep> out = new ArrayList<>();
        long t = 0;
        for (FaultStep f : faults) {
            out.add(new FaultStep(f.kind(), f.choice(), t, f.durationMs()));
            t += f.durationMs() + 1_000;
        }
        return out;
    }

    private static Schedule with(Schedule s, List<FaultStep> faults, int producers, int consumers) {
        return new Schedule(s.seed(), true, s.nodes(), s.partitions(), producers, consumers, s.subscribers(), s.quietMs(), faults,
                s.recoverMs());
    }
}

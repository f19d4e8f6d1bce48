package dev.basalt.raft.sim;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: show that the Raft core keeps every safety invariant under any mix of message loss,
 * delay, duplication, reordering, (one-way) partitions, crashes losing unflushed data, restarts,
 * membership changes, leadership transfers and snapshots, that it recovers once the faults heal,
 * and that a KV workload through it is linearizable.
 *
 * <p>Method: {@link Simulation} runs a whole cluster deterministically from a seed; jqwik
 * generates the seed, the number of faults and the number of client operations, and shrinks a
 * failure towards fewer faults and operations. The default run simulates 2,000 seeds; under
 * {@code -Plong-tests} (system property {@code basalt.long=true}) {@link #longRun()} adds 100,000.
 *
 * <p>Reproduce: each failure prints its parameters and a command of the form
 * {@code ./mvnw -B -ntp -pl metadata-raft -am verify -Dtest=RaftSimulationProperties#replay
 * -Dbasalt.seed=SEED:FAULTS:OPS -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class RaftSimulationProperties {
    static final int DEFAULT_SEEDS = 2_000;
    static final int LONG_SEEDS = 100_000;

    @Property(tries = DEFAULT_SEEDS, shrinking = ShrinkingMode.BOUNDED)
    void clusterStaysSafeAndRecovers(@ForAll long seed, @ForAll @IntRange(min = 0, max = 30) int faults,
                                     @ForAll @IntRange(min = 1, max = 40) int ops) {
        runOne(seed, faults, ops);
    }

    /** Replays one run given as {@code -Dbasalt.seed=SEED:FAULTS:OPS} (skipped when unset). */
    @Test
    void replay() {
        String spec = System.getProperty("basalt.seed", "");
        Assumptions.assumeFalse(spec.isBlank(), "set -Dbasalt.seed=SEED:FAULTS:OPS to replay one run");
        String[] parts = spec.split(":");
        long seed = Long.parseLong(parts[0]);
        int faults = parts.length > 1 ? Integer.parseInt(parts[1]) : 10;
        int ops = parts.length > 2 ? Integer.parseInt(parts[2]) : 20;
        runOne(seed, faults, ops);
    }

    /** The long run: 100,000 more seeds derived from one printed master seed. */
    @Test
    void longRun() {
        Assumptions.assumeTrue(Boolean.getBoolean("basalt.long"), "long run only under -Plong-tests");
        long master = new SplittableRandom().nextLong();
        System.out.println("RaftSimulationProperties.longRun master seed " + master);
        SplittableRandom r = new SplittableRandom(master);
        for (int i = 0; i < LONG_SEEDS; i++) {
            runOne(r.nextLong(), r.nextInt(31), 1 + r.nextInt(40));
            if ((i + 1) % 10_000 == 0) {
                System.out.println("RaftSimulationProperties.longRun: " + (i + 1) + " runs passed");
            }
        }
    }

    static void runOne(long seed, int faults, int ops) {
        Simulation sim = new Simulation(Simulation.Params.derive(seed, faults, ops));
        try {
            sim.run();
        } catch (AssertionError | RuntimeException e) {
            String replay = "./mvnw -B -ntp -pl metadata-raft -am verify -Dtest=RaftSimulationProperties#replay"
                    + " -Dbasalt.seed=" + seed + ":" + faults + ":" + ops + " -Dsurefire.failIfNoSpecifiedTests=false";
            fail("simulation failed: " + sim.params() + "\n  replay: " + replay + "\n  cause: " + e, e);
        }
    }
}

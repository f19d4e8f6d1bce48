package dev.basalt.raft.sim;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: the Raft simulation as PIT's killer of mutants in the core, at a cost PIT can afford for
 * every surviving mutant (the 2,000-seed property takes 10-20 s per mutant). Method: the same runs
 * as {@link RaftSimulationProperties} (its seed, fault and operation ranges, a quarter of them in
 * the Figure 8 focus), {@code basalt.pit.seeds} of them (default 300) from a fixed master seed.
 * Runs only under the {@code mutation} profile ({@code -Dbasalt.pit=true}); the default build runs
 * the property instead. Reproduce: a failure prints the replay command of the failing run.
 */
class RaftSimulationMutationTest {
    static final long MASTER_SEED = 20_261_201;

    @Test
    void simulationSeedsForMutationTesting() {
        Assumptions.assumeTrue(Boolean.getBoolean("basalt.pit"), "runs under -Pmutation only");
        SplittableRandom r = new SplittableRandom(MASTER_SEED);
        int seeds = Integer.getInteger("basalt.pit.seeds", 300);
        for (int i = 0; i < seeds; i++) {
            RaftSimulationProperties.runOne(r.nextLong(), r.nextInt(31), 1 + r.nextInt(40));
        }
    }
}

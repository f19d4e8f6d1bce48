package dev.basalt.broker.group.sim;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: the group simulation as PIT's killer of mutants in the group state machine and the
 * assignors, at a cost PIT can afford per surviving mutant. Method: the runs of
 * {@link GroupSimulationProperties} (same seed and fault ranges), {@code basalt.pit.seeds} of them
 * (default 150) from a fixed master seed. Runs only under the {@code mutation} profile
 * ({@code -Dbasalt.pit=true}). Reproduce: a failure prints the replay command of the failing run.
 */
class GroupSimulationMutationTest {
    static final long MASTER_SEED = 20_261_201;

    @Test
    void simulationSeedsForMutationTesting() {
        Assumptions.assumeTrue(Boolean.getBoolean("basalt.pit"), "runs under -Pmutation only");
        SplittableRandom r = new SplittableRandom(MASTER_SEED);
        int seeds = Integer.getInteger("basalt.pit.seeds", 150);
        for (int i = 0; i < seeds; i++) {
            GroupSimulationProperties.runOne(r.nextLong(), r.nextInt(GroupSimulationProperties.FAULTS_MAX + 1));
        }
    }
}

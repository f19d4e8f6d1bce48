package dev.basalt.broker.replica.sim;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: the replication simulation as PIT's killer of mutants in the replication rules, at a cost
 * PIT can afford per surviving mutant. Method: the runs of {@link ReplicationSimulationProperties}
 * (same seed and fault ranges), {@code basalt.pit.seeds} of them (default 150) from a fixed
 * master seed. Runs only under the {@code mutation} profile ({@code -Dbasalt.pit=true}).
 * Reproduce: a failure prints the replay command of the failing run.
 */
class ReplicationSimulationMutationTest {
    static final long MASTER_SEED = 20_261_201;

    @Test
    void simulationSeedsForMutationTesting() {
        Assumptions.assumeTrue(Boolean.getBoolean("basalt.pit"), "runs under -Pmutation only");
        SplittableRandom r = new SplittableRandom(MASTER_SEED);
        int seeds = Integer.getInteger("basalt.pit.seeds", 150);
        for (int i = 0; i < seeds; i++) {
            ReplicationSimulationProperties.runOne(r.nextLong(), r.nextInt(ReplicationSimulationProperties.FAULTS_MAX + 1));
        }
    }
}

package dev.basalt.broker.replica.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Goal: guard the replication simulation itself against testing nothing. A harness that never
 * delivered a message, never acknowledged a write, or whose checker could not fail would pass every
 * invariant. Method: fixed seeds (named regression seeds, STYLE.md §8) must show acknowledged writes
 * and elections; a fault-free run must never fail a produce for long; and each planted bug (a
 * test-only switch in the harness around the real rules) must be caught by the named invariant on
 * some seed of a small range. Reproduce: run this class; seeds are in the code.
 */
class ReplicationSimulationSanityTest {
    @Test
    void faultFreeRuns_acknowledgeWritesAndElectLeaders() {
        long acks = 0;
        for (long seed = 1; seed <= 10; seed++) {
            ReplicationSimulation sim = ReplicationSimulationProperties.runOne(seed, 0);
            acks += sim.acknowledgedWrites();
            assertTrue(sim.acknowledgedWrites() > 50, "seed " + seed + " acks " + sim.acknowledgedWrites() + " "
                    + sim.params());
            assertTrue(sim.leaderElections() >= sim.params().partitions(), "elections " + sim.leaderElections());
        }
        System.out.println("fault-free: acks=" + acks);
    }

    @Test
    void faultyRuns_stillMakeProgress() {
        long acks = 0;
        int elections = 0;
        int faults = 0;
        for (long seed = 1; seed <= 20; seed++) {
            ReplicationSimulation sim = ReplicationSimulationProperties.runOne(seed, 12);
            acks += sim.acknowledgedWrites();
            elections += sim.leaderElections();
            faults += sim.faultsInjected();
        }
        assertTrue(acks > 2_000, "acks over 20 faulty runs: " + acks);
        assertTrue(elections > 60, "leader elections over 20 faulty runs: " + elections);
        System.out.println("faulty: acks=" + acks + " elections=" + elections + " faults=" + faults);
    }

    @Test
    void plantedBug_hwIgnoringTheIsr_isCaught() {
        assertCaught(ReplicationSimulation.Bug.HW_IGNORES_ISR, "lost-acked-write");
    }

    @Test
    void plantedBug_followerSkippingTruncation_isCaught() {
        assertCaught(ReplicationSimulation.Bug.FOLLOWER_SKIPS_TRUNCATION, "inconsistent-below-hw");
    }

    private static void assertCaught(ReplicationSimulation.Bug bug, String anomaly) {
        StringBuilder seen = new StringBuilder();
        for (long seed = 1; seed <= 200; seed++) {
            ReplicationSimulation sim = new ReplicationSimulation(ReplicationSimulation.Params.derive(seed, 12)
                    .withBug(bug));
            try {
                sim.run();
            } catch (ReplicationSimulation.SimulationFailure f) {
                String first = f.getMessage().lines().findFirst().orElse("");
                if (first.startsWith(anomaly)) {
                    System.out.println(bug + " caught on seed " + seed + ": " + first);
                    return;
                }
                seen.append("\n  seed ").append(seed).append(": ").append(first);
            }
        }
        throw new AssertionError("planted bug " + bug + " not caught as '" + anomaly + "' in 200 seeds" + seen);
    }
}

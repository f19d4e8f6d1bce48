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
    private static final int SEEDS_MAX = 300;

    @Test
    void faultFreeRuns_acknowledgeWritesAndElectLeaders() {
        long acks = 0;
        for (long seed = 1; seed <= 10; seed++) {
            ReplicationSimulation.Params p = ReplicationSimulation.Params.derive(seed, 0);
            p = new ReplicationSimulation.Params(p.seed(), p.brokers(), p.replicationFactor(), p.minInsyncReplicas(),
                    p.partitions(), p.durableAcks(), 0, p.delayMaxMs(), 0, p.producers(), p.sessionTimeoutMs(),
                    p.heartbeatIntervalMs(), p.lagTimeMaxMs(), p.isrCheckIntervalMs(), p.metadataPollMs(),
                    p.flushDelayMs(), p.requestTimeoutMs(), p.fetchBackoffMs(), p.fetchBatchesMax(), p.faultPhaseMs(),
                    p.livenessPhaseMs(), ReplicationSimulation.Bug.NONE, 0, 0);
            ReplicationSimulation sim = ReplicationSimulationProperties.runOne(p);
            acks += sim.acknowledgedWrites();
            // one request in flight per producer; with durable acks a write needs produce, fetch, fsync and
            // a second fetch reporting the fsync, up to ~150 ms at 28 ms per hop: at least ~45 in 7 s
            assertTrue(sim.acknowledgedWrites() > 30, "seed " + seed + " acks " + sim.acknowledgedWrites() + " " + p);
            assertTrue(sim.leaderElections() >= p.partitions(), "elections " + sim.leaderElections());
            assertTrue(sim.stats().sessionFences == 0 && sim.stats().isrShrinksCommitted == 0,
                    "no faults, yet " + sim.stats() + " " + p);
        }
        System.out.println("fault-free: acks=" + acks);
    }

    @Test
    void faultyRuns_stillMakeProgress_andReachTheHardStates() {
        long acks = 0;
        int elections = 0;
        SimStats total = new SimStats();
        for (long seed = 1; seed <= 40; seed++) {
            ReplicationSimulation sim = ReplicationSimulationProperties.runOne(seed, 12);
            acks += sim.acknowledgedWrites();
            elections += sim.leaderElections();
            total.add(sim.stats());
        }
        System.out.println("faulty: acks=" + acks + " elections=" + elections + " " + total);
        assertTrue(acks > 4_000, "acks over 40 faulty runs: " + acks);
        assertTrue(elections > 120, "leader elections over 40 faulty runs: " + elections);
        assertTrue(total.powerLosses > 10 && total.sessionFences > 20, "crashes and fences: " + total);
        assertTrue(total.isrShrinksCommitted > 20 && total.isrExpansionsCommitted > 20, "ISR changes: " + total);
        assertTrue(total.divergentTruncations > 10, "followers truncating a divergent tail: " + total);
        // the hardest case for "no acknowledged write lost": a leader acking on stale metadata
        assertTrue(total.staleLeaderAcks > 0 && total.notEnoughReplicas > 0, "stale-leader acks, min ISR: " + total);
    }

    @Test
    void plantedBug_actingBeforeOwnRegistration_isCaught() {
        // A restarted broker must not act on the partition state its previous incarnation left in the
        // image: it would lead an epoch it already led, possibly with a shorter log (a power loss).
        assertCaught(ReplicationSimulation.Bug.ACTS_BEFORE_REGISTRATION, "two-leaders");
    }

    @Test
    void plantedBug_hwIgnoringTheIsr_isCaught() {
        assertCaught(ReplicationSimulation.Bug.HW_IGNORES_ISR, "isr-lacks-acked-write");
    }

    @Test
    void plantedBug_followerSkippingTruncation_isCaught() {
        assertCaught(ReplicationSimulation.Bug.FOLLOWER_SKIPS_TRUNCATION, "inconsistent-below-hw");
    }

    private static void assertCaught(ReplicationSimulation.Bug bug, String anomaly) {
        StringBuilder seen = new StringBuilder();
        for (long seed = 1; seed <= SEEDS_MAX; seed++) {
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
        throw new AssertionError("planted bug " + bug + " not caught as '" + anomaly + "' in " + SEEDS_MAX + " seeds" + seen);
    }
}

package dev.basalt.broker.group.sim;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: show that the consumer group logic (the pure {@code GroupShard}: KIP-848 heartbeats,
 * assignors, incremental reconciliation, session expiry, static membership, replay) never gives a
 * partition two owners while members join, leave, crash and restart over a lossy network, topics
 * grow and the coordinator fails over; and that once the faults stop every subscribed partition is
 * owned, within a bound of two session timeouts plus revocation and heartbeat time.
 *
 * <p>Method: {@link GroupSimulation} runs a group deterministically from a seed (member count,
 * topics, assignor, static share, loss rate, delays, timeouts derived from it: swarm testing);
 * jqwik generates the seed and the number of faults and shrinks a failure towards fewer faults.
 * The default run simulates 1,000 seeds; under {@code -Plong-tests} {@link #longRun()} adds 20,000.
 * Members are modelled on the Java client (a poll thread that takes time to revoke and to take
 * partitions, heartbeats reporting what it may consume); the invariant "never two owners" is checked
 * after every event, and {@link #membersReportingOnlyAcknowledgedPartitions_areCaughtWithTwoOwners()}
 * shows the check catches the client's former reporting bug.
 *
 * <p>Reproduce: a failure prints its parameters and a command of the form
 * {@code ./mvnw -B -ntp -pl broker -am verify -Dtest=GroupSimulationProperties#replay
 * -Dbasalt.seed=SEED:FAULTS -Dsurefire.failIfNoSpecifiedTests=false}; add
 * the replay prints the run's events.
 */
class GroupSimulationProperties {
    static final int DEFAULT_SEEDS = 1_000;
    static final int LONG_SEEDS = 20_000;
    static final int FAULTS_MAX = 40;

    @Property(tries = DEFAULT_SEEDS, shrinking = ShrinkingMode.BOUNDED)
    void neverTwoOwnersAndConverges(@ForAll long seed, @ForAll @IntRange(min = 0, max = FAULTS_MAX) int faults) {
        runOne(seed, faults);
    }

    /** Replays one run given as {@code -Dbasalt.seed=SEED:FAULTS} (skipped when unset). */
    @Test
    void replay() {
        String spec = System.getProperty("basalt.seed", "");
        Assumptions.assumeFalse(spec.isBlank(), "set -Dbasalt.seed=SEED:FAULTS to replay one run");
        String[] parts = spec.split(":");
        long seed = Long.parseLong(parts[0]);
        int faults = parts.length > 1 ? Integer.parseInt(parts[1]) : 10;
        System.out.println("replaying " + GroupSimulation.Params.derive(seed, faults));
        runOne(seed, faults, true);
    }

    @Test
    void longRun() {
        Assumptions.assumeTrue(Boolean.getBoolean("basalt.long"), "long run only under -Plong-tests");
        long master = new SplittableRandom().nextLong();
        System.out.println("GroupSimulationProperties.longRun master seed " + master);
        SplittableRandom r = new SplittableRandom(master);
        for (int i = 0; i < LONG_SEEDS; i++) {
            runOne(r.nextLong(), r.nextInt(FAULTS_MAX + 1));
        }
    }

    /**
     * The checker catches the double ownership GroupWorkloadE2ETest once saw: members that report
     * only the partitions their poll thread acknowledged (the Java client before the fix) let the
     * coordinator take a revocation as confirmed while the member is still taking the partition.
     * Seeds 1..{@value #SENSITIVITY_SEEDS_MAX} in order (a named regression, so fixed seeds): some
     * run must fail with two owners (or a member owning what the coordinator gave away).
     */
    @Test
    void membersReportingOnlyAcknowledgedPartitions_areCaughtWithTwoOwners() {
        for (long seed = 1; seed <= SENSITIVITY_SEEDS_MAX; seed++) {
            GroupSimulation.Params params = GroupSimulation.Params.derive(seed, FAULTS_MAX, GroupSimulation.OwnedReport.ACKNOWLEDGED_ONLY);
            try {
                new GroupSimulation(params, false).run();
            } catch (AssertionError e) {
                if (e.getMessage().contains("is owned by") || e.getMessage().contains("but the coordinator")) {
                    System.out.println("the unsafe report rule fails at seed " + seed + ": " + e.getMessage());
                    return;
                }
                throw new AssertionError("seed " + seed + " failed otherwise: " + e.getMessage(), e);
            }
        }
        fail("no run of " + SENSITIVITY_SEEDS_MAX + " seeds caught members that report only acknowledged partitions");
    }

    static final int SENSITIVITY_SEEDS_MAX = 2_000;

    static GroupSimulation runOne(long seed, int faults) {
        return runOne(seed, faults, false);
    }

    static GroupSimulation runOne(long seed, int faults, boolean trace) {
        GroupSimulation.Params params = GroupSimulation.Params.derive(seed, faults);
        GroupSimulation sim = new GroupSimulation(params, trace);
        try {
            sim.run();
        } catch (AssertionError | RuntimeException e) {
            String replay = "./mvnw -B -ntp -pl broker -am verify -Dtest=GroupSimulationProperties#replay"
                    + " -Dbasalt.seed=" + seed + ":" + faults + " -Dsurefire.failIfNoSpecifiedTests=false";
            fail(params + "\n  replay: " + replay + "\n  cause: " + e, e);
        }
        return sim;
    }
}

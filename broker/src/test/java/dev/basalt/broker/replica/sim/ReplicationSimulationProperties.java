package dev.basalt.broker.replica.sim;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Goal: show that partition replication (the pure {@code LeaderState} and {@code FollowerTruncation}
 * rules) together with the controller's partition decisions (the pure {@code MetadataController})
 * never lose an acknowledged acks=all write, keep replicas identical below their high watermarks,
 * never move a leader's HW back, never give one leader epoch two leaders, under message loss, delay
 * and reordering, crashes (kill -9 and power loss of the unflushed tail), pauses, partitions and
 * controlled shutdowns; and that a healed cluster converges.
 *
 * <p>Method: {@link ReplicationSimulation} runs a whole cluster deterministically from a seed, the
 * cluster shape and fault rates derived from the seed (swarm testing); jqwik generates the seed and
 * the number of faults and shrinks a failure towards fewer faults. The default run simulates 1,000
 * seeds; under {@code -Plong-tests} (system property {@code basalt.long=true}) {@link #longRun()}
 * adds 50,000.
 *
 * <p>Reproduce: each failure prints the run's parameters on its first line and a command of the form
 * {@code ./mvnw -B -ntp -pl broker -am verify -Dtest=ReplicationSimulationProperties#replay
 * -Dbasalt.seed=SEED:FAULTS -Dsurefire.failIfNoSpecifiedTests=false}; add
 * {@code -Dbasalt.sim.trace=true} to print the faults as they happen.
 */
class ReplicationSimulationProperties {
    static final int DEFAULT_SEEDS = 1_000;
    static final int LONG_SEEDS = 50_000;
    static final int FAULTS_MAX = 16;

    @Property(tries = DEFAULT_SEEDS, shrinking = ShrinkingMode.BOUNDED)
    void replicationStaysSafeAndConverges(@ForAll long seed, @ForAll @IntRange(min = 0, max = FAULTS_MAX) int faults) {
        runOne(seed, faults);
    }

    /** Replays one run given as {@code -Dbasalt.seed=SEED:FAULTS} (skipped when unset). */
    @Test
    void replay() {
        String spec = System.getProperty("basalt.seed", "");
        Assumptions.assumeFalse(spec.isBlank(), "set -Dbasalt.seed=SEED:FAULTS to replay one run");
        String[] parts = spec.split(":");
        long seed = Long.parseLong(parts[0]);
        int faults = parts.length > 1 ? Integer.parseInt(parts[1]) : 8;
        System.out.println("replaying " + ReplicationSimulation.Params.derive(seed, faults));
        runOne(seed, faults);
    }

    /**
     * Runs that once failed, replayed in every build (docs/replication-simulation.md): a late
     * expansion (9795199:13), a joiner holding the inherited prefix unflushed (-5165579552139969814:16),
     * an idle follower that never flushed a tail a crash left (3736556953641626540:15), a leader
     * completeness check made too late (-184027062694957671:11) and a controlled shutdown that
     * outlived the fault phase (-5778841445832959583:13).
     */
    @ParameterizedTest
    @CsvSource({"9795199, 13", "-5165579552139969814, 16", "3736556953641626540, 15", "-184027062694957671, 11",
            "-5778841445832959583, 13"})
    void findings(long seed, int faults) {
        runOne(seed, faults);
    }

    /** The long run: more seeds derived from one printed master seed. */
    @Test
    void longRun() {
        Assumptions.assumeTrue(Boolean.getBoolean("basalt.long"), "long run only under -Plong-tests");
        long master = new SplittableRandom().nextLong();
        System.out.println("ReplicationSimulationProperties.longRun master seed " + master);
        SplittableRandom r = new SplittableRandom(master);
        for (int i = 0; i < LONG_SEEDS; i++) {
            runOne(r.nextLong(), r.nextInt(FAULTS_MAX + 1));
            if ((i + 1) % 5_000 == 0) {
                System.out.println("ReplicationSimulationProperties.longRun: " + (i + 1) + " runs passed");
            }
        }
    }

    static ReplicationSimulation runOne(long seed, int faults) {
        return runOne(ReplicationSimulation.Params.derive(seed, faults));
    }

    static ReplicationSimulation runOne(ReplicationSimulation.Params params) {
        ReplicationSimulation sim = new ReplicationSimulation(params);
        try {
            sim.run();
        } catch (AssertionError | RuntimeException e) {
            String replay = "./mvnw -B -ntp -pl broker -am verify -Dtest=ReplicationSimulationProperties#replay"
                    + " -Dbasalt.seed=" + params.seed() + ":" + params.faults() + " -Dsurefire.failIfNoSpecifiedTests=false";
            fail(params + "\n  replay: " + replay + "\n  cause: " + e, e);
        }
        return sim;
    }
}

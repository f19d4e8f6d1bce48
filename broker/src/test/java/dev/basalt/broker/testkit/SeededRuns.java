package dev.basalt.broker.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;

/**
 * One seeded run of a property, and its replay: a failure names the seed and the exact command
 * that runs that one seed again ({@code -Dbasalt.seed=SEED} on the class's {@code replay} test).
 * Stateless.
 */
public final class SeededRuns {
    private SeededRuns() {
    }

    /** Runs {@code check} with a generator seeded by {@code seed}; a failure prints the replay command. */
    public static void run(Class<?> testClass, long seed, Consumer<SplittableRandom> check) {
        try {
            check.accept(new SplittableRandom(seed));
        } catch (AssertionError | RuntimeException e) {
            fail("seed " + seed + " failed\n  replay: ./mvnw -B -ntp -o -pl broker -am verify -Dtest=" + testClass.getSimpleName()
                    + "#replay -Dbasalt.seed=" + seed + " -Dsurefire.failIfNoSpecifiedTests=false\n  cause: " + e, e);
        }
    }

    /** The seed given with {@code -Dbasalt.seed}; the calling test is skipped when none is. */
    public static long replaySeed() {
        String spec = System.getProperty("basalt.seed", "");
        Assumptions.assumeFalse(spec.isBlank() || spec.equals("${basalt.seed}"), "set -Dbasalt.seed=SEED to replay one run");
        return Long.parseLong(spec);
    }
}

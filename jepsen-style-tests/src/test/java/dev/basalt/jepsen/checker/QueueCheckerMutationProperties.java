package dev.basalt.jepsen.checker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.jepsen.history.History;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.statistics.Statistics;

/**
 * Mutation tests of {@link QueueChecker}.
 *
 * <p>Goal: the checker reports nothing on valid histories and, for every anomaly it knows,
 * reports exactly that anomaly (and no other) when it is planted into a valid history.
 *
 * <p>Method: {@link ValidQueueHistories} generates a valid history from the seed (senders with
 * OK/FAIL/INFO outcomes, assign-based consumers, a consumer group with handovers and commits,
 * replica final reads); {@link Injections} plants one anomaly at a site chosen from the same seed.
 * The checker runs with {@link CheckerConfig#strict()} (nothing allowed).
 *
 * <p>Reproduce a failure: the message names the seed and anomaly; run {@code ./mvnw -B -ntp -o -pl
 * jepsen-style-tests -am test -Dtest=QueueCheckerMutationProperties -Dsurefire.failIfNoSpecifiedTests=false
 * -Djqwik.seed=<jqwik seed printed by jqwik>} or call {@code ValidQueueHistories.generate(seed)} and
 * {@code Injections.inject(anomaly, h, new Random(seed))} in a test.
 */
class QueueCheckerMutationProperties {

    private static String replay(long seed, Object what) {
        return " [seed " + seed + ", " + what + "; replay: ValidQueueHistories.generate(" + seed + ") then Injections.inject("
                + what + ", h, new Random(" + seed + ")); or -Dtest=QueueCheckerMutationProperties -Djqwik.seed=<printed seed>]";
    }

    @Property(tries = 300)
    void validHistoriesHaveNoAnomalies(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 2) long seed) {
        History h = ValidQueueHistories.generate(seed);
        CheckResult result = QueueChecker.check(h, CheckerConfig.strict());
        assertEquals(Set.of(), result.found(), result.summary() + replay(seed, "no injection"));
    }

    @Property(tries = 1600)
    void eachInjectedAnomalyIsReportedAloneByItsName(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 2) long seed,
                                                      @ForAll Anomaly anomaly) {
        History valid = ValidQueueHistories.generate(seed);
        Optional<History> mutated = Injections.inject(anomaly, valid, new Random(seed));
        Statistics.label("injected").collect(anomaly.jepsenName(), mutated.isPresent());
        Assume.that(mutated.isPresent());
        CheckResult result = QueueChecker.check(mutated.get(), CheckerConfig.strict());
        assertEquals(Set.of(anomaly), result.found(), result.summary() + replay(seed, anomaly));
        assertEquals(Set.of(anomaly), result.failures(), "strict config allows nothing" + replay(seed, anomaly));
    }
}

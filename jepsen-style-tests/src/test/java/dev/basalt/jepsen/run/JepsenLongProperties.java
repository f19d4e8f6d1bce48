package dev.basalt.jepsen.run;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.Netfilter;
import dev.basalt.jepsen.schedule.FaultKind;
import dev.basalt.jepsen.schedule.Schedule;
import dev.basalt.jepsen.schedule.Schedules;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

/**
 * The long Jepsen-style suite ({@code ./mvnw -B -ntp verify -Pjepsen -Djepsen.schedules=1000}):
 * jqwik draws one random seed per try (no edge cases, which would repeat seed 0; the number of tries is {@code jepsen.schedules}, passed to jqwik
 * as {@code jqwik.tries.default} by the profile); each seed's schedule
 * ({@link Schedules.Limits#thorough()}: up to six faults of 2–12 s) runs on a fresh cluster.
 *
 * <p>Shrinking: jqwik's own shrinking is off, because shrinking a seed does not simplify its
 * schedule; a failing schedule is shrunk by {@link JepsenRun#runShrinking} instead (fewer faults,
 * shorter faults, fewer processes), each candidate printed with its {@code -Djepsen.schedule}
 * replay command.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Pjepsen
 * -Dtest=JepsenLongProperties -Djepsen.seed=S} runs the schedule of seed S once.
 */
@AddLifecycleHook(JepsenLongProperties.OnlyInLongRuns.class)
class JepsenLongProperties {
    private static JepsenRun runner;

    /** Skips the suite unless -Pjepsen (jepsen.long=true) asked for it. */
    public static final class OnlyInLongRuns implements SkipExecutionHook {
        @Override
        public SkipResult shouldBeSkipped(LifecycleContext context) {
            return Boolean.getBoolean("jepsen.long") ? SkipResult.doNotSkip() : SkipResult.skip("long suite: ./mvnw verify -Pjepsen");
        }
    }

    private static synchronized JepsenRun runner() throws java.io.IOException {
        if (runner == null) {
            runner = new JepsenRun(Files.createTempDirectory("jepsen-long-"), Path.of("target", "jepsen-long").toAbsolutePath(),
                    System.out::println, "-Pjepsen -Djepsen.schedules=1 -Dtest=JepsenLongProperties", Schedules.Limits.thorough());
        }
        return runner;
    }

    @Property(shrinking = ShrinkingMode.OFF, edgeCases = EdgeCasesMode.NONE, generation = GenerationMode.RANDOMIZED)
    void longSchedulesKeepEveryGuarantee(@ForAll @LongRange(min = 0, max = 1L << 40) long drawn) throws java.io.IOException {
        String fixed = System.getProperty("jepsen.seed", "");
        long seed = fixed.isBlank() ? drawn : Long.parseLong(fixed.trim());
        Schedule s = Schedules.generate(seed, Schedules.Limits.thorough());
        Assume.that(Netfilter.unavailableReason().isEmpty() || s.kinds().stream().noneMatch(FaultKind::needsNetfilter));
        List<RunResult> results = runner().runShrinking(s, Integer.getInteger("jepsen.shrink.runs", 6));
        RunResult smallest = results.stream().filter(r -> !r.ok()).reduce((a, b) -> b).orElse(results.get(0));
        assertTrue(results.get(0).ok(), results.get(0).summary() + "\n  shrunk to: " + smallest.summary());
    }
}

package dev.basalt.jepsen.run;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.basalt.harness.Netfilter;
import dev.basalt.jepsen.schedule.FaultKind;
import dev.basalt.jepsen.schedule.Schedule;
import dev.basalt.jepsen.schedule.Schedules;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The default Jepsen-style suite: generated fault schedules against real three-node clusters,
 * checked by the queue checker.
 *
 * <p>Goal: every nemesis runs at least once per build (issue 14: the default suite covers every
 * nemesis, in at most 8 minutes on 2 cores), on fresh seeds, and any anomaly or run problem fails
 * the build with its replay command. {@code -Djepsen.kinds=K} runs only K kinds, drawn by the base
 * seed (a quicker local run).
 *
 * <p>Method: a base seed is drawn (printed first); {@link Schedules#covering} deals every fault kind
 * available here (partition kinds need root, iptables and cgroup v2: {@link Netfilter}) (or
 * {@code jepsen.kinds} of them drawn by the base seed) over
 * {@code jepsen.schedules} (default 3) schedules, each kind once, in an order and with targets,
 * durations and workloads drawn from the base seed; each schedule runs on a fresh cluster
 * ({@link JepsenRun}) and writes its report to {@code target/jepsen/run-<seed>/index.html}. A
 * failing schedule is shrunk (at most {@code jepsen.shrink.runs}, default 2, extra runs).
 *
 * <p>Reproduce: {@code -Djepsen.base=B} runs the same schedules again; {@code -Djepsen.schedule='v1;...'}
 * runs one schedule as printed (shrunk ones too); {@code -Djepsen.seed=S} runs {@link Schedules#generate}'s
 * schedule of S (as {@code -Pjepsen}'s long runs print). All with {@code ./mvnw -B
 * -ntp -o -pl jepsen-style-tests -am verify -Dtest=JepsenSuiteTest -Dsurefire.failIfNoSpecifiedTests=false}.
 * Where packet faults are impossible the suite leaves them out and says why, unless
 * {@code BASALT_REQUIRE_NETFILTER=1} (set by .ci/run) makes that a failure.
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@Isolated("own loopback addresses, packet rules and clock jumps; its fault timings assume the host to itself")
class JepsenSuiteTest {

    @Test
    void generatedSchedulesKeepEveryGuarantee() throws Exception {
        Set<FaultKind> available = EnumSet.allOf(FaultKind.class);
        Optional<String> noPackets = Netfilter.unavailableReason();
        if (noPackets.isPresent()) {
            if ("1".equals(System.getenv("BASALT_REQUIRE_NETFILTER"))) {
                fail("BASALT_REQUIRE_NETFILTER=1 but " + noPackets.get());
            }
            System.out.println("JEPSEN partition nemeses LEFT OUT: " + noPackets.get());
            available.removeIf(FaultKind::needsNetfilter);
        }
        Path reports = Path.of("target", "jepsen").toAbsolutePath();
        Path work = Files.createTempDirectory("jepsen-");
        List<Schedule> schedules = schedules(available);
        JepsenRun runner = new JepsenRun(work, reports, System.out::println, "-Dtest=JepsenSuiteTest", Schedules.Limits.quick());
        int shrinkRuns = Integer.getInteger("jepsen.shrink.runs", 2);
        List<String> failures = new ArrayList<>();
        Set<FaultKind> ran = EnumSet.noneOf(FaultKind.class);
        for (Schedule s : schedules) {
            List<RunResult> results = runner.runShrinking(s, shrinkRuns);
            ran.addAll(s.kinds());
            RunResult first = results.get(0);
            if (!first.ok()) {
                RunResult smallest = results.stream().filter(r -> !r.ok()).reduce((a, b) -> b).orElseThrow();
                failures.add(first.summary() + (smallest == first ? "" : "\n  shrunk to: " + smallest.summary()));
            }
        }
        Set<FaultKind> notRun = EnumSet.copyOf(available);
        notRun.removeAll(ran);
        System.out.println("JEPSEN ran " + schedules.size() + " schedules covering " + ran + (notRun.isEmpty() ? ""
                : "; NOT covered this time: " + notRun) + "; reports in " + reports);
        assertTrue(failures.isEmpty(), failures.size() + " of " + schedules.size() + " schedules failed:\n" + String.join("\n", failures));
    }

    private static List<Schedule> schedules(Set<FaultKind> available) {
        String encoded = System.getProperty("jepsen.schedule", "");
        if (!encoded.isBlank()) {
            return List.of(Schedule.decode(encoded));
        }
        String seed = System.getProperty("jepsen.seed", "");
        if (!seed.isBlank()) {
            return List.of(Schedules.generate(Long.parseLong(seed.trim()), Schedules.Limits.quick()));
        }
        String fixedBase = System.getProperty("jepsen.base", "");
        long base = fixedBase.isBlank() ? new SplittableRandom().nextLong() & ((1L << 40) - 1) : Long.parseLong(fixedBase.trim());
        int count = Integer.getInteger("jepsen.schedules", 3);
        int kindsMax = Integer.getInteger("jepsen.kinds", available.size());
        // `kindsMax` of the available kinds (a different draw every base seed), each once, dealt over `count` schedules.
        List<Schedule> out = Schedules.covering(base, available, count, kindsMax, Schedules.Limits.quick());
        System.out.println("JEPSEN base seed " + base + ": " + out.size() + " schedules running " + Math.min(kindsMax, available.size())
                + " of " + available.size() + " fault kinds (all of them replay with -Djepsen.base=" + base + " -Djepsen.schedules="
                + count + " -Djepsen.kinds=" + kindsMax + " where the same kinds are available; one with its -Djepsen.schedule=... below)");
        return out;
    }
}

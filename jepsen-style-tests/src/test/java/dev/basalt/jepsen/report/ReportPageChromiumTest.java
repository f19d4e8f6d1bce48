package dev.basalt.jepsen.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.jepsen.checker.CheckerConfig;
import dev.basalt.jepsen.checker.QueueChecker;
import dev.basalt.jepsen.history.Fn;
import dev.basalt.jepsen.history.History;
import dev.basalt.jepsen.history.Msg;
import dev.basalt.jepsen.history.Op;
import dev.basalt.jepsen.history.OpType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report page renders in headless Chromium (Debian's {@code chromium}): the DOM Chromium
 * builds has the four charts with their bars and lines, and a screenshot is produced. Skips, saying
 * so, where no chromium binary is installed. Chromium is started by this test and stopped by its
 * PID on timeout.
 */
class ReportPageChromiumTest {
    private static final long CHROMIUM_TIMEOUT_MS = 60_000;

    @TempDir
    Path tmp;

    private static Optional<Path> chromium() {
        for (String p : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")) {
            if (Files.isExecutable(Path.of(p))) {
                return Optional.of(Path.of(p));
            }
        }
        return Optional.empty();
    }

    @Test
    void pageRendersInHeadlessChromium() throws Exception {
        Optional<Path> chromium = chromium();
        Assumptions.assumeTrue(chromium.isPresent(), "SKIPPED: no chromium binary (Debian package 'chromium'); the page is not "
                + "rendered in a browser here");
        List<Op> ops = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Op invoke = Op.of(i % 4, OpType.INVOKE, Fn.SEND, 0, i * 50_000_000L).withValues(List.of(new Msg("k", -1, i)));
            ops.add(invoke);
            ops.add(invoke.withType(OpType.OK).withTimes(0, i * 50_000_000L + 20_000_000L).withValues(List.of(new Msg("k", i, i))));
        }
        ops.add(Op.of(Op.NEMESIS_PROCESS, OpType.INFO, Fn.NEMESIS, 0, 500_000_000L).withNote("start 0 pause-one: SIGSTOP [1]"));
        ops.add(Op.of(Op.NEMESIS_PROCESS, OpType.INFO, Fn.NEMESIS, 0, 1_500_000_000L).withNote("heal 0 pause-one: SIGCONT [1]"));
        History h = History.of(ops);
        Path page = tmp.resolve("index.html");
        Files.writeString(page, ReportPage.render("chromium check", "replay", h, QueueChecker.check(h, CheckerConfig.basaltDefaults()),
                List.of()), StandardCharsets.UTF_8);

        String dom = run(chromium.get(), "--dump-dom", page.toUri().toString());
        assertEquals(4, dom.split("<svg").length - 1, "four charts in the DOM Chromium built");
        assertTrue(dom.contains("<polyline"), "chart lines");
        assertTrue(dom.split("<rect").length - 1 >= 50, "operation bars");

        Path png = tmp.resolve("page.png");
        run(chromium.get(), "--screenshot=" + png, "--window-size=1200,1400", page.toUri().toString());
        assertTrue(Files.size(png) > 10_000, "a screenshot with content: " + Files.size(png) + " bytes");
    }

    private String run(Path chromium, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--user-data-dir=" + tmp.resolve("profile")));
        cmd.addAll(List.of(args));
        Path out = tmp.resolve("chromium.out");
        Process p = new ProcessBuilder(cmd).redirectError(tmp.resolve("chromium.err").toFile()).redirectOutput(out.toFile()).start();
        if (!p.waitFor(CHROMIUM_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("chromium did not finish within " + CHROMIUM_TIMEOUT_MS + " ms");
        }
        assertEquals(0, p.exitValue(), "chromium failed: " + Files.readString(tmp.resolve("chromium.err")));
        return Files.readString(out);
    }
}

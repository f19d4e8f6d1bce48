package dev.basalt.jepsen.run;

import dev.basalt.jepsen.checker.CheckResult;
import dev.basalt.jepsen.schedule.Schedule;
import java.nio.file.Path;
import java.util.List;

/**
 * The outcome of one schedule run: the checker's verdict, problems the run itself met (a node
 * that did not come back, a replica that could not be read: each one fails the run too), and
 * where the report is.
 *
 * <p>Thread-safety: immutable record.
 */
public record RunResult(Schedule schedule, CheckResult check, List<String> problems, Path reportDir, long durationMs, String replay) {
    public RunResult {
        problems = List.copyOf(problems);
    }

    public boolean ok() {
        return check.valid() && problems.isEmpty();
    }

    /** The verdict first, then the problems (before the long replay line, so a cut-off log still shows them). */
    public String summary() {
        return (ok() ? "VALID" : "INVALID") + (problems.isEmpty() ? "" : " (" + problems.size() + " run problems)")
                + " in " + durationMs + " ms: " + check.summary()
                + (problems.isEmpty() ? "" : "\n  problems: " + problems)
                + "\n  schedule: " + schedule.encode() + "\n  replay: " + replay + "\n  report: " + reportDir.resolve("index.html");
    }
}

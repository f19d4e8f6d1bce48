package dev.basalt.e2e;

import dev.basalt.harness.ClassDataArchive;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CLI's JVM as bin/basalt starts it for a one-shot command: serial GC, C1 only, and a
 * class-data archive of the classes it loads ({@link ClassDataArchive#CLI}, this test run's own).
 */
final class CliJvm {
    private CliJvm() {}

    /** The command up to and including the main class, for a JVM whose exit is not waited for here. */
    static List<String> command() {
        return command(ClassDataArchive.CLI.mapOnly());
    }

    private static List<String> command(List<String> archiveOptions) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(archiveOptions);
        cmd.addAll(List.of("-cp", ClassDataArchive.CLI.classPath(), "dev.basalt.cli.BasaltCli"));
        return cmd;
    }

    /** A one-shot command with its arguments; the caller reports its exit ({@link ClassDataArchive.Use#exited}). */
    record Launch(List<String> argv, ClassDataArchive.Use archive) {
    }

    static Launch launch(List<String> args) {
        ClassDataArchive.Use use = ClassDataArchive.CLI.next();
        List<String> cmd = command(use.options());
        cmd.addAll(args);
        return new Launch(cmd, use);
    }
}

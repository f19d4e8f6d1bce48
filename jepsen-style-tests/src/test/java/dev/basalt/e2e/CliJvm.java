package dev.basalt.e2e;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * The CLI's JVM as bin/basalt starts it for a one-shot command (serial GC, C1 only, a class-data
 * archive of the classes it loads), on the jars of this test run's class path.
 *
 * <p>The archive is this test JVM's own (the class path differs from bin/basalt's): the first
 * command run through {@link #run} writes it as it exits and later ones map it, as bin/basalt's
 * first command after a build does. Commands that start before it exists run without it.
 */
final class CliJvm {
    /**
     * Only jars: a directory cannot be archived, and the test classes' logback-test.xml and the
     * broker jar's logback.xml would make the CLI parse XML that bin/basalt's class path does not have.
     */
    private static final String CLASS_PATH = Arrays.stream(
                    System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")).split(File.pathSeparator))
            .filter(e -> e.endsWith(".jar") && !Path.of(e).getFileName().toString().startsWith("broker-"))
            .collect(Collectors.joining(File.pathSeparator));
    private static final Path ARCHIVE = Path.of("target", "cli-class-data", "cli-" + ProcessHandle.current().pid() + ".jsa")
            .toAbsolutePath();
    private static final List<String> QUIET = List.of("-Xlog:cds=off", "-Xlog:cds+dynamic=off");
    private static final AtomicBoolean writing = new AtomicBoolean();

    private CliJvm() {}

    /** The command up to and including the main class, mapping the archive if it is written yet. */
    static List<String> command() {
        return command(Files.isRegularFile(ARCHIVE) ? "-XX:SharedArchiveFile=" + ARCHIVE : null);
    }

    private static List<String> command(String archiveFlag) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        if (archiveFlag != null) {
            cmd.add(archiveFlag);
            cmd.addAll(QUIET);
        }
        cmd.addAll(List.of("-cp", CLASS_PATH, "dev.basalt.cli.BasaltCli"));
        return cmd;
    }

    /** A CLI command being prepared: {@link #argv} to start, then {@link #exited} once it has. */
    static final class Launch {
        final List<String> argv;
        private final Path writes;

        private Launch(List<String> argv, Path writes) {
            this.argv = argv;
            this.writes = writes;
        }

        /** Moves a written archive into place, whole; one from a JVM that failed is dropped (the next command writes one). */
        void exited(int exitCode) throws IOException {
            if (writes == null) {
                return;
            }
            if (exitCode < 128 && Files.isRegularFile(writes) && Files.size(writes) > 0) {
                Files.move(writes, ARCHIVE, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } else {
                Files.deleteIfExists(writes);
                writing.set(false);
            }
        }
    }

    /** A one-shot command: the first one writes the archive. */
    static Launch launch(List<String> args) throws IOException {
        Path writes = null;
        List<String> cmd;
        if (!Files.isRegularFile(ARCHIVE) && writing.compareAndSet(false, true)) {
            Files.createDirectories(ARCHIVE.getParent());
            writes = ARCHIVE.resolveSibling(ARCHIVE.getFileName() + ".partial");
            cmd = command("-XX:ArchiveClassesAtExit=" + writes);
        } else {
            cmd = command();
        }
        cmd.addAll(args);
        return new Launch(cmd, writes);
    }
}

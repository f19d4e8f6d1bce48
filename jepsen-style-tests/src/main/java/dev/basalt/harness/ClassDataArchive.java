package dev.basalt.harness;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * A class-data archive for the JVMs a test run starts of one kind (nodes, CLI commands), as
 * bin/basalt keeps one for the CLI: the first JVM started writes it as it exits, and the JVMs
 * started after map their classes from it instead of reading and verifying them again (a node is
 * ready in about 2.5 s instead of 4-4.5 s on 2 cores; a CLI command takes 1.5 s instead of 2.5 s).
 *
 * <p>The archive is this test JVM's own, under {@code target/class-data/}: it holds the classes of
 * this run's class path, which differs between runs and from bin/basalt's. JVMs started while it is
 * being written run without it. A JVM ended by SIGKILL may have written part of it: that part is
 * dropped and the next JVM writes it again. The JVM quietly ignores an archive it cannot use.
 *
 * <p>The JVM archives only classes from jars. The class path handed out is this run's jars; when
 * any other directory than this module's own classes is on the class path (a reactor build that
 * stopped before {@code package}), there is no archive and the whole class path is used.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
public final class ClassDataArchive {
    private static final List<String> QUIET = List.of("-Xlog:cds=off", "-Xlog:cds+dynamic=off");

    /** Nodes: the jars; no test classes, so the test logging configuration is named instead. */
    public static final ClassDataArchive NODES = new ClassDataArchive("node", jar -> true);
    /**
     * CLI commands: the jars but the broker's, whose logback.xml would make the CLI parse XML that
     * bin/basalt's class path does not have (the CLI sets its logging in code).
     */
    public static final ClassDataArchive CLI = new ClassDataArchive("cli", jar -> !Path.of(jar).getFileName().toString().startsWith("broker-"));

    private final String classPath;
    private final Path archive;
    private final AtomicBoolean writing = new AtomicBoolean();

    private ClassDataArchive(String kind, Predicate<String> keepJar) {
        String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> entries = Arrays.asList(full.split(File.pathSeparator));
        Path ownClasses = Path.of("target").toAbsolutePath();
        boolean jarsOnly = entries.stream().allMatch(e -> e.endsWith(".jar") || Path.of(e).toAbsolutePath().startsWith(ownClasses));
        if (jarsOnly && !"0".equals(System.getenv("BASALT_CDS"))) {
            classPath = entries.stream().filter(e -> e.endsWith(".jar") && keepJar.test(e)).collect(Collectors.joining(File.pathSeparator));
            archive = Path.of("target", "class-data", kind + "-" + ProcessHandle.current().pid() + ".jsa").toAbsolutePath();
            // 40 MB a run otherwise, until `mvn clean`. JVMs still running keep their mapping (Linux).
            Path gone = archive;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    Files.deleteIfExists(gone);
                    Files.deleteIfExists(gone.resolveSibling(gone.getFileName() + ".partial"));
                } catch (IOException ignored) {
                    // left for `mvn clean`
                }
            }, "class-data-cleanup-" + kind));
        } else {
            classPath = full;
            archive = null;
        }
    }

    /** The class path for these JVMs. */
    public String classPath() {
        return classPath;
    }

    /** Options that map the archive if it is written yet, for a JVM whose exit is not reported. */
    public List<String> mapOnly() {
        if (archive == null || !Files.isRegularFile(archive)) {
            return List.of();
        }
        List<String> options = new ArrayList<>(List.of("-XX:SharedArchiveFile=" + archive));
        options.addAll(QUIET);
        return options;
    }

    /** What the next JVM of this kind does with the archive: its JVM options, and {@link Use#exited} once it has exited. */
    public Use next() {
        if (archive == null) {
            return new Use(List.of(), null);
        }
        if (Files.isRegularFile(archive)) {
            return new Use(mapOnly(), null);
        }
        if (!writing.compareAndSet(false, true)) {
            return new Use(List.of(), null);
        }
        try {
            Files.createDirectories(archive.getParent());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path writes = archive.resolveSibling(archive.getFileName() + ".partial");
        List<String> options = new ArrayList<>(List.of("-XX:ArchiveClassesAtExit=" + writes));
        options.addAll(QUIET);
        return new Use(options, writes);
    }

    /** One JVM's part: the options to start it with; {@link #exited} when it is gone. */
    public final class Use {
        private final List<String> options;
        private final Path writes;

        private Use(List<String> options, Path writes) {
            this.options = List.copyOf(options);
            this.writes = writes;
        }

        public List<String> options() {
            return options;
        }

        /**
         * The JVM exited with {@code exitCode}: an archive it wrote is moved into place whole. Only
         * from a JVM that succeeded (0) or shut down on SIGTERM (143): one killed (137) may have
         * written part of it, and one that failed early loaded few of the classes the others need.
         * Its file is dropped for the next JVM to write.
         */
        public void exited(int exitCode) {
            if (writes == null) {
                return;
            }
            try {
                if ((exitCode == 0 || exitCode == 143) && Files.isRegularFile(writes) && Files.size(writes) > 0) {
                    Files.move(writes, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    return;
                }
                Files.deleteIfExists(writes);
            } catch (IOException e) {
                System.err.println("class-data archive " + writes + " not kept: " + e); // the next JVM writes one
            }
            writing.set(false);
        }
    }
}

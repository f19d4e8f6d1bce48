package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.NodeProcess;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The documented ways to run a cluster, run as a user runs them: {@code bin/basalt dev-cluster}
 * with the command line from docs/operations.md, and {@code bin/basalt start --config} with the
 * commands and files from config/README.md, each node its own JVM started by the launcher script.
 *
 * <p>Ports: the documented commands use fixed ports (9400-9498). This machine is shared with other
 * test runs and engineers, so the test appends {@code --base-port B} to the dev-cluster command
 * (B chosen so every port it needs is free) and rewrites the example files' 127.0.0.1 ports and
 * data.dir into a temporary copy, changing nothing else; the commands and every other key are
 * exactly the documented ones.
 *
 * <p>Every process started here is stopped by PID in {@link #stopEverything()}, even on failure.
 * Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=LauncherE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LauncherE2ETest {
    private static final Path ROOT = Path.of(System.getProperty("basalt.repo.root", "..")).toAbsolutePath().normalize();
    private static final Path LAUNCHER = ROOT.resolve("bin/basalt");
    private static final Pattern BOOTSTRAP = Pattern.compile("^bootstrap: (\\S+)$", Pattern.MULTILINE);
    private static final Duration READY = Duration.ofSeconds(60);

    @TempDir
    Path tmp;
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (Process p : started) {
            if (p.isAlive()) {
                p.destroy();
            }
        }
        for (Process p : started) {
            if (!p.waitFor(40, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        // dev-cluster's nodes are its children: if it was SIGKILLed they would survive it; stop them by their pid files.
        try (var dirs = Files.walk(tmp, 3)) {
            for (Path pidFile : dirs.filter(f -> f.getFileName().toString().equals("pid")).toList()) {
                long pid = Long.parseLong(Files.readString(pidFile).trim());
                ProcessHandle.of(pid).filter(h -> h.info().commandLine().orElse("").contains(tmp.toString()))
                        .ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | NumberFormatException ignored) {
            // nothing left to stop
        }
    }

    private Process launch(Path out, String... args) throws IOException {
        assertTrue(Files.isRegularFile(ROOT.resolve("broker/target/broker-0.1.0-SNAPSHOT.jar"))
                && Files.isDirectory(ROOT.resolve("client/target/lib")), "build the jars first (./mvnw package); bin/basalt would");
        List<String> cmd = new ArrayList<>();
        cmd.add(LAUNCHER.toString());
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile());
        // Several nodes share this machine with other test runs: a smaller heap than bin/basalt's 1g default.
        pb.environment().put("BASALT_HEAP", "384m");
        Process p = pb.start();
        started.add(p);
        return p;
    }

    /** The documented dev-cluster command line (docs/operations.md), as arguments after bin/basalt. */
    private static List<String> documentedDevClusterCommand(int nodes) throws IOException {
        String doc = Files.readString(ROOT.resolve("docs/operations.md"));
        Matcher m = Pattern.compile("^bin/basalt (dev-cluster --nodes " + nodes + ")$", Pattern.MULTILINE).matcher(doc);
        assertTrue(m.find(), "docs/operations.md documents `bin/basalt dev-cluster --nodes " + nodes + "` on a line of its own");
        return new ArrayList<>(List.of(m.group(1).split(" ")));
    }

    /** A base port B for which every dev-cluster port of nodes 1..n (B+10K, B+10K+1, B+10K+8) is free now. */
    private static int freeBasePort(int nodes) {
        Random r = new Random();
        // Below the ephemeral range: an outgoing connection of a node already started could take a
        // port inside it before the node meant to listen on it binds it (found as a CI failure:
        // "cannot start the client listener on 127.0.0.1:48730").
        int ceiling = dev.basalt.common.Sysctl.serverPortCeiling(20_000, dev.basalt.common.Sysctl.ephemeralFirstPort());
        int blocks = (ceiling - 20_000) / 100 - 1;
        for (int attempt = 0; attempt < 200; attempt++) {
            int base = 20_000 + 100 * r.nextInt(blocks);
            boolean ok = true;
            for (int k = 1; k <= nodes && ok; k++) {
                for (int off : new int[] {0, 1, 8}) {
                    ok &= isFree(base + 10 * k + off);
                }
            }
            if (ok) {
                return base;
            }
        }
        throw new IllegalStateException("no free port block");
    }

    private static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void awaitOutput(Process dc, Path out, String text) throws Exception {
        long deadline = System.nanoTime() + READY.toNanos();
        while (!Files.readString(out).contains(text)) {
            assertTrue(dc.isAlive(), "dev-cluster exited:\n" + Files.readString(out));
            assertTrue(System.nanoTime() < deadline, "no '" + text + "' from dev-cluster:\n" + Files.readString(out));
            Thread.sleep(100);
        }
    }

    /** Waits for the bootstrap line; dev-cluster's own --ready-timeout-s is shorter, so its not-ready report shows in failures. */
    private static String awaitBootstrap(Process p, Path out) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + READY.plusSeconds(15).toNanos();
        while (System.nanoTime() < deadline) {
            String text = Files.readString(out);
            Matcher m = BOOTSTRAP.matcher(text);
            if (m.find()) {
                return m.group(1);
            }
            if (!p.isAlive()) {
                throw new AssertionError("dev-cluster exited with " + p.exitValue() + " before printing the bootstrap:\n" + text);
            }
            Thread.sleep(200);
        }
        throw new AssertionError("dev-cluster printed no bootstrap within " + READY + ":\n" + Files.readString(out));
    }

    /** Runs the documented dev-cluster command, writes through the printed bootstrap, then SIGTERM: exit 0, no node left. */
    private void devClusterRoundTrip(int nodes, int replicationFactor) throws Exception {
        List<String> args = documentedDevClusterCommand(nodes);
        Path dir = tmp.resolve("dev");
        int base = freeBasePort(nodes);
        args.addAll(List.of("--dir", dir.toString(), "--base-port", String.valueOf(base), "--ready-timeout-s",
                String.valueOf(READY.toSeconds())));
        Path out = tmp.resolve("dev-cluster.out");
        Process dc = launch(out, args.toArray(String[]::new));
        String bootstrap = awaitBootstrap(dc, out);
        List<String> expected = new ArrayList<>();
        for (int k = 1; k <= nodes; k++) {
            expected.add("127.0.0.1:" + (base + 10 * k));
        }
        assertEquals(String.join(",", expected), bootstrap);
        List<Long> nodePids = new ArrayList<>();
        for (int k = 1; k <= nodes; k++) {
            assertTrue(Files.exists(dir.resolve("node-" + k + "/node.log")));
            nodePids.add(Long.parseLong(Files.readString(dir.resolve("node-" + k + "/pid")).trim()));
        }

        produceAndReadBack(bootstrap, replicationFactor);

        // kill -9 a node, then ask dev-cluster to start it again (docs/operations.md): it is supervised
        // like the others (new pid file, log appended, stopped on SIGTERM with the rest).
        long victim = nodePids.get(nodes - 1);
        ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
        awaitOutput(dc, out, "node " + nodes + " (pid " + victim + ") exited");
        Files.createFile(dir.resolve("node-" + nodes + "/restart"));
        awaitOutput(dc, out, "node " + nodes + " started again");
        long restarted = Long.parseLong(Files.readString(dir.resolve("node-" + nodes + "/pid")).trim());
        assertTrue(restarted != victim, "a new pid file");
        nodePids.add(restarted);
        long readyBy = System.nanoTime() + READY.toNanos();
        while (httpStatus(base + 10 * nodes + 8, "/ready") != 200) {
            assertTrue(System.nanoTime() < readyBy, "the restarted node never became ready:\n" + Files.readString(out));
            Thread.sleep(200);
        }
        assertFalse(Files.exists(dir.resolve("node-" + nodes + "/restart")), "the request is consumed");

        dc.destroy(); // SIGTERM, as Ctrl-C's SIGINT: both stop every node
        assertTrue(dc.waitFor(60, TimeUnit.SECONDS), "dev-cluster did not exit after SIGTERM:\n" + Files.readString(out));
        assertEquals(0, dc.exitValue(), Files.readString(out));
        for (long pid : nodePids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "node pid " + pid + " left running");
        }
        assertTrue(Files.readString(out).contains("stopped"), Files.readString(out));
    }

    private static void produceAndReadBack(String bootstrap, int replicationFactor) throws Exception {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bootstrap.servers", bootstrap);
        try (var admin = new dev.basalt.client.Admin(c)) {
            dev.basalt.client.Admin.getAll(admin.createTopics(List.of(new dev.basalt.client.admin.NewTopic("launcher", 3,
                    replicationFactor, Map.of("min.insync.replicas", String.valueOf(Math.min(2, replicationFactor))))), false),
                    Duration.ofSeconds(20));
        }
        AckedWrites w = new AckedWrites(bootstrap, "launcher", 3, "l", Map.of(), 32, 0).start();
        assertTrue(w.awaitAcks(300, System.nanoTime() - 1, Duration.ofSeconds(20)), w.summary());
        w.stop(Duration.ofSeconds(30));
        var log = AckedWrites.readAll(bootstrap, "launcher", 3, Duration.ofSeconds(20));
        assertEquals(List.of(), AckedWrites.missing(w.acks(), log));
    }

    @Test
    void devClusterOfOneNodeServesAndStopsOnSigterm() throws Exception {
        // The documented command is for 3 nodes; the same command with --nodes 1 works on a one-node build too.
        List<String> args = documentedDevClusterCommand(3);
        assertEquals("3", args.get(args.indexOf("--nodes") + 1));
        Path dir = tmp.resolve("dev1");
        int base = freeBasePort(1);
        Path out = tmp.resolve("dev1.out");
        Process dc = launch(out, "dev-cluster", "--nodes", "1", "--dir", dir.toString(), "--base-port", String.valueOf(base));
        String bootstrap = awaitBootstrap(dc, out);
        assertEquals("127.0.0.1:" + (base + 10), bootstrap);
        String text = Files.readString(out);
        assertTrue(text.contains("http://127.0.0.1:" + (base + 18)), "admin URL printed:\n" + text);
        assertEquals(200, httpStatus(base + 18, "/ready"));
        long nodePid = Long.parseLong(Files.readString(dir.resolve("node-1/pid")).trim());
        produceAndReadBack(bootstrap, 1);
        dc.destroy();
        assertTrue(dc.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, dc.exitValue(), Files.readString(out));
        assertFalse(ProcessHandle.of(nodePid).map(ProcessHandle::isAlive).orElse(false), "the node was stopped");
        assertTrue(Files.readString(dir.resolve("node-1/node.log")).contains("stopped"), "the node shut down gracefully");
    }

    /**
     * Only {@code perf e2e} gets the eager, synchronous JIT flags: they shorten its warm-up, but
     * would stall a pipelined stream or lengthen a one-shot command. {@code perf} runs G1 as the
     * nodes do; the one-shot commands serial GC and a class-data archive. A stand-in "java" prints
     * the command line the launcher built, so no JVM runs (and no archive is ever written).
     */
    @Test
    void onlyPerfE2eCompilesSynchronously() throws Exception {
        Path fakeJava = fakeJava();
        Map<List<String>, Boolean> expected = new LinkedHashMap<>();
        java.util.Set<List<String>> perfCommands = java.util.Set.of(List.of("perf", "e2e", "--topic", "t"),
                List.of("-b", "127.0.0.1:1", "perf", "e2e", "--topic", "t"), List.of("--command-config", "perf", "-v", "perf", "e2e"),
                List.of("perf", "-b", "127.0.0.1:1", "e2e"), List.of("perf", "-v", "e2e", "--topic", "t"), List.of("perf", "perf", "e2e"),
                List.of("perf", "produce", "--topic", "e2e"));
        expected.put(List.of("perf", "e2e", "--topic", "t"), true);
        expected.put(List.of("-b", "127.0.0.1:1", "perf", "e2e", "--topic", "t"), true);
        expected.put(List.of("--command-config", "perf", "-v", "perf", "e2e"), true);
        expected.put(List.of("perf", "-b", "127.0.0.1:1", "e2e"), true);
        expected.put(List.of("perf", "-v", "e2e", "--topic", "t"), true);
        expected.put(List.of("perf", "perf", "e2e"), false);
        expected.put(List.of("perf", "produce", "--topic", "e2e"), false);
        expected.put(List.of("-b", "perf", "e2e"), false); // "perf" is the bootstrap value, e2e no command
        expected.put(List.of("produce", "--topic", "perf", "e2e"), false);
        expected.put(List.of("topics", "--list"), false);
        for (Map.Entry<List<String>, Boolean> c : expected.entrySet()) {
            Path out = tmp.resolve("argv.out");
            ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(LAUNCHER.toString())))
                    .directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
            pb.command().addAll(c.getKey());
            pb.environment().put("JAVA", fakeJava.toString());
            pb.environment().put("BASALT_CDS_DIR", tmp.resolve("fake-cds").toString());
            pb.environment().remove("BASALT_JAVA_OPTS");
            Process p = pb.start();
            started.add(p);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            List<String> argv = Files.readAllLines(out);
            assertEquals(0, p.exitValue(), String.join("\n", argv));
            assertTrue(argv.contains("dev.basalt.cli.BasaltCli"), c.getKey() + " ran the CLI: " + argv);
            assertEquals(c.getValue(), argv.contains("-Xbatch"), c.getKey() + ": " + argv);
            assertEquals(c.getValue(), argv.contains("-XX:CompileThresholdScaling=0.01"), c.getKey() + ": " + argv);
            assertTrue(argv.contains("-XX:TieredStopAtLevel=1"), c.getKey() + ": " + argv);
            boolean perf = perfCommands.contains(c.getKey());
            assertEquals(perf, argv.contains("-XX:+UseG1GC"), c.getKey() + ": " + argv);
            assertEquals(!perf, argv.contains("-XX:+UseSerialGC"), c.getKey() + ": " + argv);
            assertEquals(!perf, argv.stream().anyMatch(a -> a.startsWith("-XX:ArchiveClassesAtExit=")), c.getKey() + ": " + argv);
            assertEquals(c.getKey(), argv.subList(argv.indexOf("dev.basalt.cli.BasaltCli") + 1, argv.size()));
        }
        try (var left = Files.list(tmp.resolve("fake-cds"))) {
            assertEquals(List.of(), left.toList(), "a run that wrote no archive leaves no partial one");
        }
    }

    /** BASALT_JAVA_OPTS of {@code pb}: {@code javaOpts}, or unset when null. */
    private static void javaOpts(ProcessBuilder pb, String javaOpts) {
        if (javaOpts == null) {
            pb.environment().remove("BASALT_JAVA_OPTS");
        } else {
            pb.environment().put("BASALT_JAVA_OPTS", javaOpts);
        }
    }

    /** A stand-in "java" that prints the command line the launcher built, one argument per line. */
    private Path fakeJava() throws IOException {
        Path fakeJava = tmp.resolve("fake-java");
        Files.writeString(fakeJava, """
                #!/usr/bin/env bash
                for a in "$@"; do [[ "$a" == -XshowSettings:properties ]] && { echo 'java.specification.version = 17' >&2; exit 0; }; done
                printf '%s\n' "$@"
                """);
        assertTrue(fakeJava.toFile().setExecutable(true));
        return fakeJava;
    }

    /**
     * {@code bin/basalt start} runs the node with a fixed heap that is touched whole at start
     * (docs/broker.md, "Heap pre-touch"); {@code BASALT_JAVA_OPTS=-XX:-AlwaysPreTouch} comes later
     * on the command line, so it wins.
     */
    @Test
    void nodesPreTouchTheirFixedHeap_unlessTurnedOff() throws Exception {
        Path fakeJava = fakeJava();
        for (String javaOpts : new String[] {null, "-XX:-AlwaysPreTouch"}) {
            Path out = tmp.resolve("start-argv.out");
            ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "start", "--config", "node.properties")
                    .directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
            pb.environment().put("JAVA", fakeJava.toString());
            pb.environment().put("BASALT_HEAP", "384m");
            javaOpts(pb, javaOpts);
            Process p = pb.start();
            started.add(p);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            List<String> argv = Files.readAllLines(out);
            assertEquals(0, p.exitValue(), String.join("\n", argv));
            int main = argv.indexOf("dev.basalt.broker.BasaltNode");
            assertTrue(main > 0, "ran the node: " + argv);
            assertEquals(List.of("--config", "node.properties"), argv.subList(main + 1, argv.size()));
            assertTrue(argv.contains("-Xms384m") && argv.contains("-Xmx384m"), "a fixed heap: " + argv);
            int on = argv.indexOf("-XX:+AlwaysPreTouch");
            assertTrue(on > 0 && on < main, "pre-touch before the main class: " + argv);
            if (javaOpts != null) {
                int off = argv.indexOf(javaOpts);
                assertTrue(off > on && off < main, "BASALT_JAVA_OPTS after the launcher's flag, so it wins: " + argv);
            }
        }
    }

    /**
     * The CLI's class-data archive, with real JVMs against a real node: the first command writes it
     * (and prints nothing more), the next maps the client's classes from it, and a jar newer than the
     * archive (a rebuild) has the next command write it again.
     */
    @Test
    void theFirstCliCommandWritesTheClassArchive_andTheNextMapsIt() throws Exception {
        Path cds = tmp.resolve("cds");
        try (NodeProcess node = NodeProcess.singleNode(tmp.resolve("node"), Map.of()).start(READY)) {
            String created = cli(cds, null, "-b", node.bootstrap(), "topics", "--create", "--topic", "cds", "--partitions", "1");
            assertEquals(1, created.lines().count(), "nothing but the answer on stdout: " + created);
            assertTrue(created.startsWith("Created topic cds"), created);
            Path archive = onlyArchive(cds);

            // A command stopped by a signal to the script while it writes the archive: the JVM (the
            // script's child in that run) stops too, with the exit code an exec'd JVM would have,
            // and nothing is kept.
            Path stopped = tmp.resolve("cds-stopped");
            Process script = startCli(stopped, tmp.resolve("stopped.out"), "-b", node.bootstrap(), "consume", "--topic", "cds",
                    "--from-beginning");
            long seenBy = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            java.util.Optional<ProcessHandle> jvm = java.util.Optional.empty();
            while (jvm.isEmpty() && System.nanoTime() < seenBy) {
                jvm = script.children().filter(c -> c.info().command().orElse("").endsWith("java")).findFirst();
                Thread.sleep(100);
            }
            assertTrue(jvm.isPresent(), "the consume JVM runs as the script's child while it writes the archive");
            Thread.sleep(2000); // consuming
            script.destroy(); // SIGTERM to the script's pid
            assertTrue(script.waitFor(30, TimeUnit.SECONDS), "the script exits");
            assertEquals(143, script.exitValue(), Files.readString(tmp.resolve("stopped.out")));
            assertTrue(jvm.get().onExit().get(30, TimeUnit.SECONDS) != null && !jvm.get().isAlive(), "the JVM stopped with it");
            try (var left = Files.list(stopped)) {
                assertEquals(List.of(), left.toList(), "no archive from a stopped command, and no partial one");
            }
            // Nor from a command that failed (it loaded few of the classes a working command needs).
            Process failed = startCli(stopped, tmp.resolve("failed.out"), "-b", node.bootstrap(), "topics", "--describe", "--topic", "nope");
            assertTrue(failed.waitFor(60, TimeUnit.SECONDS));
            assertEquals(1, failed.exitValue(), Files.readString(tmp.resolve("failed.out")));
            try (var left = Files.list(stopped)) {
                assertEquals(List.of(), left.toList(), "no archive from a failed command");
            }

            Path classes = tmp.resolve("classes.txt");
            String listed = cli(cds, "-Xlog:class+load=info:file=" + classes, "-b", node.bootstrap(), "topics", "--list");
            assertEquals(List.of("cds"), listed.lines().toList(), "nothing but the answer on stdout");
            String loaded = Files.readString(classes);
            assertTrue(loaded.contains("dev.basalt.client.Admin source: shared objects file"), "mapped from the archive: "
                    + loaded.lines().filter(l -> l.contains("dev.basalt.client.Admin ")).toList());

            Files.setLastModifiedTime(archive, java.nio.file.attribute.FileTime.fromMillis(0)); // older than every jar
            cli(cds, null, "-b", node.bootstrap(), "topics", "--list");
            assertTrue(Files.getLastModifiedTime(onlyArchive(cds)).toMillis() > 0, "written again");
        }
    }

    /** bin/basalt with {@code args}, its archive in {@code cds}, stdout and stderr to {@code out}. */
    private Process startCli(Path cds, Path out, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().put("BASALT_CDS_DIR", cds.toString());
        pb.environment().remove("BASALT_CDS");
        pb.environment().remove("BASALT_JAVA_OPTS");
        Process p = pb.start();
        started.add(p);
        return p;
    }

    private String cli(Path cds, String javaOpts, String... args) throws Exception {
        Path out = tmp.resolve("cli.out");
        Path err = tmp.resolve("cli.err");
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("BASALT_CDS_DIR", cds.toString());
        pb.environment().remove("BASALT_CDS");
        javaOpts(pb, javaOpts);
        Process p = pb.start();
        started.add(p);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "bin/basalt " + cmd);
        assertEquals(0, p.exitValue(), Files.readString(err));
        assertEquals("", Files.readString(err), "nothing on stderr");
        return Files.readString(out);
    }

    private static Path onlyArchive(Path cds) throws IOException {
        try (var files = Files.list(cds)) {
            List<Path> all = files.toList();
            assertEquals(1, all.size(), "one archive, no partial one left: " + all);
            assertTrue(all.get(0).getFileName().toString().matches("cli-\\d+\\.jsa"), all.toString());
            return all.get(0);
        }
    }

    @Test
    void devClusterRefusesPortsAlreadyTaken() throws Exception {
        int base = freeBasePort(2);
        try (ServerSocket squatter = new ServerSocket()) {
            squatter.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), base + 21));
            Path out = tmp.resolve("taken.out");
            Process dc = launch(out, "dev-cluster", "--nodes", "2", "--dir", tmp.resolve("taken").toString(),
                    "--base-port", String.valueOf(base));
            assertTrue(dc.waitFor(30, TimeUnit.SECONDS));
            String text = Files.readString(out);
            assertEquals(2, dc.exitValue(), text);
            assertTrue(text.contains(String.valueOf(base + 21)) && text.contains("node 2 controller"), text);
            assertFalse(Files.exists(tmp.resolve("taken/node-1/pid")), "nothing was started");
        }
    }

    @Test
    void devClusterOfThreeNodesFromTheDocumentedCommand() throws Exception {
        devClusterRoundTrip(3, 3);
    }

    @Test
    void threeNodeExampleConfigStartedWithTheReadmeCommands() throws Exception {
        String readme = Files.readString(ROOT.resolve("config/README.md"));
        Matcher m = Pattern.compile("^bin/basalt start --config (config/cluster-combined/node-(\\d)\\.properties)$", Pattern.MULTILINE)
                .matcher(readme);
        Map<Integer, Path> files = new TreeMap<>();
        while (m.find()) {
            files.put(Integer.parseInt(m.group(2)), ROOT.resolve(m.group(1)));
        }
        assertEquals(List.of(1, 2, 3), List.copyOf(files.keySet()), "config/README.md starts nodes 1, 2 and 3");

        // Same files with the 127.0.0.1 ports moved to free ones (one mapping for all three) and data under tmp.
        Map<Integer, Integer> portMap = new TreeMap<>();
        Pattern port = Pattern.compile("127\\.0\\.0\\.1:(\\d+)");
        Map<Integer, Path> rewritten = new TreeMap<>();
        Map<Integer, Integer> adminPort = new TreeMap<>();
        for (var e : files.entrySet()) {
            String text = Files.readString(e.getValue());
            Matcher pm = port.matcher(text);
            StringBuilder sb = new StringBuilder();
            while (pm.find()) {
                int original = Integer.parseInt(pm.group(1));
                int mapped = portMap.computeIfAbsent(original, o -> dev.basalt.harness.Ports.free());
                pm.appendReplacement(sb, "127.0.0.1:" + mapped);
            }
            pm.appendTail(sb);
            String props = sb.toString().replaceAll("(?m)^data\\.dir=.*$",
                    Matcher.quoteReplacement("data.dir=" + tmp.resolve("example/node-" + e.getKey())));
            Matcher admin = Pattern.compile("(?m)^http\\.admin\\.listener=127\\.0\\.0\\.1:(\\d+)$").matcher(props);
            assertTrue(admin.find());
            adminPort.put(e.getKey(), Integer.parseInt(admin.group(1)));
            Path f = tmp.resolve("node-" + e.getKey() + ".properties");
            Files.writeString(f, props, StandardCharsets.UTF_8);
            rewritten.put(e.getKey(), f);
        }
        // The documented format commands, on the rewritten files.
        Matcher fm = Pattern.compile("^bin/basalt storage format --config config/cluster-combined/node-(\\d)\\.properties (.*)$",
                Pattern.MULTILINE).matcher(readme);
        int formatted = 0;
        while (fm.find()) {
            List<String> args = new ArrayList<>(List.of("storage", "format", "--config",
                    rewritten.get(Integer.parseInt(fm.group(1))).toString()));
            args.addAll(Arrays.asList(fm.group(2).trim().split("\\s+")));
            Process f = launch(tmp.resolve("format-" + fm.group(1) + ".out"), args.toArray(String[]::new));
            assertTrue(f.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(0, f.exitValue(), "format of node " + fm.group(1) + ": " + tail(tmp.resolve("format-" + fm.group(1) + ".out")));
            formatted++;
        }
        assertEquals(3, formatted, "config/README.md formats nodes 1, 2 and 3");
        Map<Integer, Process> nodes = new TreeMap<>();
        for (var e : rewritten.entrySet()) {
            nodes.put(e.getKey(), launch(tmp.resolve("node-" + e.getKey() + ".out"), "start", "--config", e.getValue().toString()));
        }
        long deadline = System.nanoTime() + READY.toNanos();
        for (var e : adminPort.entrySet()) {
            while (httpStatus(e.getValue(), "/ready") != 200) {
                Process p = nodes.get(e.getKey());
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    StringBuilder why = new StringBuilder();
                    for (var a : adminPort.entrySet()) {
                        why.append("  node ").append(a.getKey()).append(": ").append(readyBody(a.getValue())).append('\n');
                    }
                    throw new AssertionError("example node " + e.getKey() + " not ready (" + (p.isAlive() ? "running" : "exited "
                            + p.exitValue()) + "); /ready answers:\n" + why + "log of node " + e.getKey() + ":\n"
                            + tail(tmp.resolve("node-" + e.getKey() + ".out")));
                }
                Thread.sleep(200);
            }
        }
        List<String> bootstrap = new ArrayList<>();
        for (int k = 1; k <= 3; k++) {
            bootstrap.add("127.0.0.1:" + portMap.get(9400 + 10 * k));
        }
        produceAndReadBack(String.join(",", bootstrap), 3);
        for (Process p : nodes.values()) {
            p.destroy();
        }
        for (var e : nodes.entrySet()) {
            assertTrue(e.getValue().waitFor(60, TimeUnit.SECONDS), "node " + e.getKey() + " did not stop on SIGTERM");
            assertEquals(0, e.getValue().exitValue(), "node " + e.getKey() + " exit code on SIGTERM");
        }
    }

    private static int httpStatus(int port, String path) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            int code = c.getResponseCode();
            c.disconnect();
            return code;
        } catch (IOException e) {
            return -1;
        }
    }

    private static String readyBody(int port) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + "/ready").toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            int code = c.getResponseCode();
            var in = code >= 400 ? c.getErrorStream() : c.getInputStream();
            return code + " " + (in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            return "no answer (" + e.getMessage() + ")";
        }
    }

    private static String tail(Path f) throws IOException {
        List<String> lines = Files.readAllLines(f, StandardCharsets.ISO_8859_1);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}

package dev.basalt.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One Basalt node running in its own JVM, started from the current classpath, on 127.0.0.1 ports
 * chosen by the harness. The harness owns the process: it stops it by its PID (SIGTERM through
 * {@link Process#destroy()}, SIGKILL through {@link #kill()}, SIGSTOP/SIGCONT through
 * {@link #pause()}/{@link #resume()} with {@code kill -STOP <pid>}), never by name. A node can be
 * started again after it stopped, with the same configuration and data directory.
 *
 * <p>Thread-safety: not thread-safe; one test thread drives a node.
 */
public final class NodeProcess implements AutoCloseable {
    private static final String MAIN_CLASS = "dev.basalt.broker.BasaltNode";
    /**
     * The test run's logging configuration (logback-test.xml, INFO on stderr), named for the node:
     * its class path holds only jars (see {@link ClassDataArchive}), not the test classes.
     */
    private static final java.util.Optional<String> TEST_LOGGING = java.util.Optional
            .ofNullable(NodeProcess.class.getClassLoader().getResource("logback-test.xml"))
            .filter(u -> "file".equals(u.getProtocol()))
            .map(u -> Path.of(URI.create(u.toString())).toString());

    private final int nodeId;
    private final Path dir;
    private final Map<String, String> config;
    private final int clientPort;
    private final int controllerPort;
    private final int httpPort;
    private final List<String> jvmOptions;
    /** The loopback address every listener of this node binds (127.0.0.1, or the node's own 127.0.0.(10+id)). */
    private final String host;
    /** Words put before the java command (e.g. a shell that moves the process into a cgroup, then execs java). */
    private List<String> launchPrefix = List.of();
    private Process process;
    private boolean paused;
    /**
     * The first launch formats a missing or empty data directory (--format-if-missing), as a
     * deployment formats each node once; later launches do not, so a node whose directory was
     * lost refuses to start, as a real one does.
     */
    private boolean formatOnNextLaunch = true;

    private NodeProcess(int nodeId, Path dir, Map<String, String> config, int clientPort, int controllerPort, int httpPort,
                        List<String> jvmOptions, String host) {
        this.host = host;
        this.nodeId = nodeId;
        this.dir = dir;
        this.config = config;
        this.clientPort = clientPort;
        this.controllerPort = controllerPort;
        this.httpPort = httpPort;
        this.jvmOptions = List.copyOf(jvmOptions);
    }

    /** As bin/basalt starts a node by default on a small host: C1 only (see bin/basalt). */
    private static final List<String> DEFAULT_JVM = List.of("-Xmx512m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1");

    /**
     * A node with a complete configuration written by the caller (see {@link Cluster}), its files
     * under {@code dir}. The ports must be the ones {@code config} names; they are kept for the
     * harness's HTTP probes and bootstrap strings.
     */
    public static NodeProcess of(int nodeId, Path dir, Map<String, String> config, int clientPort, int controllerPort, int httpPort,
                                 List<String> jvmOptions) {
        return new NodeProcess(nodeId, dir, new LinkedHashMap<>(config), clientPort, controllerPort, httpPort, jvmOptions, "127.0.0.1");
    }

    /** As {@link #of(int, Path, Map, int, int, int, List)}, for a node whose listeners bind {@code host}. */
    public static NodeProcess of(int nodeId, Path dir, Map<String, String> config, int clientPort, int controllerPort, int httpPort,
                                 List<String> jvmOptions, String host) {
        return new NodeProcess(nodeId, dir, new LinkedHashMap<>(config), clientPort, controllerPort, httpPort, jvmOptions, host);
    }

    /**
     * A combined broker+controller single-node cluster in {@code dir}, on free loopback ports.
     * {@code overrides} are added to (or replace) the generated node properties.
     */
    public static NodeProcess singleNode(Path dir, Map<String, String> overrides) {
        int client = Ports.free();
        int controller = Ports.free();
        int http = Ports.free();
        Map<String, String> cfg = new LinkedHashMap<>();
        cfg.put("node.id", "1");
        cfg.put("process.roles", "broker,controller");
        cfg.put("controller.quorum.voters", "1@127.0.0.1:" + controller);
        cfg.put("listeners", "PLAINTEXT://127.0.0.1:" + client + ",CONTROLLER://127.0.0.1:" + controller);
        cfg.put("http.admin.listener", "127.0.0.1:" + http);
        cfg.put("data.dir", dir.resolve("data").toString());
        cfg.putAll(overrides);
        return new NodeProcess(1, dir, cfg, client, controller, http, DEFAULT_JVM, "127.0.0.1");
    }

    public String bootstrap() {
        return host + ":" + clientPort;
    }

    /** The loopback address this node's listeners bind. */
    public String host() {
        return host;
    }

    /**
     * Words to put before the java command at every launch; the last of them must exec its
     * arguments so that the PID the harness holds is the node's JVM.
     */
    public NodeProcess launchPrefix(List<String> prefix) {
        this.launchPrefix = List.copyOf(prefix);
        return this;
    }

    public int clientPort() {
        return clientPort;
    }

    public int controllerPort() {
        return controllerPort;
    }

    public int httpPort() {
        return httpPort;
    }

    public int nodeId() {
        return nodeId;
    }

    /** The node's configuration as written to its properties file. */
    public Map<String, String> config() {
        return java.util.Collections.unmodifiableMap(config);
    }

    public Path dataDir() {
        return Path.of(config.get("data.dir"));
    }

    public Path logFile() {
        return dir.resolve("node-" + nodeId + ".log");
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Alive and not stopped with SIGSTOP. */
    public boolean isRunning() {
        return isAlive() && !paused;
    }

    public boolean isPaused() {
        return isAlive() && paused;
    }

    /** Writes the properties file and starts the JVM; returns once /ready answers 200. */
    public NodeProcess start(Duration readyTimeout) {
        launch();
        awaitReady(readyTimeout);
        return this;
    }

    /** Writes the properties file and starts the JVM without waiting for readiness. */
    public NodeProcess launch() {
        if (isAlive()) {
            throw new IllegalStateException("node " + nodeId + " already running as pid " + process.pid());
        }
        try {
            Files.createDirectories(dir);
            Path props = dir.resolve("node-" + nodeId + ".properties");
            StringBuilder sb = new StringBuilder();
            config.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
            Files.writeString(props, sb.toString(), StandardCharsets.UTF_8);
            Path tmp = dir.resolve("tmp");
            Files.createDirectories(tmp);
            List<String> cmd = new ArrayList<>(launchPrefix);
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(jvmOptions);
            cmd.add("-Djava.io.tmpdir=" + tmp);
            NativeLibraries.rocksDbDir().ifPresent(d -> cmd.add("-Djava.library.path=" + d));
            ClassDataArchive.Use archive = ClassDataArchive.NODES.next();
            cmd.addAll(archive.options());
            TEST_LOGGING.ifPresent(f -> cmd.add("-Dlogback.configurationFile=" + f));
            cmd.add("-cp");
            cmd.add(ClassDataArchive.NODES.classPath());
            cmd.add(MAIN_CLASS);
            cmd.add("--config");
            cmd.add(props.toString());
            if (formatOnNextLaunch) {
                cmd.add("--format-if-missing");
                formatOnNextLaunch = false;
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()));
            Files.writeString(logFile(), "==== harness: starting node " + nodeId + " at " + java.time.Instant.now() + "\n",
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            try {
                process = pb.start();
            } catch (IOException e) {
                archive.exited(-1);
                throw e;
            }
            process.onExit().thenAccept(p -> archive.exited(p.exitValue()));
            paused = false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + nodeId, e);
        }
        return this;
    }

    /** Whether the next launch may format a missing or empty data directory (the first launch does). */
    public NodeProcess formatIfMissingOnNextLaunch(boolean format) {
        this.formatOnNextLaunch = format;
        return this;
    }

    /** Polls GET /ready until 200, the process dies, or the timeout passes. */
    public void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("node " + nodeId + " exited with " + process.exitValue() + "; log:\n" + tail());
            }
            if (httpStatus("/ready") == 200) {
                return;
            }
            sleepMs(100);
        }
        throw new IllegalStateException("node " + nodeId + " not ready after " + timeout + "; log:\n" + tail());
    }

    /** GET path on the admin port; -1 when nothing answers. */
    public int httpStatus(String path) {
        return httpGet(path).code();
    }

    /** An HTTP answer: status code (-1 when nothing answered) and body. */
    public record HttpAnswer(int code, String body) {
    }

    /** GET path on the admin port, with the body (up to 64 KiB). */
    public HttpAnswer httpGet(String path) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://" + host + ":" + httpPort + path).toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            int code = c.getResponseCode();
            java.io.InputStream in = code >= 400 ? c.getErrorStream() : c.getInputStream();
            String body = in == null ? "" : new String(in.readNBytes(64 << 10), StandardCharsets.UTF_8);
            c.disconnect();
            return new HttpAnswer(code, body);
        } catch (IOException e) {
            return new HttpAnswer(-1, "");
        }
    }

    /** POST path (an operator action) on the admin port, with the body (up to 64 KiB). */
    public HttpAnswer httpPost(String path) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://" + host + ":" + httpPort + path).toURL().openConnection();
            c.setRequestMethod("POST");
            c.setConnectTimeout(500);
            c.setReadTimeout(40_000);
            int code = c.getResponseCode();
            java.io.InputStream in = code >= 400 ? c.getErrorStream() : c.getInputStream();
            String body = in == null ? "" : new String(in.readNBytes(64 << 10), StandardCharsets.UTF_8);
            c.disconnect();
            return new HttpAnswer(code, body);
        } catch (IOException e) {
            return new HttpAnswer(-1, e.toString());
        }
    }

    /** Waits for the process to exit on its own (a refused start); its exit code, or -1 if still running after timeout. */
    public int awaitExit(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** Why the node is not ready, from /ready's body; "ready" when it is. */
    public String readiness() {
        if (!isAlive()) {
            return process == null ? "not started" : "exited with " + process.exitValue();
        }
        if (paused) {
            return "paused (SIGSTOP)";
        }
        HttpAnswer a = httpGet("/ready");
        return a.code() < 0 ? "admin port not answering" : a.body().trim();
    }

    /**
     * Sends one line to the node's standard input: the test-only control channel of
     * {@code dev.basalt.broker.testsupport.TestHooks} ({@code lazyfs-crash}, {@code clock-offset <ms>}),
     * read only when the node runs with a {@code -Dbasalt.test.*} property.
     */
    public void control(String line) {
        if (!isAlive()) {
            throw new IllegalStateException("node " + nodeId + " is not running; cannot send '" + line + "'");
        }
        try {
            java.io.OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot send '" + line + "' to node " + nodeId, e);
        }
    }

    /**
     * The test-only lazyfs crash: the node discards every write it did not fsync and halts
     * ({@code lazyfs-crash} on its standard input); waits until the process is gone, at most
     * {@code timeout}, then kills it (a node without the lazyfs property ignores the line).
     *
     * @return the exit code (86 for a lazyfs crash), or -1 when it had to be killed
     */
    public int crashLosingUnsynced(Duration timeout) {
        control("lazyfs-crash");
        try {
            if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                return process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        kill();
        return -1;
    }

    /** SIGSTOP by PID: the process freezes (sockets stay open, nothing answers). */
    public void pause() {
        signal("STOP");
        paused = true;
    }

    /** SIGCONT by PID after {@link #pause()}. */
    public void resume() {
        signal("CONT");
        paused = false;
    }

    private void signal(String name) {
        if (!isAlive()) {
            throw new IllegalStateException("node " + nodeId + " is not running; cannot send SIG" + name);
        }
        try {
            Process k = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).redirectErrorStream(true).start();
            if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
                throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed: "
                        + new String(k.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGTERM (graceful shutdown) and wait for exit; returns the exit code. */
    public int stop(Duration timeout) {
        if (process == null) {
            return -1;
        }
        if (isPaused()) {
            resume();
        }
        process.destroy();
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new IllegalStateException("node " + nodeId + " ignored SIGTERM for " + timeout + "; killed. log:\n" + tail());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return process.exitValue();
    }

    /** SIGKILL by PID: a crash. */
    public void kill() {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The last lines of the node's log, for failure messages. */
    public String tail() {
        return tail(60);
    }

    /** The last {@code lines} lines of the node's log. */
    public String tail(int count) {
        try {
            List<String> lines = Files.readAllLines(logFile(), java.nio.charset.StandardCharsets.ISO_8859_1);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - count), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Lines of the node's log (every start appends) that contain {@code needle}, ignoring case. */
    public List<String> grepLog(String needle) {
        try {
            String n = needle.toLowerCase(java.util.Locale.ROOT);
            return Files.readAllLines(logFile(), java.nio.charset.StandardCharsets.ISO_8859_1).stream()
                    .filter(l -> l.toLowerCase(java.util.Locale.ROOT).contains(n)).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    @Override
    public void close() {
        if (isAlive()) {
            try {
                stop(Duration.ofSeconds(20));
            } catch (IllegalStateException e) {
                kill();
            }
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

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
 * {@link Process#destroy()}, or SIGKILL through {@link #kill()}), never by name.
 *
 * <p>Thread-safety: not thread-safe; one test thread drives a node.
 */
public final class NodeProcess implements AutoCloseable {
    private static final String MAIN_CLASS = "dev.basalt.broker.BasaltNode";

    private final int nodeId;
    private final Path dir;
    private final Map<String, String> config;
    private final int clientPort;
    private final int controllerPort;
    private final int httpPort;
    private Process process;

    private NodeProcess(int nodeId, Path dir, Map<String, String> config, int clientPort, int controllerPort, int httpPort) {
        this.nodeId = nodeId;
        this.dir = dir;
        this.config = config;
        this.clientPort = clientPort;
        this.controllerPort = controllerPort;
        this.httpPort = httpPort;
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
        return new NodeProcess(1, dir, cfg, client, controller, http);
    }

    public String bootstrap() {
        return "127.0.0.1:" + clientPort;
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

    /** Writes the properties file and starts the JVM; returns once /ready answers 200. */
    public NodeProcess start(Duration readyTimeout) {
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
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-Xmx512m");
            cmd.add("-XX:+UseG1GC");
            cmd.add("-Djava.io.tmpdir=" + tmp);
            cmd.add("-cp");
            cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
            cmd.add(MAIN_CLASS);
            cmd.add("--config");
            cmd.add(props.toString());
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()));
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + nodeId, e);
        }
        awaitReady(readyTimeout);
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
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + httpPort + path).toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            int code = c.getResponseCode();
            c.disconnect();
            return code;
        } catch (IOException e) {
            return -1;
        }
    }

    /** SIGTERM (graceful shutdown) and wait for exit; returns the exit code. */
    public int stop(Duration timeout) {
        if (process == null) {
            return -1;
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
        try {
            List<String> lines = Files.readAllLines(logFile(), StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
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

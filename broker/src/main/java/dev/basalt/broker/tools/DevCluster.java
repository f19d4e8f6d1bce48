package dev.basalt.broker.tools;

import dev.basalt.broker.config.ConfigException;
import dev.basalt.broker.config.NodeConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * {@code basalt dev-cluster}: starts a local cluster of real nodes on 127.0.0.1, each in its own
 * JVM with its log in {@code DIR/node-K/node.log}, waits until every node is ready, prints the
 * bootstrap string and the admin URLs, and on Ctrl-C or SIGTERM stops every node it started, by
 * PID (SIGTERM, a bounded wait, then SIGKILL), and exits 0.
 *
 * <p>Nodes are launched through {@code bin/basalt start --config FILE} when the launcher passes
 * its own path as the system property {@code basalt.launcher}, so they get exactly the JVM flags
 * a user's {@code basalt start} gets; otherwise (an IDE) with this JVM's java and class path.
 *
 * <p>Exit codes: 0 stopped on request; 1 a node failed to start or become ready (reasons printed);
 * 2 bad arguments, a port already taken, or a dev cluster already running from the directory.
 *
 * <p>Thread-safety: the main thread starts and watches the nodes; the signal thread stops them.
 * {@link #stopAll} is guarded by a flag so it runs once.
 */
public final class DevCluster {
    static final int EXIT_OK = 0;
    static final int EXIT_NOT_READY = 1;
    static final int EXIT_USAGE = 2;
    private static final long POLL_INTERVAL_MS = 200;
    private static final int LOG_TAIL_LINES = 25;
    private static final String NODE_MAIN = "dev.basalt.broker.BasaltNode";

    static final String USAGE = """
            Usage: basalt dev-cluster [--nodes N] [--controllers C] [--dir DIR] [--base-port PORT]
                                      [--set KEY=VALUE]... [--fresh] [--ready-timeout-s S] [--stop-timeout-s S]

            Starts a local Basalt cluster on 127.0.0.1: each node its own JVM, data and log under DIR/node-K/.
            Waits until every node answers /ready, prints the bootstrap string and admin URLs, and stops
            every node it started (SIGTERM, then SIGKILL after --stop-timeout-s) on Ctrl-C or SIGTERM.
            Starting again with the same DIR restarts the same cluster with its data.
            While it runs, `touch DIR/node-K/restart` restarts node K (SIGTERM, then started again, its
            log appended); a node that exited or was killed (kill -9 $(cat DIR/node-K/pid)) comes back
            the same way.

              --nodes N            nodes to start, 1..9 (default 3)
              --controllers C      how many of them are controllers (default N: every node combined
                                   broker+controller). With C < N nodes 1..C are controller-only and
                                   the other N-C broker-only. Use an odd C (1, 3, 5).
              --dir DIR            cluster directory (default ./dev-cluster)
              --base-port PORT     node K listens on PORT+10K (clients), PORT+10K+1 (controller),
                                   PORT+10K+8 (HTTP admin); default 9400: node 1 on 9410/9411/9418.
                                   0 = free ports chosen at start (printed; they change at restart).
              --set KEY=VALUE      node configuration for every node, repeatable (see basalt start --help);
                                   e.g. --set default.replication.factor=3 --set min.insync.replicas=2
              --fresh              delete DIR's node data first (only a directory dev-cluster created)
              --ready-timeout-s S  give up when a node is not ready after S seconds (default 120)
              --stop-timeout-s S   SIGKILL a node still running S seconds after SIGTERM (default 30)
              -h, --help           this help

            Exit codes: 0 stopped on request, 1 a node failed to start or become ready, 2 bad arguments,
            a port already taken or a dev cluster already running from DIR.
            """;

    /** Parsed command line. */
    record Args(int nodes, int controllers, Path dir, int basePort, Map<String, String> extra, boolean fresh,
                long readyTimeoutS, long stopTimeoutS, boolean help) {
    }

    private final DevClusterPlan plan;
    private final PrintStream out;
    private final PrintStream err;
    private final long stopTimeoutMs;
    private final Map<Integer, Process> processes = new LinkedHashMap<>();
    /** Created in a node's directory to ask for a (re)start of that node: see {@link #maybeRestart}. */
    static final String RESTART_FILE = "restart";
    private final AtomicBoolean stopping = new AtomicBoolean();

    DevCluster(DevClusterPlan plan, long stopTimeoutMs, PrintStream out, PrintStream err) {
        this.plan = plan;
        this.stopTimeoutMs = stopTimeoutMs;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] argv) {
        Args args;
        try {
            args = parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("basalt dev-cluster: " + e.getMessage() + " (try --help)");
            System.exit(EXIT_USAGE);
            return;
        }
        if (args.help()) {
            System.out.print(USAGE);
            System.exit(EXIT_OK);
        }
        System.exit(run(args, System.out, System.err));
    }

    /**
     * A warning for an even controller count, or null (found probing: --controllers 2 started a
     * 2-voter quorum without a word; it is allowed, a test may want one, but its majority tolerates
     * no more failures than one controller fewer would).
     */
    static String evenControllersWarning(int controllers) {
        if (controllers % 2 != 0) {
            return null;
        }
        return controllers + " controllers need " + (controllers / 2 + 1) + " of them up, and survive " + (controllers / 2 - 1)
                + (controllers / 2 - 1 == 1 ? " failure" : " failures") + ", as " + (controllers - 1)
                + " would; use an odd count (1, 3, 5)";
    }

    static int run(Args args, PrintStream out, PrintStream err) {
        DevClusterPlan plan;
        try {
            Path dir = args.dir().toAbsolutePath().normalize();
            Map<String, String> extra = new java.util.LinkedHashMap<>(args.extra());
            if (!extra.containsKey("cluster.id")) {
                extra.put("cluster.id", clusterIdFor(dir, args.nodes(), args.fresh(),
                        () -> "dev-" + UUID.randomUUID().toString().substring(0, 13)));
            }
            plan = DevClusterPlan.of(dir, args.nodes(), args.controllers(), args.basePort(), extra, DevCluster::freePort);
            for (DevClusterPlan.Node n : plan.nodes()) {
                NodeConfig.of(n.properties());
            }
        } catch (IllegalArgumentException e) {
            err.println("basalt dev-cluster: " + e.getMessage());
            return EXIT_USAGE;
        } catch (ConfigException e) {
            err.println("basalt dev-cluster: bad --set: " + e.getMessage());
            return EXIT_USAGE;
        }
        String even = evenControllersWarning(args.controllers()); // once the plan is valid (0 is a usage error)
        if (even != null) {
            err.println("basalt dev-cluster: warning: " + even);
        }
        String running = alreadyRunning(plan);
        if (running != null) {
            err.println("basalt dev-cluster: " + running);
            return EXIT_USAGE;
        }
        List<String> taken = takenPorts(plan);
        if (!taken.isEmpty()) {
            err.println("basalt dev-cluster: cannot start, ports on 127.0.0.1 already in use:");
            taken.forEach(t -> err.println("  " + t));
            err.println("Stop whatever holds them (another dev cluster or node?), or choose other ports with --base-port"
                    + " (0 = free ports).");
            return EXIT_USAGE;
        }
        if (args.fresh()) {
            try {
                wipe(plan);
            } catch (IOException e) {
                err.println("basalt dev-cluster: --fresh: " + e.getMessage());
                return EXIT_USAGE;
            }
        }
        DevCluster cluster = new DevCluster(plan, TimeUnit.SECONDS.toMillis(args.stopTimeoutS()), out, err);
        cluster.installSignalHandlers();
        return cluster.startAndWatch(TimeUnit.SECONDS.toMillis(args.readyTimeoutS()));
    }

    /**
     * The cluster id of the dev cluster in {@code dir}: the one its nodes' data directories were
     * formatted with (a restart keeps it; clusters made before this kept the default
     * basalt-local), else a new random one (a new or --fresh cluster). Found probing: every dev
     * cluster had cluster.id basalt-local, so a node whose data directory came from another dev
     * cluster passed the identity check, won an election there and briefly led its metadata.
     */
    static String clusterIdFor(Path dir, int nodes, boolean fresh, java.util.function.Supplier<String> newId) {
        if (!fresh) {
            for (int k = 1; k <= nodes; k++) {
                try {
                    dev.basalt.broker.storage.StorageMeta meta = dev.basalt.broker.storage.StorageMeta.read(
                            dir.resolve("node-" + k).resolve("data"));
                    if (meta != null) {
                        return meta.clusterId();
                    }
                } catch (IOException e) {
                    // unreadable here: the node's own start says what is wrong with it
                }
            }
        }
        return newId.get();
    }

    // ------------------------------------------------------------------ arguments

    static Args parse(String[] argv) {
        int nodes = 3;
        Integer controllers = null;
        Path dir = Path.of("dev-cluster");
        int basePort = DevClusterPlan.BASE_PORT_DEFAULT;
        Map<String, String> extra = new LinkedHashMap<>();
        boolean fresh = false;
        long readyS = 120;
        long stopS = 30;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            switch (a) {
                case "-h", "--help" -> {
                    return new Args(nodes, nodes, dir, basePort, extra, false, readyS, stopS, true);
                }
                case "--nodes", "-n" -> nodes = intArg(a, value(argv, ++i, a));
                case "--controllers" -> controllers = intArg(a, value(argv, ++i, a));
                case "--dir", "-d" -> dir = Path.of(value(argv, ++i, a));
                case "--base-port" -> basePort = intArg(a, value(argv, ++i, a));
                case "--set" -> {
                    String kv = value(argv, ++i, a);
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("--set needs KEY=VALUE, got '" + kv + "'");
                    }
                    extra.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
                }
                case "--fresh" -> fresh = true;
                case "--ready-timeout-s" -> readyS = positive(a, intArg(a, value(argv, ++i, a)));
                case "--stop-timeout-s" -> stopS = positive(a, intArg(a, value(argv, ++i, a)));
                default -> throw new IllegalArgumentException("unknown argument '" + a + "'");
            }
        }
        return new Args(nodes, controllers == null ? nodes : controllers, dir, basePort, extra, fresh, readyS, stopS, false);
    }

    private static String value(String[] argv, int i, String name) {
        if (i >= argv.length) {
            throw new IllegalArgumentException(name + " needs a value");
        }
        return argv[i];
    }

    private static int intArg(String name, String v) {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " needs an integer, got '" + v + "'");
        }
    }

    private static long positive(String name, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + v);
        }
        return v;
    }

    // ------------------------------------------------------------------ checks before start

    /** A message when a node of this directory still runs (its pid file names a live process started with its config). */
    static String alreadyRunning(DevClusterPlan plan) {
        for (DevClusterPlan.Node n : plan.nodes()) {
            Optional<ProcessHandle> p = readPid(n.pidFile()).flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive);
            if (p.isPresent()) {
                String cmd = p.get().info().commandLine().orElse("");
                // A recycled PID belongs to another program: its command line does not name our node's file.
                if (cmd.contains(n.propertiesFile().toString())) {
                    // Stopping the supervisor stops every node; a node whose supervisor is gone is stopped by itself.
                    Optional<ProcessHandle> supervisor = p.get().parent().filter(ProcessHandle::isAlive)
                            .filter(h -> h.info().commandLine().orElse("").contains(DevCluster.class.getName()));
                    long stop = supervisor.map(ProcessHandle::pid).orElse(p.get().pid());
                    return "a dev cluster already runs from " + plan.dir() + " (node " + n.id() + " is pid " + p.get().pid()
                            + supervisor.map(h -> ", its dev-cluster is pid " + h.pid()).orElse(", with no dev-cluster")
                            + "); stop it first (Ctrl-C in its terminal, or kill " + stop + ")";
                }
            }
        }
        return null;
    }

    private static Optional<Long> readPid(Path file) {
        try {
            return Optional.of(Long.parseLong(Files.readString(file, StandardCharsets.UTF_8).trim()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** "PORT (what)" for every planned port that cannot be bound on 127.0.0.1 now. */
    static List<String> takenPorts(DevClusterPlan plan) {
        List<String> taken = new ArrayList<>();
        for (DevClusterPlan.Node n : plan.nodes()) {
            n.ports().forEach((port, what) -> {
                try (ServerSocket s = new ServerSocket()) {
                    // Netty binds with SO_REUSEADDR too: a port left in TIME_WAIT by a stopped node is usable.
                    s.setReuseAddress(true);
                    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                } catch (IOException e) {
                    taken.add(port + " (" + what + ")");
                }
            });
        }
        return taken;
    }

    /** Ports handed out by this process (a plan needs several before any node binds one). */
    private static final java.util.Set<Integer> GIVEN = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static int freePort() {
        try {
            return LoopbackPorts.free(InetAddress.getLoopbackAddress(), GIVEN::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    /** Deletes the node directories of the plan; refuses a directory that holds anything else. */
    static void wipe(DevClusterPlan plan) throws IOException {
        Path dir = plan.dir();
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                if (!p.getFileName().toString().matches("node-\\d+")) {
                    throw new IOException(dir + " holds " + p.getFileName() + ", not only node-K directories: not deleting it");
                }
            }
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                if (!p.equals(dir)) {
                    Files.delete(p);
                }
            }
        }
    }

    // ------------------------------------------------------------------ running

    int startAndWatch(long readyTimeoutMs) {
        long t0 = System.nanoTime();
        try {
            for (DevClusterPlan.Node n : plan.nodes()) {
                launch(n, true);
            }
        } catch (IOException | RuntimeException e) {
            err.println("basalt dev-cluster: cannot start a node: " + e.getMessage());
            stopAll();
            return EXIT_NOT_READY;
        }
        String failure = awaitReady(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(readyTimeoutMs));
        if (failure != null) {
            if (stopping.get()) {
                awaitSignalThreadExit();
            }
            err.println(failure);
            err.println("Stopping the nodes that did start; logs stay in " + plan.dir() + "/node-K/node.log.");
            stopAll();
            return EXIT_NOT_READY;
        }
        long readyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        out.println();
        out.println("Basalt dev cluster ready: " + plan.nodes().size() + (plan.nodes().size() == 1 ? " node" : " nodes") + " in "
                + readyMs + " ms, directory " + plan.dir());
        for (DevClusterPlan.Node n : plan.nodes()) {
            out.printf("  node %d  %-17s pid %-7d %s admin %s  log %s%n", n.id(), n.roles(), processes.get(n.id()).pid(),
                    n.broker() ? "client 127.0.0.1:" + n.clientPort() + "  " : "", n.adminUrl(), n.logFile());
        }
        out.println("bootstrap: " + plan.bootstrap());
        out.println("Try:  bin/basalt -b " + plan.bootstrap() + " cluster");
        out.println("Ctrl-C stops every node; touch " + plan.dir() + "/node-K/restart restarts node K.");
        out.flush();
        return watch();
    }

    /**
     * Starts node {@code n}. Only its first start in this run may format an empty data directory:
     * a controller whose directory was wiped while the cluster ran must not come back as one of a
     * new quorum's first voters (it could vote twice in a term); restarted, it refuses to start.
     */
    private void launch(DevClusterPlan.Node n, boolean firstStart) throws IOException {
        Files.createDirectories(n.nodeDir());
        Files.deleteIfExists(restartFile(n)); // a request left from an earlier run is not one for this start
        Files.writeString(n.propertiesFile(), DevClusterPlan.render(n), StandardCharsets.UTF_8);
        if (firstStart) {
            formatIfNew(n);
        }
        ProcessBuilder pb = new ProcessBuilder(nodeCommand(n)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(n.logFile().toFile()));
        // A dev cluster runs several nodes on one machine: a smaller heap than a production node's 1g.
        pb.environment().putIfAbsent("BASALT_HEAP", "512m");
        synchronized (processes) {
            if (stopping.get()) {
                throw new IOException("stopping");
            }
            Process p = pb.start();
            processes.put(n.id(), p);
            Files.writeString(n.pidFile(), p.pid() + "\n", StandardCharsets.UTF_8);
        }
    }

    /**
     * A dev cluster formats its nodes itself, on first start only: every controller is one of the
     * new quorum's first voters. A directory that already holds data is left to the node's own
     * check (it refuses to start on a directory it does not recognise).
     */
    private void formatIfNew(DevClusterPlan.Node n) throws IOException {
        NodeConfig config;
        try {
            config = NodeConfig.load(n.propertiesFile());
        } catch (ConfigException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (dev.basalt.broker.storage.StorageMeta.read(config.dataDir()) == null
                && dev.basalt.broker.storage.StorageDirectory.isEmpty(config.dataDir())) {
            dev.basalt.broker.storage.StorageDirectory.format(config, config.get("cluster.id"),
                    config.isController() ? dev.basalt.broker.storage.StorageDirectory.VoterMode.INITIAL : null);
        }
    }

    private static List<String> nodeCommand(DevClusterPlan.Node n) {
        List<String> cmd = new ArrayList<>();
        String launcher = System.getProperty("basalt.launcher");
        if (launcher != null && !launcher.isBlank()) {
            cmd.add(launcher);
            cmd.add("start");
        } else {
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-Xmx512m");
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(NODE_MAIN);
        }
        cmd.add("--config");
        cmd.add(n.propertiesFile().toString());
        return cmd;
    }

    /** Null when every node is ready; else why not ("" when stopped on request meanwhile). */
    private String awaitReady(long deadlineNanos) {
        while (true) {
            if (stopping.get()) {
                return "";
            }
            boolean all = true;
            for (DevClusterPlan.Node n : plan.nodes()) {
                Process p = processes.get(n.id());
                if (!p.isAlive()) {
                    return "basalt dev-cluster: node " + n.id() + " (pid " + p.pid() + ") exited with code " + p.exitValue()
                            + " before it was ready. Last lines of " + n.logFile() + ":\n" + tail(n.logFile());
                }
                if (httpGet(n.httpPort(), "/ready").code() != 200) {
                    all = false;
                }
            }
            if (all) {
                return null;
            }
            if (System.nanoTime() >= deadlineNanos) {
                StringBuilder sb = new StringBuilder("basalt dev-cluster: not every node became ready in time:\n");
                for (DevClusterPlan.Node n : plan.nodes()) {
                    HttpAnswer a = httpGet(n.httpPort(), "/ready");
                    sb.append("  node ").append(n.id()).append(": ")
                            .append(a.code() == 200 ? "ready" : a.code() < 0 ? "admin port not answering" : a.body().trim())
                            .append('\n');
                }
                sb.append("Last lines of the first not-ready node's log:\n");
                for (DevClusterPlan.Node n : plan.nodes()) {
                    if (httpGet(n.httpPort(), "/ready").code() != 200) {
                        sb.append(n.logFile()).append(":\n").append(tail(n.logFile()));
                        break;
                    }
                }
                return sb.toString();
            }
            sleepMs(POLL_INTERVAL_MS);
        }
    }

    /** Reports nodes that exit on their own and serves restart requests; returns when stopped on request. */
    private int watch() {
        Map<Integer, Boolean> reported = new LinkedHashMap<>();
        boolean allGoneReported = false;
        while (!stopping.get()) {
            int alive = 0;
            for (DevClusterPlan.Node n : plan.nodes()) {
                Process p = maybeRestart(n, processes.get(n.id()));
                if (p.isAlive()) {
                    alive++;
                    reported.remove(n.id());
                } else if (!reported.containsKey(n.id()) && !stoppingSoon()) {
                    reported.put(n.id(), true);
                    err.println("basalt dev-cluster: node " + n.id() + " (pid " + p.pid() + ") exited with code " + p.exitValue()
                            + "; the others keep running. Log: " + n.logFile() + ". Restart it: touch " + restartFile(n));
                }
            }
            // With every node gone it keeps running: a restart request can still bring one back.
            if (alive == 0 && !stoppingSoon() && !allGoneReported) {
                allGoneReported = true;
                err.println("basalt dev-cluster: every node has exited; touch " + plan.dir() + "/node-K/restart to start one"
                        + " again, Ctrl-C to quit");
            } else if (alive > 0) {
                allGoneReported = false;
            }
            sleepMs(POLL_INTERVAL_MS * 5);
        }
        awaitSignalThreadExit();
        return EXIT_OK;
    }

    /** The file whose creation asks this supervisor to (re)start node {@code n}. */
    static Path restartFile(DevClusterPlan.Node n) {
        return n.nodeDir().resolve(RESTART_FILE);
    }

    /**
     * If {@code DIR/node-K/restart} exists: deletes it, stops the node if it runs (SIGTERM, a clean
     * shutdown, SIGKILL after --stop-timeout-s) and starts it again as at first (same command, log
     * appended to node.log, pid file rewritten), supervised like the others.
     *
     * @return the node's process now
     */
    private Process maybeRestart(DevClusterPlan.Node n, Process current) {
        Path request = restartFile(n);
        if (!Files.exists(request) || stoppingSoon()) {
            return current;
        }
        try {
            Files.deleteIfExists(request);
            if (current.isAlive()) {
                err.println("basalt dev-cluster: restarting node " + n.id() + " (pid " + current.pid() + "): SIGTERM");
                current.destroy();
                if (!current.waitFor(stopTimeoutMs, TimeUnit.MILLISECONDS)) {
                    current.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            launch(n, false);
            Process next = processes.get(n.id());
            err.println("basalt dev-cluster: node " + n.id() + " started again (pid " + next.pid() + "). Log: " + n.logFile());
            return next;
        } catch (IOException e) {
            err.println("basalt dev-cluster: cannot restart node " + n.id() + ": " + e.getMessage());
            return processes.get(n.id());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return processes.get(n.id());
        }
    }

    /** The signal thread is stopping the nodes and then exits the JVM with 0; returning early would exit first. */
    private static void awaitSignalThreadExit() {
        while (true) {
            sleepMs(POLL_INTERVAL_MS);
        }
    }

    /**
     * Ctrl-C in a terminal sends SIGINT to the whole process group: the nodes get it too and may
     * exit just before this process's own handler runs. Give the handler a moment before calling
     * an exit unexpected.
     */
    private boolean stoppingSoon() {
        sleepMs(POLL_INTERVAL_MS * 2);
        return stopping.get();
    }

    /** SIGTERM to every node started, wait, SIGKILL the rest. Runs once; a second caller waits for the first. */
    synchronized void stopAll() {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        List<Process> started;
        synchronized (processes) {
            started = new ArrayList<>(processes.values());
        }
        for (Process p : started) {
            if (p.isAlive()) {
                p.destroy();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(stopTimeoutMs);
        for (Map.Entry<Integer, Process> e : processes.entrySet()) {
            Process p = e.getValue();
            try {
                long leftMs = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
                if (!p.waitFor(leftMs, TimeUnit.MILLISECONDS)) {
                    err.println("basalt dev-cluster: node " + e.getKey() + " (pid " + p.pid() + ") still running " + stopTimeoutMs
                            + " ms after SIGTERM: SIGKILL");
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        for (DevClusterPlan.Node n : plan.nodes()) {
            try {
                Files.deleteIfExists(n.pidFile());
            } catch (IOException ignored) {
                // A stale pid file is harmless: alreadyRunning() checks the process's command line.
            }
        }
    }

    @SuppressWarnings("restriction")
    private void installSignalHandlers() {
        sun.misc.SignalHandler handler = signal -> new Thread(() -> {
            out.println();
            out.println("basalt dev-cluster: SIG" + signal.getName() + ": stopping " + processes.size() + " nodes ...");
            out.flush();
            stopAll();
            out.println("basalt dev-cluster: stopped");
            out.flush();
            System.exit(EXIT_OK);
        }, "dev-cluster-signal").start();
        for (String name : List.of("TERM", "INT")) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), handler);
            } catch (IllegalArgumentException e) {
                err.println("basalt dev-cluster: cannot handle SIG" + name + ": " + e.getMessage());
            }
        }
        // Any other exit (an exception, System.exit elsewhere, SIGHUP) still stops the nodes.
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopAll, "dev-cluster-shutdown"));
    }

    // ------------------------------------------------------------------ helpers

    record HttpAnswer(int code, String body) {
    }

    static HttpAnswer httpGet(int port, String path) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:" + port + path).toURL().openConnection();
            c.setConnectTimeout(500);
            c.setReadTimeout(2000);
            int code = c.getResponseCode();
            InputStream in = code >= 400 ? c.getErrorStream() : c.getInputStream();
            String body = in == null ? "" : new String(in.readNBytes(4096), StandardCharsets.UTF_8);
            c.disconnect();
            return new HttpAnswer(code, body);
        } catch (IOException e) {
            return new HttpAnswer(-1, "");
        }
    }

    static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size())) + "\n";
        } catch (IOException | UncheckedIOException e) {
            return "(no log: " + e.getMessage() + ")\n";
        }
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

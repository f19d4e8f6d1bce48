package dev.basalt.harness;

import dev.basalt.client.Admin;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A cluster of real Basalt nodes, each its own JVM on 127.0.0.1 or, with {@link Builder#ownAddresses()},
 * on its own loopback address 127.0.0.(10+id) (ports from {@link Ports}), for
 * fault-injection tests: start and await readiness, kill -9, SIGSTOP/SIGCONT and graceful stop by
 * PID, restart with the same data directory, and questions a test asks while it injects faults
 * (the active controller, a partition's leader and ISR). {@link #close()} stops every process the
 * cluster started, by PID, even when the test failed, then deletes the cluster's directory
 * (unless {@code -Dbasalt.keep=true}). {@link #diagnostics()} gives every node's state and log
 * tail for failure messages.
 *
 * <p>Roles: nodes 1..controllers are controllers; with {@code controllers == nodes} every node is
 * combined, otherwise the others are broker-only.
 *
 * <p>Thread-safety: not thread-safe; one test thread drives the cluster (a workload thread may
 * use {@link #bootstrap()}, which is immutable).
 */
public final class Cluster implements AutoCloseable {
    private static final Pattern ACTIVE = Pattern.compile("\"activeController\"\\s*:\\s*true");
    private static final Pattern CONTROLLER_ID = Pattern.compile("\"controllerId\"\\s*:\\s*(-?\\d+)");
    private static final long POLL_MS = 100;

    private final Path dir;
    private final Map<Integer, NodeProcess> nodes;
    private final Map<Integer, Boolean> brokers;
    /** Packet filter for network faults, when the builder asked for it; closed after the nodes stop. */
    private final Netfilter netfilter;
    private final boolean keep = Boolean.getBoolean("basalt.keep");
    // If the JVM running the test exits without close() (a killed surefire fork, Ctrl-C of Maven),
    // the nodes must not outlive it: SIGKILL them by PID from a shutdown hook.
    private final Thread exitHook = new Thread(this::killAllNow, "cluster-exit-hook");
    private boolean hookInstalled;

    /** What a test needs of one partition's state, as the cluster's metadata describes it. */
    public record PartitionState(String topic, int partition, int leader, int leaderEpoch, List<Integer> replicas, List<Integer> isr) {
        public boolean hasLeader() {
            return leader >= 0;
        }
    }

    /** Builds a cluster; nothing starts before {@link Cluster#start(Duration)}. */
    public static final class Builder {
        private final Path dir;
        private int nodes = 3;
        private int controllers = -1;
        private final Map<String, String> common = new LinkedHashMap<>();
        private final Map<Integer, Map<String, String>> perNode = new TreeMap<>();
        private final Map<Integer, String> racks = new TreeMap<>();
        private List<String> jvm = List.of("-Xmx384m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1");
        private boolean ownAddresses;
        private boolean netfilter;

        private Builder(Path dir) {
            this.dir = dir;
        }

        public Builder nodes(int n) {
            if (n < 1 || n > 9) {
                throw new IllegalArgumentException("nodes must be 1..9");
            }
            this.nodes = n;
            return this;
        }

        /** How many of the nodes (ids 1..c) are controllers; default: all (combined nodes). */
        public Builder controllers(int c) {
            this.controllers = c;
            return this;
        }

        /** A node configuration key for every node. */
        public Builder config(String key, String value) {
            common.put(key, value);
            return this;
        }

        /** A node configuration key for one node (overrides {@link #config}). */
        public Builder nodeConfig(int nodeId, String key, String value) {
            perNode.computeIfAbsent(nodeId, k -> new LinkedHashMap<>()).put(key, value);
            return this;
        }

        public Builder rack(int nodeId, String rack) {
            racks.put(nodeId, rack);
            return this;
        }

        /** Every broker in its own rack "rack-K", so consumers can read a chosen replica (KIP-392). */
        public Builder rackPerNode() {
            for (int k = 1; k <= 9; k++) {
                racks.put(k, "rack-" + k);
            }
            return this;
        }

        /**
         * Every node binds its own loopback address 127.0.0.(10+id) instead of 127.0.0.1 (Linux routes
         * all of 127.0.0.0/8 to the loopback device, so nothing needs configuring).
         */
        public Builder ownAddresses() {
            this.ownAddresses = true;
            return this;
        }

        /**
         * Own addresses plus a {@link Netfilter} (iptables chains and one cgroup per node) so a
         * nemesis can drop packets between nodes; {@link #build()} fails with what is missing
         * ({@link Netfilter#unavailableReason()}) when this host cannot do it.
         */
        public Builder networkFaults() {
            this.ownAddresses = true;
            this.netfilter = true;
            return this;
        }

        /** Adds one option to every node's JVM command line (after the defaults). */
        public Builder jvmOption(String option) {
            List<String> all = new java.util.ArrayList<>(jvm);
            if (!all.contains(option)) {
                all.add(option);
            }
            this.jvm = List.copyOf(all);
            return this;
        }

        public Builder jvmOptions(List<String> options) {
            this.jvm = List.copyOf(options);
            return this;
        }

        /** Plans ports and configurations; starts nothing. */
        public Cluster build() {
            int c = controllers < 0 ? nodes : controllers;
            if (c < 1 || c > nodes) {
                throw new IllegalArgumentException("controllers must be 1..nodes");
            }
            boolean combined = c == nodes;
            int[][] ports = new int[nodes + 1][3];
            String[] hosts = new String[nodes + 1];
            List<String> voters = new ArrayList<>();
            for (int k = 1; k <= nodes; k++) {
                hosts[k] = ownAddresses ? "127.0.0." + (10 + k) : "127.0.0.1";
                java.net.InetAddress address;
                try {
                    address = java.net.InetAddress.getByName(hosts[k]);
                } catch (java.net.UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
                ports[k] = new int[] {Ports.free(address), Ports.free(address), Ports.free(address)};
                if (k <= c) {
                    voters.add(k + "@" + hosts[k] + ":" + ports[k][1]);
                }
            }
            Map<Integer, NodeProcess> out = new TreeMap<>();
            Map<Integer, Boolean> isBroker = new TreeMap<>();
            for (int k = 1; k <= nodes; k++) {
                boolean controller = k <= c;
                boolean broker = combined || !controller;
                Map<String, String> cfg = new LinkedHashMap<>();
                cfg.put("node.id", String.valueOf(k));
                cfg.put("process.roles", broker && controller ? "broker,controller" : broker ? "broker" : "controller");
                cfg.put("controller.quorum.voters", String.join(",", voters));
                List<String> listeners = new ArrayList<>();
                if (broker) {
                    listeners.add("PLAINTEXT://" + hosts[k] + ":" + ports[k][0]);
                }
                if (controller) {
                    listeners.add("CONTROLLER://" + hosts[k] + ":" + ports[k][1]);
                }
                cfg.put("listeners", String.join(",", listeners));
                cfg.put("http.admin.listener", hosts[k] + ":" + ports[k][2]);
                Path nodeDir = dir.resolve("node-" + k);
                cfg.put("data.dir", nodeDir.resolve("data").toString());
                if (broker && racks.containsKey(k)) {
                    cfg.put("broker.rack", racks.get(k));
                }
                cfg.putAll(common);
                cfg.putAll(perNode.getOrDefault(k, Map.of()));
                out.put(k, NodeProcess.of(k, nodeDir, cfg, ports[k][0], ports[k][1], ports[k][2], jvm, hosts[k]));
                isBroker.put(k, broker);
            }
            Netfilter filter = null;
            if (netfilter) {
                Map<Integer, String> addresses = new TreeMap<>();
                out.forEach((id, n) -> addresses.put(id, n.host()));
                filter = Netfilter.create(addresses);
                for (NodeProcess n : out.values()) {
                    n.launchPrefix(filter.launchPrefix(n.nodeId()));
                }
            }
            return new Cluster(dir, out, isBroker, filter);
        }
    }

    public static Builder builder(Path dir) {
        return new Builder(dir);
    }

    private Cluster(Path dir, Map<Integer, NodeProcess> nodes, Map<Integer, Boolean> brokers, Netfilter netfilter) {
        this.dir = dir;
        this.nodes = nodes;
        this.brokers = brokers;
        this.netfilter = netfilter;
        if (netfilter != null) {
            installExitHook(); // the chains must not outlive the JVM even if start() is never reached
        }
    }

    /** The packet filter for network faults; present when built with {@link Builder#networkFaults()}. */
    public Optional<Netfilter> netfilter() {
        return Optional.ofNullable(netfilter);
    }

    // ------------------------------------------------------------------ lifecycle

    /** Launches every node at once (a quorum needs its majority up together) and waits until all are ready. */
    public Cluster start(Duration readyTimeout) {
        installExitHook();
        nodes.values().forEach(NodeProcess::launch);
        awaitReady(nodes.keySet(), readyTimeout);
        return this;
    }

    /** Waits until every listed node answers /ready with 200; fails with every node's state and log tail. */
    public void awaitReady(Iterable<Integer> ids, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Integer> notReady = new ArrayList<>();
            for (int id : ids) {
                NodeProcess n = node(id);
                if (!n.isAlive()) {
                    throw new IllegalStateException("node " + id + " died while starting\n" + diagnostics());
                }
                if (n.isPaused() || n.httpStatus("/ready") != 200) {
                    notReady.add(id);
                }
            }
            if (notReady.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("nodes " + notReady + " not ready after " + timeout + "\n" + diagnostics());
            }
            sleepMs(POLL_MS);
        }
    }

    public NodeProcess node(int id) {
        NodeProcess n = nodes.get(id);
        if (n == null) {
            throw new IllegalArgumentException("no node " + id + " in " + nodes.keySet());
        }
        return n;
    }

    public List<Integer> nodeIds() {
        return List.copyOf(nodes.keySet());
    }

    public List<Integer> brokerIds() {
        return brokers.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).toList();
    }

    public List<Integer> controllerIds() {
        return nodes.values().stream().filter(n -> n.config().get("process.roles").contains("controller"))
                .map(NodeProcess::nodeId).toList();
    }

    /** Nodes alive and not paused. */
    public List<Integer> runningIds() {
        return nodes.values().stream().filter(NodeProcess::isRunning).map(NodeProcess::nodeId).toList();
    }

    /** Every broker's client address: what a user would put in bootstrap.servers. */
    public String bootstrap() {
        return String.join(",", brokerIds().stream().map(id -> node(id).bootstrap()).toList());
    }

    /** The client addresses of the brokers running now (clients bootstrap faster without dead addresses). */
    public String runningBootstrap() {
        List<String> live = brokerIds().stream().filter(id -> node(id).isRunning()).map(id -> node(id).bootstrap()).toList();
        if (live.isEmpty()) {
            throw new IllegalStateException("no broker is running\n" + diagnostics());
        }
        return String.join(",", live);
    }

    /** SIGKILL by PID: a crash, no controlled shutdown, unflushed page cache stays (the OS is alive). */
    public void kill9(int id) {
        node(id).kill();
    }

    public void pause(int id) {
        node(id).pause();
    }

    public void resume(int id) {
        node(id).resume();
    }

    /** Graceful stop (SIGTERM by PID): controlled shutdown; returns the exit code. */
    public int stop(int id, Duration timeout) {
        return node(id).stop(timeout);
    }

    /** Starts a stopped or killed node again with the same configuration and data, and waits until it is ready. */
    public void restart(int id, Duration readyTimeout) {
        installExitHook();
        node(id).launch();
        awaitReady(List.of(id), readyTimeout);
    }

    // ------------------------------------------------------------------ questions

    /** A new Admin client bootstrapped from the brokers running now; the caller closes it. */
    public Admin admin() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("bootstrap.servers", runningBootstrap());
        c.put("request.timeout.ms", 5_000);
        c.put("default.api.timeout.ms", 10_000);
        return new Admin(c);
    }

    /**
     * The node that is the active controller, agreed on by every running controller's /status
     * (it says activeController:true and no running node names another controller); waits for one.
     */
    public int activeController(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Optional<Integer> active = Optional.empty();
            boolean agreed = true;
            StringBuilder seen = new StringBuilder();
            for (int id : runningIds()) {
                String status = node(id).httpGet("/status").body();
                seen.append("node ").append(id).append(": ").append(status.trim()).append('\n');
                if (ACTIVE.matcher(status).find()) {
                    if (active.isPresent()) {
                        agreed = false;
                    }
                    active = Optional.of(id);
                }
                Matcher m = CONTROLLER_ID.matcher(status);
                if (m.find() && active.isPresent() && Integer.parseInt(m.group(1)) >= 0
                        && Integer.parseInt(m.group(1)) != active.get()) {
                    agreed = false;
                }
            }
            if (active.isPresent() && agreed && controllerIdsAgree(active.get())) {
                return active.get();
            }
            last = seen.toString();
            sleepMs(POLL_MS);
        }
        throw new IllegalStateException("no agreed active controller within " + timeout + "; last /status answers:\n" + last
                + diagnostics());
    }

    private boolean controllerIdsAgree(int active) {
        for (int id : runningIds()) {
            Matcher m = CONTROLLER_ID.matcher(node(id).httpGet("/status").body());
            if (m.find() && Integer.parseInt(m.group(1)) != active) {
                return false;
            }
        }
        return true;
    }

    /** A partition's state as the cluster's metadata (Admin describeTopics through a running broker) gives it. */
    public PartitionState partition(String topic, int partition) {
        try (Admin admin = admin()) {
            var description = Admin.get(admin.describeTopics(List.of(topic)), Duration.ofSeconds(10)).get(topic);
            if (description == null) {
                throw new IllegalStateException("topic " + topic + " not described");
            }
            for (var p : description.partitions()) {
                if (p.partition() == partition) {
                    return new PartitionState(topic, partition, p.leaderId(), p.leaderEpoch(), List.copyOf(p.replicas()),
                            List.copyOf(p.isr()));
                }
            }
            throw new IllegalStateException("topic " + topic + " has no partition " + partition);
        }
    }

    /**
     * Polls {@link #partition} until {@code condition} holds; errors while the cluster changes
     * (no broker answering, no controller) count as "not yet".
     */
    public PartitionState awaitPartition(String topic, int partition, Predicate<PartitionState> condition, String what,
                                         Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Object last = null;
        while (System.nanoTime() < deadline) {
            try {
                PartitionState s = partition(topic, partition);
                if (condition.test(s)) {
                    return s;
                }
                last = s;
            } catch (RuntimeException e) {
                last = e.toString();
            }
            sleepMs(200);
        }
        throw new IllegalStateException(topic + "-" + partition + ": " + what + " not reached within " + timeout + "; last seen "
                + last + "\n" + diagnostics());
    }

    /** Waits until the partition has a leader that is running, and returns it. */
    public int awaitLeader(String topic, int partition, Duration timeout) {
        return awaitPartition(topic, partition, s -> s.hasLeader() && nodes.containsKey(s.leader()) && node(s.leader()).isRunning(),
                "a running leader", timeout).leader();
    }

    /** Every node's PID, state, readiness and log tail: for failure messages. */
    public String diagnostics() {
        StringBuilder sb = new StringBuilder("==== cluster in ").append(dir).append('\n');
        for (NodeProcess n : nodes.values()) {
            sb.append("---- node ").append(n.nodeId()).append(" (").append(n.config().get("process.roles")).append(") ")
                    .append(n.isAlive() ? "pid " + n.pid() + (n.isPaused() ? " PAUSED" : "") : "not running")
                    .append(", readiness: ").append(n.isRunning() ? n.readiness() : "-").append(", log ")
                    .append(n.logFile()).append('\n').append(n.tail(40)).append('\n');
        }
        return sb.toString();
    }

    /** Every log line of every node containing {@code needle} (case-insensitive), prefixed with the node id. */
    public List<String> grepLogs(String needle) {
        List<String> out = new ArrayList<>();
        for (NodeProcess n : nodes.values()) {
            n.grepLog(needle).forEach(l -> out.add("node " + n.nodeId() + ": " + l));
        }
        return out;
    }

    public Path dir() {
        return dir;
    }

    /** Stops every node this cluster started (resuming paused ones first), by PID; then deletes the directory. */
    private void installExitHook() {
        if (!hookInstalled) {
            Runtime.getRuntime().addShutdownHook(exitHook);
            hookInstalled = true;
        }
    }

    private void killAllNow() {
        nodes.values().forEach(NodeProcess::kill);
        closeNetfilter();
    }

    private void closeNetfilter() {
        if (netfilter != null) {
            try {
                netfilter.close();
            } catch (RuntimeException e) {
                System.err.println("cluster " + dir + ": " + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        if (hookInstalled) {
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: it kills the nodes
            }
            hookInstalled = false;
        }
        // SIGTERM all at once so controlled shutdowns overlap, then wait for each; SIGKILL on timeout.
        for (NodeProcess n : nodes.values()) {
            try {
                if (n.isPaused()) {
                    n.resume();
                }
            } catch (RuntimeException e) {
                n.kill();
            }
        }
        nodes.values().parallelStream().forEach(n -> {
            try {
                n.close();
            } catch (RuntimeException e) {
                n.kill();
            }
        });
        closeNetfilter();
        if (!keep) {
            deleteRecursively(dir);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

package dev.basalt.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Packet-level network faults between the nodes of one {@link Cluster}, with iptables, in chains
 * of the harness's own that match only this cluster's processes, removed by {@link #close()}.
 *
 * <p>Why cgroups and SNAT: every node listens on its own loopback address 127.0.0.(10+id), but the
 * kernel gives every loopback connection the source address 127.0.0.1, so node B's packets to node
 * A would look like a client's. Each node therefore runs in its own cgroup (v2) under
 * {@code <cgroup2>/basalt-jepsen-<run>/node-<id>}, put there by a shell prefix before it execs the
 * JVM (so the harness's PID is still the JVM's); a rule in {@code nat POSTROUTING} rewrites the
 * source of packets sent by that cgroup to the node's own address. Packets of the test JVM's
 * clients keep 127.0.0.1 and are never dropped: partitions cut nodes off from each other, as in
 * Jepsen, while each client keeps reaching the nodes.
 *
 * <p>Where drops are matched: a chain in the {@code raw} table, jumped to from PREROUTING and
 * OUTPUT. Both hooks run before connection tracking translates addresses: in PREROUTING a
 * request already carries its rewritten source (127.0.0.B → 127.0.0.A), and in OUTPUT a reply
 * still carries the node address it is sent to (127.0.0.A → 127.0.0.B) before it is translated
 * back to 127.0.0.1. A rule "-s A -d B -j DROP" in both hooks drops exactly the packets node A
 * sends to node B: requests and replies, which makes one-way partitions real.
 *
 * <p>Needs root, the iptables binary (Debian package {@code iptables}) and a writable cgroup v2
 * mount; {@link #unavailableReason()} says which is missing.
 *
 * <p>Thread-safety: not thread-safe; the test thread (or one nemesis thread) drives it.
 */
public final class Netfilter implements AutoCloseable {
    private static final AtomicInteger RUNS = new AtomicInteger();
    private static final long COMMAND_TIMEOUT_MS = 10_000;

    private final String chain;
    private final Path cgroupRoot;
    private final String cgroupBase;
    private final Map<Integer, String> addresses;
    private final List<String> drops = new ArrayList<>();
    private boolean closed;

    private Netfilter(String chain, Path cgroupRoot, String cgroupBase, Map<Integer, String> addresses) {
        this.chain = chain;
        this.cgroupRoot = cgroupRoot;
        this.cgroupBase = cgroupBase;
        this.addresses = new TreeMap<>(addresses);
    }

    /** Why packet faults cannot be made here, or empty when they can. */
    public static Optional<String> unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return Optional.of("network partitions need root (iptables rules and cgroups); running as " + System.getProperty("user.name"));
        }
        if (iptablesBinary().isEmpty()) {
            return Optional.of("network partitions need the iptables binary: install Debian's package 'iptables' (apt-get install iptables)");
        }
        if (cgroup2Mount().isEmpty()) {
            return Optional.of("network partitions need a writable cgroup v2 mount (none found in /proc/self/mounts)");
        }
        return Optional.empty();
    }

    /** Creates the chains and one cgroup per node; {@code addresses}: node id → its own loopback address. */
    public static Netfilter create(Map<Integer, String> addresses) {
        unavailableReason().ifPresent(r -> {
            throw new IllegalStateException(r);
        });
        String run = ProcessHandle.current().pid() + "-" + RUNS.incrementAndGet();
        Netfilter n = new Netfilter("BJ" + run, cgroup2Mount().orElseThrow(), "basalt-jepsen-" + run, addresses);
        n.setUp();
        return n;
    }

    private void setUp() {
        try {
            for (int id : addresses.keySet()) {
                Files.createDirectories(cgroupRoot.resolve(cgroupBase).resolve("node-" + id));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create cgroups under " + cgroupRoot, e);
        }
        iptables("-t", "nat", "-N", chain);
        iptables("-t", "nat", "-A", "POSTROUTING", "-j", chain);
        addresses.forEach((id, address) -> iptables("-t", "nat", "-A", chain, "-m", "cgroup", "--path", cgroupBase + "/node-" + id,
                "-d", "127.0.0.0/8", "-j", "SNAT", "--to-source", address));
        iptables("-t", "raw", "-N", chain);
        iptables("-t", "raw", "-A", "PREROUTING", "-j", chain);
        iptables("-t", "raw", "-A", "OUTPUT", "-j", chain);
    }

    /** The words that start node {@code id} inside its cgroup: a shell that joins the cgroup, then execs the JVM. */
    public List<String> launchPrefix(int id) {
        Path procs = cgroupRoot.resolve(cgroupBase).resolve("node-" + id).resolve("cgroup.procs");
        return List.of("/bin/sh", "-c", "echo $$ > '" + procs + "' && exec \"$@\"", "basalt-node-" + id);
    }

    /** Drops every packet node {@code from} sends to node {@code to} (one direction). */
    public void drop(int from, int to) {
        String rule = from + "->" + to;
        if (drops.contains(rule)) {
            return;
        }
        iptables("-t", "raw", "-A", chain, "-s", address(from), "-d", address(to), "-j", "DROP");
        drops.add(rule);
    }

    /**
     * Drops the TCP packets node {@code from} sends to port {@code port} of node {@code to}, and
     * nothing else: connections {@code to} opens towards {@code from} still work both ways (their
     * replies come from another port). A gray failure: {@code to} keeps heartbeating while
     * {@code from} cannot reach its listener.
     */
    public void dropToPort(int from, int to, int port) {
        String rule = from + "->" + to + ":" + port;
        if (drops.contains(rule)) {
            return;
        }
        iptables("-t", "raw", "-A", chain, "-s", address(from), "-d", address(to), "-p", "tcp", "--dport",
                Integer.toString(port), "-j", "DROP");
        drops.add(rule);
    }

    /** Drops packets both ways between every node of {@code a} and every node of {@code b}. */
    public void cut(List<Integer> a, List<Integer> b) {
        for (int x : a) {
            for (int y : b) {
                if (x != y) {
                    drop(x, y);
                    drop(y, x);
                }
            }
        }
    }

    /** Removes every drop rule: the network is whole again. */
    public void heal() {
        iptables("-t", "raw", "-F", chain);
        drops.clear();
    }

    /** The directed pairs now dropped ("from->to"). */
    public List<String> drops() {
        return List.copyOf(drops);
    }

    private String address(int id) {
        String a = addresses.get(id);
        if (a == null) {
            throw new IllegalArgumentException("no node " + id + " in " + addresses.keySet());
        }
        return a;
    }

    /** Removes the chains and (once the nodes have exited) the cgroups; safe to call twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> errors = new ArrayList<>();
        for (String[] cmd : new String[][] {
            {"-t", "raw", "-D", "PREROUTING", "-j", chain}, {"-t", "raw", "-D", "OUTPUT", "-j", chain},
            {"-t", "raw", "-F", chain}, {"-t", "raw", "-X", chain},
            {"-t", "nat", "-D", "POSTROUTING", "-j", chain}, {"-t", "nat", "-F", chain}, {"-t", "nat", "-X", chain}}) {
            try {
                iptables(cmd);
            } catch (RuntimeException e) {
                errors.add(e.getMessage());
            }
        }
        for (int id : addresses.keySet()) {
            try {
                Files.deleteIfExists(cgroupRoot.resolve(cgroupBase).resolve("node-" + id));
            } catch (IOException e) {
                errors.add("cgroup node-" + id + ": " + e);
            }
        }
        try {
            Files.deleteIfExists(cgroupRoot.resolve(cgroupBase));
        } catch (IOException e) {
            errors.add("cgroup " + cgroupBase + ": " + e);
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("netfilter clean-up of " + chain + " incomplete: " + errors);
        }
    }

    private static Optional<String> iptablesBinary() {
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            if (Files.isExecutable(Path.of(dir, "iptables"))) {
                return Optional.of(dir + "/iptables");
            }
        }
        return Optional.empty();
    }

    private static Optional<Path> cgroup2Mount() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"), StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                if (f.length > 3 && "cgroup2".equals(f[2]) && f[3].startsWith("rw") && Files.isWritable(Path.of(f[1]))) {
                    return Optional.of(Path.of(f[1]));
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static void iptables(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(iptablesBinary().orElseThrow(() -> new IllegalStateException("iptables not installed")));
        cmd.add("-w");
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish within " + COMMAND_TIMEOUT_MS + " ms");
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(String.join(" ", cmd), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

package dev.basalt.raft.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Real voter processes ({@code dev.basalt.raft.driver.RaftServerMain}) on 127.0.0.1 with free
 * ports and {@link dev.basalt.raft.log.FileRaftStore} data directories (the production store), driven over their stdin/stdout line
 * protocol. Thread-safe for one test thread plus one reader thread per process. Processes are
 * stopped by their own handle ({@link Process#destroyForcibly()} sends SIGKILL to that PID);
 * {@link #close()} kills whatever is still running.
 */
public final class RaftProcessCluster implements AutoCloseable {
    /** One line of {@code STATUS term leader commit applied digest}. */
    public record Status(long term, int leader, long commit, long applied, String digest) {
    }

    private final Map<Integer, InetSocketAddress> addresses;
    private final Path dataRoot;
    private final Map<Integer, NodeProcess> processes = new TreeMap<>();
    private final AtomicLong requestIds = new AtomicLong();

    public RaftProcessCluster(int voters, Path dataRoot) throws IOException {
        this.addresses = Ports.loopback(voters);
        this.dataRoot = dataRoot;
    }

    public List<Integer> ids() {
        return new ArrayList<>(addresses.keySet());
    }

    public void startAll() throws IOException, InterruptedException {
        for (Integer id : addresses.keySet()) {
            start(id);
        }
    }

    public void start(int id) throws IOException, InterruptedException {
        StringJoiner peers = new StringJoiner(",");
        addresses.forEach((peer, a) -> peers.add(peer + "=127.0.0.1:" + a.getPort()));
        Path data = dataRoot.resolve("node-" + id);
        Files.createDirectories(data);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "dev.basalt.raft.driver.RaftServerMain",
                "--id=" + id, "--peers=" + peers, "--data=" + data);
        pb.redirectError(dataRoot.resolve("node-" + id + ".stderr").toFile());
        NodeProcess p = new NodeProcess(id, pb.start());
        processes.put(id, p);
        if (p.await(line -> line.startsWith("READY"), 30_000) == null) {
            throw new IOException("node " + id + " did not start; see " + dataRoot.resolve("node-" + id + ".stderr"));
        }
    }

    /** kill -9 of the node's process. */
    public void kill(int id) throws InterruptedException {
        NodeProcess p = processes.remove(id);
        p.process.destroyForcibly();
        p.process.waitFor(10, TimeUnit.SECONDS);
    }

    public boolean isRunning(int id) {
        return processes.containsKey(id) && processes.get(id).process.isAlive();
    }

    public Status status(int id) throws IOException, InterruptedException {
        String line = processes.get(id).request("status", l -> l.startsWith("STATUS "), 5_000);
        String[] f = line.split(" ");
        return new Status(Long.parseLong(f[1]), Integer.parseInt(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]), f[5]);
    }

    /** Proposes {@code text} at node {@code id}; returns the committed index, or -1 on a refusal/failure. */
    public long propose(int id, String text, long timeoutMs) throws IOException, InterruptedException {
        long req = requestIds.incrementAndGet();
        String line = processes.get(id).request("propose " + req + " " + text,
                l -> l.startsWith("PROPOSED " + req + " "), timeoutMs);
        if (line == null) {
            return -1;
        }
        String[] f = line.split(" ");
        return f[2].equals("OK") ? Long.parseLong(f[3]) : -1;
    }

    /** The node every running node agrees leads, or -1. */
    public int agreedLeader() throws IOException, InterruptedException {
        int leader = -1;
        for (Integer id : processes.keySet()) {
            Status s = status(id);
            if (s.leader() < 0 || (leader >= 0 && s.leader() != leader) || !processes.containsKey(s.leader())) {
                return -1;
            }
            leader = s.leader();
        }
        return leader;
    }

    @Override
    public void close() {
        for (NodeProcess p : processes.values()) {
            p.process.destroyForcibly();
        }
        processes.clear();
    }

    private static final class NodeProcess {
        final Process process;
        final Writer stdin;
        final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<String> backlog = new ArrayList<>();

        NodeProcess(int id, Process process) {
            this.process = process;
            this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = r.readLine(); line != null; line = r.readLine()) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // the process died: no more lines
                }
            }, "raft-process-" + id + "-stdout");
            reader.setDaemon(true);
            reader.start();
        }

        synchronized String request(String command, java.util.function.Predicate<String> reply, long timeoutMs)
                throws IOException, InterruptedException {
            stdin.write(command + "\n");
            stdin.flush();
            return await(reply, timeoutMs);
        }

        synchronized String await(java.util.function.Predicate<String> match, long timeoutMs) throws InterruptedException {
            for (int i = 0; i < backlog.size(); i++) {
                if (match.test(backlog.get(i))) {
                    return backlog.remove(i);
                }
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (true) {
                long left = deadline - System.nanoTime();
                String line = lines.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
                if (line == null) {
                    return null;
                }
                if (match.test(line)) {
                    return line;
                }
                if (backlog.size() < 10_000) {
                    backlog.add(line);
                }
            }
        }
    }
}

package dev.basalt.raft.bench;

import dev.basalt.raft.driver.RaftNode;
import dev.basalt.raft.driver.RaftNodeConfig;
import dev.basalt.raft.driver.StateMachine;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.testkit.Ports;
import dev.basalt.raft.log.FileRaftStore;
import dev.basalt.raft.transport.GrpcTransport;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark (not a test): committed proposals per second of a 3-voter quorum on loopback, every
 * node in this JVM with its own gRPC server and a {@link FileRaftStore} that fsyncs every
 * append (batched: all proposals that arrive during one fsync share the next). Clients keep
 * {@code window} proposals of {@code payloadBytes} outstanding; the figure is proposals whose
 * future completed (committed on a majority and applied on the leader) per second over the
 * measured interval, after a warm-up. Single-use main; the counters it shares with the nodes'
 * threads are atomics.
 *
 * <p>Run: {@code ./mvnw -B -ntp -pl metadata-raft -am test-compile} then
 * {@code java -cp "metadata-raft/target/test-classes:metadata-raft/target/classes:$(cat cp.txt)"
 * dev.basalt.raft.bench.RaftThroughputBenchmark [dataDir] [seconds] [window] [payloadBytes]}, with
 * cp.txt from {@code ./mvnw -q -pl metadata-raft dependency:build-classpath -Dmdep.outputFile=cp.txt}.
 */
public final class RaftThroughputBenchmark {
    private RaftThroughputBenchmark() {
    }

    /** Counts applied entries; snapshots are its count. */
    static final class Counter implements StateMachine {
        private final AtomicLong applied = new AtomicLong();

        @Override
        public void apply(LogEntry entry) {
            applied.incrementAndGet();
        }

        @Override
        public byte[] snapshot() {
            return ByteBuffer.allocate(8).putLong(applied.get()).array();
        }

        @Override
        public void restore(SnapshotMeta meta, byte[] data) {
            applied.set(ByteBuffer.wrap(data).getLong());
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/bench-throughput");
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 15;
        int window = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        int payloadBytes = args.length > 3 ? Integer.parseInt(args[3]) : 100;
        Map<Integer, InetSocketAddress> addresses = Ports.loopback(3);
        Configuration voters = Configuration.of(List.of(1, 2, 3), List.of());
        List<RaftNode> nodes = new ArrayList<>();
        List<GrpcTransport> transports = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            Path data = dir.resolve("node-" + id + "-" + System.nanoTime());
            Files.createDirectories(data);
            GrpcTransport t = new GrpcTransport(id, addresses.get(id), addresses, GrpcTransport.Options.DEFAULT);
            transports.add(t);
            nodes.add(RaftNode.start(RaftNodeConfig.defaults(id, voters), FileRaftStore.open(data, FileRaftStore.Config.DEFAULT), new Counter(), t,
                    (nodeId, cause) -> cause.printStackTrace()));
        }
        byte[] payload = new byte[payloadBytes];
        Semaphore inflight = new Semaphore(window);
        AtomicLong committed = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicLong leaderChanges = new AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean leaderStale = new java.util.concurrent.atomic.AtomicBoolean(true);
        RaftNode leader = null;
        long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        long end = warmupEnd + TimeUnit.SECONDS.toNanos(seconds);
        long countedAtStart = -1;
        long nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        long lastReported = 0;
        while (System.nanoTime() < end) {
            if (System.nanoTime() >= nextReport) {
                long c = committed.get();
                System.out.printf("  %d commits/s%n", c - lastReported);
                lastReported = c;
                nextReport += TimeUnit.SECONDS.toNanos(1);
            }
            if (countedAtStart < 0 && System.nanoTime() >= warmupEnd) {
                countedAtStart = committed.get();
            }
            if (leaderStale.get()) {
                // a refusal means leadership moved: find the new leader before proposing again
                Thread.sleep(10);
                leader = nodes.stream().filter(RaftNode::isLeader).findFirst().orElse(null);
                if (leader == null) {
                    continue;
                }
                leaderStale.set(false);
                leaderChanges.incrementAndGet();
            }
            inflight.acquire();
            leader.propose(payload).whenComplete((index, err) -> {
                inflight.release();
                if (err == null) {
                    committed.incrementAndGet();
                } else {
                    failed.incrementAndGet();
                    leaderStale.set(true);
                }
            });
        }
        long total = committed.get() - countedAtStart;
        System.out.printf("RaftThroughputBenchmark: 3 voters, loopback gRPC, fsync per batch, window=%d, payload=%d B%n",
                window, payloadBytes);
        System.out.printf("  committed %d proposals in %d s = %.0f commits/s (failed: %d, leaders used: %d)%n",
                total, seconds, total / (double) seconds, failed.get(), leaderChanges.get());
        for (GrpcTransport t : transports) {
            System.out.printf("  transport dropped %d messages%n", t.droppedMessages());
        }
        for (RaftNode n : nodes) {
            n.close();
        }
    }
}

package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.Cluster;
import dev.basalt.harness.NodeProcess;
import dev.basalt.harness.ReplicaReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared set-up of the real-process cluster tests: a {@link Cluster} per test with fast failure
 * detection, topic creation that rides out controller changes, the replica-equality check, and
 * diagnostics on failure (every node's state and log tail printed, logs copied to
 * {@code target/e2e-logs/<class>/<test>/}) before the cluster is stopped by PID.
 *
 * <p>Timing: broker.session.timeout.ms 3000 and heartbeats every 500 ms, so a killed broker is
 * fenced within seconds; replica.lag.time.max.ms 4000. Every wait below is bounded; each test
 * class caps a test's time (90 to 240 s).
 *
 * <p>Test classes run beside each other, two at a time (junit-platform.properties). Classes whose
 * cases each start their own cluster and mostly wait on it (failover, catch-up, timeouts) mark those
 * cases {@code @Execution(CONCURRENT)} too. Either way two clusters share the two cores of CI, so
 * nothing in a case may be shared with another but the class's constants (each case has its own
 * instance, {@code tmp} and ports; none uses own addresses or packet rules).
 *
 * <p>Thread-safety: one test thread per instance (JUnit's default lifecycle).
 */
abstract class ClusterTestSupport {
    static final Duration READY = Duration.ofSeconds(45);
    static final Duration FAILOVER = Duration.ofSeconds(20);
    static final Duration CATCH_UP = Duration.ofSeconds(30);

    @TempDir
    Path tmp;
    Cluster cluster;

    @RegisterExtension
    final AfterTestExecutionCallback diagnoseOnFailure = this::diagnose;

    /** The fast-failure-detection configuration every cluster test starts from. */
    Cluster.Builder builder(int nodes) {
        return Cluster.builder(tmp.resolve("cluster")).nodes(nodes).rackPerNode()
                .config("broker.session.timeout.ms", "3000")
                .config("broker.heartbeat.interval.ms", "500")
                .config("replica.lag.time.max.ms", "4000");
    }

    Cluster start(Cluster.Builder b) {
        cluster = b.build();
        cluster.start(READY);
        return cluster;
    }

    @AfterEach
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private void diagnose(ExtensionContext ctx) {
        if (ctx.getExecutionException().isEmpty() || cluster == null) {
            return;
        }
        System.err.println("==== " + ctx.getDisplayName() + " failed; cluster state and log tails follow");
        System.err.println(cluster.diagnostics());
        Path out = Path.of("target", "e2e-logs", ctx.getRequiredTestClass().getSimpleName(), ctx.getRequiredTestMethod().getName());
        try {
            Files.createDirectories(out);
            for (int id : cluster.nodeIds()) {
                Path log = cluster.node(id).logFile();
                if (Files.exists(log)) {
                    Files.copy(log, out.resolve("node-" + id + ".log"), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            System.err.println("==== node logs copied to " + out.toAbsolutePath());
        } catch (IOException e) {
            System.err.println("could not copy node logs: " + e);
        }
    }

    /** Runs a CLI command in this JVM; returns its stdout and stderr. */
    static String[] cli(String bootstrap, String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        String[] all = new String[args.length + 2];
        all[0] = "-b";
        all[1] = bootstrap;
        System.arraycopy(args, 0, all, 2, args.length);
        int rc = dev.basalt.cli.BasaltCli.run(all, java.io.InputStream.nullInputStream(),
                new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        String o = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        String e = err.toString(java.nio.charset.StandardCharsets.UTF_8);
        org.junit.jupiter.api.Assertions.assertEquals(0, rc, String.join(" ", args) + ": " + o + e);
        return new String[] {o, e};
    }

    /** Creates a topic, retrying while the cluster elects a controller, then waits until every partition has a full ISR. */
    void createTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
        long deadline = System.nanoTime() + FAILOVER.toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try (Admin admin = cluster.admin()) {
                Admin.getAll(admin.createTopics(List.of(new NewTopic(name, partitions, replicationFactor, configs)), false),
                        Duration.ofSeconds(10));
                last = null;
                break;
            } catch (RuntimeException e) {
                if (e instanceof dev.basalt.client.TopicExistsException) {
                    last = null;
                    break;
                }
                last = e;
                sleepMs(300);
            }
        }
        if (last != null) {
            throw new AssertionError("cannot create topic " + name + ": " + last + "\n" + cluster.diagnostics(), last);
        }
        for (int p = 0; p < partitions; p++) {
            cluster.awaitPartition(name, p, s -> s.hasLeader() && s.isr().size() == replicationFactor, "a leader and a full ISR",
                    FAILOVER);
        }
    }

    /** Waits until the cluster describes broker {@code id} as fenced (or no longer lists it), so placement avoids it. */
    void awaitBrokerFenced(int id) {
        long deadline = System.nanoTime() + FAILOVER.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try (Admin admin = cluster.admin()) {
                var described = Admin.get(admin.describeCluster(true), Duration.ofSeconds(10));
                if (described.brokers().stream().noneMatch(b -> b.id() == id && !b.fenced())) {
                    return;
                }
                last = described.toString();
            } catch (RuntimeException e) {
                last = e.toString();
            }
            sleepMs(200);
        }
        throw new AssertionError("broker " + id + " not fenced within " + FAILOVER + "; last: " + last + "\n" + cluster.diagnostics());
    }

    AckedWrites writes(String bootstrap, String topic, int partitions, String prefix) {
        return new AckedWrites(bootstrap, topic, partitions, prefix, Map.of(), 64, 500);
    }

    /** Every acknowledged record of {@code w} is readable at its acknowledged offset. */
    void assertNothingLost(String topic, int partitions, List<AckedWrites.Ack> acks) {
        Map<Integer, Map<Long, String>> log = AckedWrites.readAll(cluster.runningBootstrap(), topic, partitions, Duration.ofSeconds(20));
        List<String> missing = AckedWrites.missing(acks, log);
        assertTrue(missing.isEmpty(), missing.size() + " of " + acks.size() + " acknowledged records lost or moved, e.g. "
                + missing.subList(0, Math.min(5, missing.size())));
    }

    /**
     * Every replica of the partition holds the same batches below the high watermark, read from
     * each replica itself (follower fetch, KIP-392); once the cluster is idle the replicas'
     * high watermarks converge, so the check waits for that first. Returns the common HW.
     */
    long assertReplicasIdentical(String topic, int partition) {
        Cluster.PartitionState s = cluster.awaitPartition(topic, partition, st -> st.hasLeader()
                && st.isr().containsAll(st.replicas()), "every replica in the ISR", CATCH_UP);
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        List<ReplicaReader.ReplicaLog> logs;
        while (true) {
            logs = new ArrayList<>();
            for (int id : s.replicas()) {
                NodeProcess n = cluster.node(id);
                logs.add(ReplicaReader.read(n, topic, partition));
            }
            long hw0 = logs.get(0).highWatermark();
            if (logs.stream().allMatch(l -> l.highWatermark() == hw0) || System.nanoTime() > deadline) {
                break;
            }
            sleepMs(200);
        }
        long hwMin = logs.stream().mapToLong(ReplicaReader.ReplicaLog::highWatermark).min().orElseThrow();
        ReplicaReader.ReplicaLog reference = logs.get(0);
        for (ReplicaReader.ReplicaLog l : logs) {
            assertEquals(reference.below(hwMin), l.below(hwMin), topic + "-" + partition + ": replica " + l.nodeId()
                    + " differs from replica " + reference.nodeId() + " below the HW " + hwMin + " (HWs "
                    + logs.stream().map(x -> x.nodeId() + ":" + x.highWatermark()).toList() + ")");
        }
        assertTrue(logs.stream().allMatch(l -> l.highWatermark() == hwMin),
                "replica HWs did not converge on an idle cluster: " + logs.stream().map(x -> x.nodeId() + ":" + x.highWatermark()).toList());
        return hwMin;
    }

    /** The highest acknowledged offset per partition (-1 when none). */
    static long maxAckedOffset(List<AckedWrites.Ack> acks, int partition) {
        return acks.stream().filter(a -> a.partition() == partition).mapToLong(AckedWrites.Ack::offset).max().orElse(-1);
    }

    static Optional<Integer> otherThan(List<Integer> ids, int... excluded) {
        outer:
        for (int id : ids) {
            for (int e : excluded) {
                if (id == e) {
                    continue outer;
                }
            }
            return Optional.of(id);
        }
        return Optional.empty();
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

package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.Cluster;
import dev.basalt.harness.ReplicaReader;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cluster harness itself, on a one-node cluster (which works before the multi-node work):
 * start and readiness, the active controller and partition leader questions, SIGSTOP/SIGCONT,
 * kill -9 and restart on the same data directory, the replica reader against the consumer's view,
 * the acknowledgement checker, and that close() leaves no process and no files behind.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=ClusterHarnessTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ClusterHarnessTest extends ClusterTestSupport {

    @Test
    void oneNodeClusterThroughEveryHarnessOperation() {
        start(builder(1));
        assertEquals(1, cluster.activeController(FAILOVER));
        createTopic("h", 2, 1, Map.of());
        assertEquals(1, cluster.awaitLeader("h", 0, FAILOVER));

        AckedWrites w = writes(cluster.bootstrap(), "h", 2, "h").start();
        assertTrue(w.awaitAcks(500, System.nanoTime() - 1, FAILOVER), w.summary());
        w.stop(Duration.ofSeconds(30));
        List<AckedWrites.Ack> acks = w.acks();
        assertEquals(w.sent(), acks.size(), "a healthy node acknowledges everything: " + w.summary());
        assertNothingLost("h", 2, acks);

        // The checker catches a lost write: an acknowledgement whose offset holds another value.
        Map<Integer, Map<Long, String>> log = AckedWrites.readAll(cluster.bootstrap(), "h", 2, Duration.ofSeconds(20));
        AckedWrites.Ack forged = new AckedWrites.Ack("never-written", 0, 0, System.nanoTime());
        assertEquals(1, AckedWrites.missing(List.of(forged), log).size());

        // The replica reader sees what the consumer sees: the same offsets up to the same HW.
        for (int p = 0; p < 2; p++) {
            ReplicaReader.ReplicaLog r = ReplicaReader.read(cluster.node(1), "h", p);
            long records = log.get(p).size();
            assertEquals(records, r.highWatermark(), "HW of partition " + p);
            assertEquals(records, r.batches().stream().mapToLong(b -> b.lastOffset() - b.baseOffset() + 1).sum());
            assertEquals(records, assertReplicasIdentical("h", p));
        }

        // SIGSTOP freezes the node (no answer on the admin port); SIGCONT brings it back.
        long pid = cluster.node(1).pid();
        cluster.pause(1);
        assertEquals(-1, cluster.node(1).httpStatus("/ready"));
        assertEquals(List.of(), cluster.runningIds());
        cluster.resume(1);
        cluster.awaitReady(List.of(1), READY);
        assertEquals(pid, cluster.node(1).pid());

        // kill -9 and restart on the same data: every acknowledged write is still there.
        cluster.kill9(1);
        assertFalse(cluster.node(1).isAlive());
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        cluster.restart(1, READY);
        assertNotEquals(pid, cluster.node(1).pid());
        assertNothingLost("h", 2, acks);

        // Graceful stop exits 0, and open client streams (a producer's ProduceStream, a consumer's
        // FetchStream, which never end by themselves) do not hold it for shutdown.timeout.ms (30 s):
        // found probing a cluster, where every SIGTERM with clients connected took 30 s.
        AckedWrites streaming = writes(cluster.bootstrap(), "h", 2, "open").start();
        assertTrue(streaming.awaitAcks(50, System.nanoTime() - 1, FAILOVER), streaming.summary());
        try (dev.basalt.client.Consumer<String, String> consumer = new dev.basalt.client.Consumer<>(
                Map.of("bootstrap.servers", cluster.bootstrap()), new dev.basalt.client.serialization.StringDeserializer(),
                new dev.basalt.client.serialization.StringDeserializer())) {
            consumer.assign(List.of(new dev.basalt.client.TopicPartition("h", 0)));
            consumer.poll(Duration.ofMillis(500));
            long stopAt = System.nanoTime();
            assertEquals(0, cluster.stop(1, Duration.ofSeconds(30)));
            long stopMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopAt);
            assertTrue(stopMs < 10_000, "a graceful stop with client streams open took " + stopMs + " ms");
        }
        cluster.restart(1, READY);
        // after the restart: what is in flight is delivered now (while the node was down it could only time out)
        streaming.stop(Duration.ofSeconds(30));
        long last = cluster.node(1).pid();
        assertTrue(cluster.diagnostics().contains("pid " + last));
        cluster.close();
        assertFalse(ProcessHandle.of(last).map(ProcessHandle::isAlive).orElse(false), "close() must stop the node");
        assertFalse(Files.exists(cluster.dir()), "close() wipes the cluster directory");
        cluster = null;
    }

    @Test
    void closeStopsAPausedNode() {
        Cluster c = builder(1).build();
        cluster = c;
        c.start(READY);
        long pid = c.node(1).pid();
        c.pause(1);
        c.close();
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "a paused node is stopped too");
        cluster = null;
    }
}

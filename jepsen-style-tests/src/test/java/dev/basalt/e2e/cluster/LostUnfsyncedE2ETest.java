package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.AckedWrites;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Crashes that lose every unfsynced write (the test-only lazyfs layer, {@code -Dbasalt.test.lazyfs=true};
 * {@code lazyfs-crash} on a node's standard input restores every segment, Raft and checkpoint file
 * it wrote through the file seams to its last fsynced content and halts the JVM).
 *
 * <p>Claims: (1) the leader of a partition crashed this way restarts, recovers its cut segments
 * and rejoins the ISR, and no acknowledged record is lost, both on a durable-acks topic and on a
 * {@code durable.acks=false} topic (whose tail on the crashed node was certainly unsynced: the
 * other ISR members still hold it); (2) with durable acks (the default) even a crash of every node
 * at once loses no acknowledged record.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=LostUnfsyncedE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}; node logs in target/e2e-logs/ on failure.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LostUnfsyncedE2ETest extends ClusterTestSupport {
    private static final String DURABLE = "durable";
    private static final String LAZY = "lazy";

    @Test
    void crashesLosingUnsyncedDataLoseNoAcknowledgedRecord() {
        // Small segments, as JepsenRun uses with the layer: its cost of cutting a preallocated tail.
        String segmentBytes = Integer.toString(dev.basalt.jepsen.schedule.FaultKind.LAZYFS_SEGMENT_BYTES);
        start(builder(3).jvmOption(dev.basalt.jepsen.schedule.FaultKind.LAZYFS_OPTION).config("log.segment.bytes", segmentBytes)
                .config("offsets.topic.segment.bytes", segmentBytes));
        createTopic(DURABLE, 2, 3, Map.of("min.insync.replicas", "2"));
        createTopic(LAZY, 1, 3, Map.of("min.insync.replicas", "2", "durable.acks", "false"));

        AckedWrites durable = writes(cluster.bootstrap(), DURABLE, 2, "d").start();
        AckedWrites lazy = writes(cluster.bootstrap(), LAZY, 1, "l").start();
        long t0 = System.nanoTime();
        assertTrue(durable.awaitAcks(200, t0, FAILOVER), "no durable acks before the crash: " + durable.summary());
        assertTrue(lazy.awaitAcks(200, t0, FAILOVER), "no lazy acks before the crash: " + lazy.summary());

        // (1) the lazy topic's leader loses its unsynced tail
        int victim = cluster.partition(LAZY, 0).leader();
        long crashedAt = System.nanoTime();
        assertEquals(86, cluster.node(victim).crashLosingUnsynced(Duration.ofSeconds(20)), "lazyfs crash exit code");
        List<String> discarded = cluster.node(victim).grepLog("lazyfs: crash");
        assertFalse(discarded.isEmpty(), "the node did not report a lazyfs crash");
        System.out.println("node " + victim + ": " + discarded.get(discarded.size() - 1));
        assertFalse(discarded.get(discarded.size() - 1).contains(" 0 unsynced"), "nothing was unsynced: " + discarded);
        assertTrue(lazy.awaitAcks(100, crashedAt, FAILOVER), "lazy produce did not resume: " + lazy.summary());
        assertTrue(durable.awaitAcks(100, crashedAt, FAILOVER), "durable produce did not resume: " + durable.summary());
        cluster.restart(victim, READY);
        lazy.stop(Duration.ofSeconds(40));
        assertNothingLost(LAZY, 1, lazy.acks());
        assertTrue(assertReplicasIdentical(LAZY, 0) > maxAckedOffset(lazy.acks(), 0));

        // (2) every node at once, durable acks: nothing acknowledged may go
        long before = System.nanoTime();
        assertTrue(durable.awaitAcks(100, before, FAILOVER), "durable produce stalled: " + durable.summary());
        cluster.nodeIds().forEach(id -> cluster.node(id).control("lazyfs-crash"));
        for (int id : cluster.nodeIds()) {
            assertEquals(86, cluster.node(id).awaitExit(Duration.ofSeconds(20)), "node " + id + " did not halt");
        }
        cluster.nodeIds().forEach(id -> cluster.node(id).launch());
        cluster.awaitReady(cluster.nodeIds(), READY);
        durable.stop(Duration.ofSeconds(60));
        assertNothingLost(DURABLE, 2, durable.acks());
        for (int p = 0; p < 2; p++) {
            assertTrue(assertReplicasIdentical(DURABLE, p) > maxAckedOffset(durable.acks(), p));
        }
    }
}

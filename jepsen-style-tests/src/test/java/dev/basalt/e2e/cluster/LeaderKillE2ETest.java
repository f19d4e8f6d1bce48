package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.AckedWrites;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * kill -9 of a partition leader during a stream of acks=all produces (RF 3, min.insync.replicas 2),
 * on three combined nodes, each its own JVM.
 *
 * <p>Claim (issue 9, "Tests that must exist"): every acknowledged record is readable afterwards at
 * its acknowledged offset; produce resumes on the new leader; after the killed node returns it
 * rejoins the ISR and all replicas hold identical logs up to the high watermark.
 *
 * <p>How replicas are compared: each replica is read directly (Fetch sent to that broker with its
 * own rack as client_rack, as a KIP-392 consumer does), batch by batch (offsets, leader epoch,
 * CRC), up to its HW; on an idle cluster the HWs converge and the batch lists must be equal.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=LeaderKillE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}; on failure node logs are in target/e2e-logs/. The long
 * variant (eight kills in a row, under {@code -Plong-tests}) runs only with basalt.long=true.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LeaderKillE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "orders";
    private static final int PARTITIONS = 3;

    @Test
    void everyAcknowledgedWriteSurvivesKill9OfThePartitionLeader() {
        start(builder(3));
        createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));

        AckedWrites w = writes(cluster.bootstrap(), TOPIC, PARTITIONS, "w").start();
        long t0 = System.nanoTime();
        assertTrue(w.awaitAcks(300, t0, FAILOVER), "no acks=all writes before the fault: " + w.summary());

        int victim = cluster.partition(TOPIC, 0).leader();
        long killedAt = System.nanoTime();
        cluster.kill9(victim);

        int newLeader = cluster.awaitLeader(TOPIC, 0, FAILOVER);
        assertNotEquals(victim, newLeader);
        assertTrue(w.awaitAcks(300, killedAt, FAILOVER), "produce did not resume after kill -9 of leader " + victim + ": "
                + w.summary());
        w.stop(Duration.ofSeconds(40));
        List<AckedWrites.Ack> acks = w.acks();
        assertNothingLost(TOPIC, PARTITIONS, acks);

        cluster.restart(victim, READY);
        for (int p = 0; p < PARTITIONS; p++) {
            long hw = assertReplicasIdentical(TOPIC, p);
            assertTrue(hw > maxAckedOffset(acks, p), TOPIC + "-" + p + ": HW " + hw + " below acknowledged offset "
                    + maxAckedOffset(acks, p));
        }
        // The returned node's data is served again: everything acknowledged is still there.
        assertNothingLost(TOPIC, PARTITIONS, acks);
    }

    @Test
    @Timeout(value = 480, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void repeatedLeaderKillsUnderLoadLoseNothing() {
        Assumptions.assumeTrue(Boolean.getBoolean("basalt.long"), "long variant: -Plong-tests");
        start(builder(3));
        createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
        AckedWrites w = writes(cluster.bootstrap(), TOPIC, PARTITIONS, "r").start();
        for (int round = 0; round < 8; round++) {
            int partition = round % PARTITIONS;
            int victim = cluster.awaitLeader(TOPIC, partition, FAILOVER);
            long killedAt = System.nanoTime();
            cluster.kill9(victim);
            cluster.awaitPartition(TOPIC, partition, s -> s.hasLeader() && s.leader() != victim, "a new leader", FAILOVER);
            assertTrue(w.awaitAcks(200, killedAt, FAILOVER), "round " + round + ": produce did not resume: " + w.summary());
            cluster.restart(victim, READY);
            for (int p = 0; p < PARTITIONS; p++) {
                cluster.awaitPartition(TOPIC, p, s -> s.isr().size() == 3, "full ISR after round", CATCH_UP);
            }
        }
        w.stop(Duration.ofSeconds(40));
        assertNothingLost(TOPIC, PARTITIONS, w.acks());
        for (int p = 0; p < PARTITIONS; p++) {
            assertTrue(assertReplicasIdentical(TOPIC, p) > maxAckedOffset(w.acks(), p));
        }
    }
}

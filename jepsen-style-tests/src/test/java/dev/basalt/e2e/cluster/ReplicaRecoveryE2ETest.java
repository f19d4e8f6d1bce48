package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.Cluster;
import dev.basalt.harness.ReplicaReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.Timeout;

/**
 * Replicas that fall behind or diverge, on three combined nodes, each its own JVM.
 *
 * <p>Claims (issue 9): a follower restarted after missing many writes catches up and rejoins the
 * ISR, with a log identical to the leader's; a leader paused with SIGSTOP while the others elect a
 * new leader truncates its unreplicated tail when resumed, so its log equals the new leader's, and
 * nothing acknowledged with acks=all is lost.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=ReplicaRecoveryE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReplicaRecoveryE2ETest extends ClusterTestSupport {

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void followerRestartedAfterMissingManyWritesCatchesUpAndRejoinsTheIsr() {
        start(builder(3));
        createTopic("catchup", 1, 3, Map.of("min.insync.replicas", "2"));
        Cluster.PartitionState s = cluster.partition("catchup", 0);
        int follower = otherThan(s.replicas(), s.leader()).orElseThrow();
        cluster.kill9(follower);
        cluster.awaitPartition("catchup", 0, st -> st.hasLeader() && !st.isr().contains(follower),
                "the killed follower out of the ISR", FAILOVER);

        // Many writes while it is away: 10,000 records of ~1 KiB (10 MB), hundreds of batches to fetch on return.
        AckedWrites w = new AckedWrites(cluster.runningBootstrap(), "catchup", 1, "x".repeat(1000),
                Map.of("linger.ms", 5, "batch.size", 65536), 2000, 0).start();
        assertTrue(w.awaitAcks(10_000, System.nanoTime() - 1, Duration.ofSeconds(30)), "writes with one follower down: "
                + w.summary());
        w.stop(Duration.ofSeconds(30));

        cluster.restart(follower, READY);
        cluster.awaitPartition("catchup", 0, st -> st.isr().contains(follower), "the restarted follower back in the ISR", CATCH_UP);
        long hw = assertReplicasIdentical("catchup", 0);
        assertTrue(hw > maxAckedOffset(w.acks(), 0), "HW " + hw + " below the last acknowledged offset");
        assertNothingLost("catchup", 1, w.acks());
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void pausedLeaderTruncatesItsUnreplicatedTailWhenResumed() throws Exception {
        start(builder(3));
        createTopic("tail", 1, 3, Map.of("min.insync.replicas", "2"));
        Cluster.PartitionState s = cluster.partition("tail", 0);
        int oldLeader = s.leader();
        List<Integer> followers = s.replicas().stream().filter(id -> id != oldLeader).toList();

        AckedWrites committed = writes(cluster.bootstrap(), "tail", 1, "committed").start();
        assertTrue(committed.awaitAcks(100, System.nanoTime() - 1, FAILOVER), committed.summary());
        committed.stop(Duration.ofSeconds(30));

        // An unreplicated tail: freeze both followers, then write with acks=1 to the leader alone,
        // one flushed batch at a time. A follower's fetch parked on the leader may still carry the
        // first of these batches into its socket; the later ones exist only on the leader.
        List<String> tail = new ArrayList<>();
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", cluster.node(oldLeader).bootstrap());
        c.put("acks", "1");
        c.put("linger.ms", 0);
        c.put("request.timeout.ms", 3_000);
        c.put("delivery.timeout.ms", 5_000);
        try (Producer<String, String> p = new Producer<>(c, new StringSerializer(), new StringSerializer())) {
            p.send(new ProducerRecord<>("tail", 0, null, "warm-up")).get(10, TimeUnit.SECONDS);
            followers.forEach(cluster::pause);
            for (int i = 0; i < 10; i++) {
                String v = "tail-" + i;
                RecordMetadata md = p.send(new ProducerRecord<>("tail", 0, null, v)).get(5, TimeUnit.SECONDS);
                assertEquals(0, md.partition());
                tail.add(v);
            }
        }
        cluster.pause(oldLeader);
        followers.forEach(cluster::resume);

        int newLeader = cluster.awaitPartition("tail", 0, st -> st.hasLeader() && st.leader() != oldLeader,
                "a new leader while the old one is paused", FAILOVER).leader();
        assertTrue(followers.contains(newLeader));
        AckedWrites afterElection = writes(cluster.runningBootstrap(), "tail", 1, "new-epoch").start();
        assertTrue(afterElection.awaitAcks(100, System.nanoTime() - 1, FAILOVER), "writes to the new leader "
                + newLeader + ": " + afterElection.summary());
        afterElection.stop(Duration.ofSeconds(30));

        cluster.resume(oldLeader);
        cluster.awaitPartition("tail", 0, st -> st.isr().contains(oldLeader), "the resumed old leader back in the ISR", CATCH_UP);
        assertReplicasIdentical("tail", 0);
        ReplicaReader.ReplicaLog resumed = ReplicaReader.read(cluster.node(oldLeader), "tail", 0);
        ReplicaReader.ReplicaLog leader = ReplicaReader.read(cluster.node(newLeader), "tail", 0);
        assertEquals(leader.below(leader.highWatermark()), resumed.below(leader.highWatermark()),
                "the resumed old leader's log must equal the new leader's");

        List<AckedWrites.Ack> acked = new ArrayList<>(committed.acks());
        acked.addAll(afterElection.acks());
        assertNothingLost("tail", 1, acked);
        Map<Integer, Map<Long, String>> log = AckedWrites.readAll(cluster.runningBootstrap(), "tail", 1, Duration.ofSeconds(20));
        List<String> survivingTail = tail.stream().filter(log.get(0)::containsValue).toList();
        assertFalse(survivingTail.containsAll(tail), "the acks=1 tail written only to the paused leader was never truncated:"
                + " all of " + tail + " are still in the log");
        assertNotEquals(oldLeader, newLeader);
    }
}

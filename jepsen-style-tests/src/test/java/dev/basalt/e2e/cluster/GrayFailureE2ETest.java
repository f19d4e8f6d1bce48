package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.Cluster;
import dev.basalt.harness.Netfilter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A gray failure of a partition leader, on three combined nodes (each its own JVM): the network
 * drops every packet the two followers send to the leader's client listener (where followers
 * fetch), and nothing else. The leader keeps heartbeating to the controller, so it is never fenced.
 *
 * <p>Found probing: the leader shrank its ISR to itself and the partition refused acks=all writes
 * (NOT_ENOUGH_REPLICAS) for the whole fault, as Kafka's would; after the network healed the
 * followers needed 80 s more to rejoin (their fetch streams sat on the black-holed connection, whose
 * TCP retransmissions had backed off to a minute).
 *
 * <p>Claims: the followers report the leader unreachable once their fetches have failed for
 * replica.lag.time.max.ms, the controller elects one of them (the partition cannot commit, and
 * every other eligible replica reports the leader), and acks=all writes resume during the fault;
 * once the network heals every replica is back in the ISR within seconds; nothing acknowledged is
 * lost and the replicas end identical.
 *
 * <p>Needs root, iptables and a writable cgroup v2 (the harness's {@link Netfilter}: its own
 * chains and cgroups, removed afterwards); elsewhere the test is skipped and says what is missing.
 * Unlike the other cluster tests it gives the nodes their own loopback addresses. Reproduce:
 * {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=GrayFailureE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GrayFailureE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "gray";
    /** Within this of the network healing, every replica is back in the ISR (80 s before the fix). */
    private static final Duration REJOIN = Duration.ofSeconds(20);

    @Test
    void followersThatCannotReachTheLeader_getTheirPartitionAnotherLeader_andRejoinSoonAfterTheHeal() {
        Netfilter.unavailableReason().ifPresent(r -> Assumptions.abort("packet faults unavailable: " + r));
        start(builder(3).networkFaults());
        createTopic(TOPIC, 1, 3, Map.of("min.insync.replicas", "2"));
        Netfilter net = cluster.netfilter().orElseThrow();

        AckedWrites w = writes(cluster.bootstrap(), TOPIC, 1, "g").start();
        long t0 = System.nanoTime();
        assertTrue(w.awaitAcks(300, t0, FAILOVER), "no acks=all writes before the fault: " + w.summary());

        int leader = cluster.awaitLeader(TOPIC, 0, FAILOVER);
        List<Integer> followers = cluster.nodeIds().stream().filter(id -> id != leader).toList();
        int port = cluster.node(leader).clientPort();
        long faultAt = System.nanoTime();
        for (int f : followers) {
            net.dropToPort(f, leader, port);
        }
        Cluster.PartitionState moved = cluster.awaitPartition(TOPIC, 0, s -> s.hasLeader() && s.leader() != leader,
                "a leader other than the unreachable " + leader, Duration.ofSeconds(40));
        assertNotEquals(leader, moved.leader());
        assertTrue(w.awaitAcks(300, faultAt, Duration.ofSeconds(40)), "acks=all writes did not resume during the fault: "
                + w.summary());
        assertFalse(cluster.grepLogs("Cannot reach leader broker " + leader).isEmpty(),
                "no follower warned that it cannot reach leader " + leader);

        net.heal();
        cluster.awaitPartition(TOPIC, 0, s -> s.isr().size() == 3, "every replica back in the ISR after the heal", REJOIN);

        w.stop(Duration.ofSeconds(40));
        List<AckedWrites.Ack> acks = w.acks();
        assertNothingLost(TOPIC, 1, acks);
        long hw = assertReplicasIdentical(TOPIC, 0);
        assertTrue(hw > maxAckedOffset(acks, 0), "HW " + hw + " below acknowledged offset " + maxAckedOffset(acks, 0));
    }
}

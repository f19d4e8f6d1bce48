package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Unclean leader election, on 3 controllers + 2 brokers (so killing both brokers never costs the
 * metadata quorum), each its own JVM. Two topics of one partition, RF 2, min.insync.replicas 1:
 * {@code t-safe} with unclean.leader.election.enable=false (the default), {@code t-lossy} with true.
 *
 * <p>Scenario: broker X is killed, so the ISR of both partitions shrinks to broker Y; writes are
 * acknowledged by Y alone; Y is killed; X returns: no live ISR member for either partition.
 *
 * <p>Claims (issue 9): with unclean election off the partition stays offline rather than lose data,
 * and once Y returns every acknowledged write is there; with it on the partition comes back on X,
 * the writes only Y had are lost, and the loss is logged (a log line naming "unclean" and the
 * partition, other than the echo of the config key).
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=UncleanElectionE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UncleanElectionE2ETest extends ClusterTestSupport {

    @Test
    void uncleanElectionOffKeepsThePartitionOfflineAndOnRecoversItWithTheLossLogged() {
        start(builder(5).controllers(3).jvmOptions(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")));
        createTopic("t-safe", 1, 2, Map.of("min.insync.replicas", "1", "unclean.leader.election.enable", "false"));
        createTopic("t-lossy", 1, 2, Map.of("min.insync.replicas", "1", "unclean.leader.election.enable", "true"));
        int x = 4;
        int y = 5;

        AckedWrites safe1 = writes(cluster.bootstrap(), "t-safe", 1, "safe-both").start();
        AckedWrites lossy1 = writes(cluster.bootstrap(), "t-lossy", 1, "lossy-both").start();
        assertTrue(safe1.awaitAcks(50, System.nanoTime() - 1, FAILOVER) && lossy1.awaitAcks(50, System.nanoTime() - 1, FAILOVER));
        safe1.stop(Duration.ofSeconds(30));
        lossy1.stop(Duration.ofSeconds(30));

        // Y must be in the ISR before X goes, or the scenario is not the one under test. Found in CI:
        // a controller change right after start fenced Y for a moment (its session moved 3 ms after
        // the new controller's grace), the ISR was [X] when X was killed, and t-safe stayed offline.
        for (String t : List.of("t-safe", "t-lossy")) {
            cluster.awaitPartition(t, 0, s -> s.isr().size() == 2, "both brokers in the ISR", FAILOVER);
        }
        cluster.kill9(x);
        for (String t : List.of("t-safe", "t-lossy")) {
            cluster.awaitPartition(t, 0, s -> s.leader() == y && s.isr().equals(List.of(y)), "ISR shrunk to broker " + y, FAILOVER);
        }
        AckedWrites safe2 = writes(cluster.node(y).bootstrap(), "t-safe", 1, "safe-only-y").start();
        AckedWrites lossy2 = writes(cluster.node(y).bootstrap(), "t-lossy", 1, "lossy-only-y").start();
        assertTrue(safe2.awaitAcks(50, System.nanoTime() - 1, FAILOVER) && lossy2.awaitAcks(50, System.nanoTime() - 1, FAILOVER),
                safe2.summary() + " / " + lossy2.summary());
        safe2.stop(Duration.ofSeconds(30));
        lossy2.stop(Duration.ofSeconds(30));

        cluster.kill9(y);
        cluster.restart(x, READY);

        // On: the partition comes back on X, the only live replica, with the loss logged.
        cluster.awaitPartition("t-lossy", 0, s -> s.leader() == x, "unclean election of broker " + x, FAILOVER);
        List<String> lossLines = cluster.grepLogs("unclean").stream()
                .filter(l -> l.contains("t-lossy") && !l.contains("unclean.leader.election.enable")).toList();
        assertFalse(lossLines.isEmpty(), "the unclean election of t-lossy-0 is not logged (no line naming 'unclean' and t-lossy)");
        assertNothingLost("t-lossy", 1, lossy1.acks());

        // Off: no live ISR member, so no leader, for as long as Y is away.
        for (int i = 0; i < 10; i++) {
            Cluster.PartitionState s = cluster.partition("t-safe", 0);
            assertEquals(-1, s.leader(), "t-safe-0 must stay offline without an in-sync replica, got " + s);
            sleepMs(300);
        }

        cluster.restart(y, READY);
        cluster.awaitPartition("t-safe", 0, s -> s.leader() == y, "t-safe-0 back on its in-sync replica " + y, FAILOVER);
        List<AckedWrites.Ack> safeAcks = new ArrayList<>(safe1.acks());
        safeAcks.addAll(safe2.acks());
        assertNothingLost("t-safe", 1, safeAcks);
        // Y follows the uncleanly elected X on t-lossy: it truncates what only it had, and the replicas agree again.
        assertReplicasIdentical("t-lossy", 0);
        assertReplicasIdentical("t-safe", 0);
    }
}

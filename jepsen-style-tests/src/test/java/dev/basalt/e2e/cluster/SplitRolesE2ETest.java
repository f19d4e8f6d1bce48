package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.harness.AckedWrites;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Broker-only nodes beside three dedicated controllers: 3 controllers (nodes 1-3) + 2 brokers
 * (nodes 4-5), each its own JVM, as in config/cluster-split/.
 *
 * <p>Claims (issue 9): broker-only nodes follow the metadata log as observers, register over the
 * Controller service and serve partitions; the cluster describes exactly them as brokers and the
 * controllers as the quorum's voters; killing the active controller moves control to another
 * controller while the brokers keep serving acks=all writes.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=SplitRolesE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SplitRolesE2ETest extends ClusterTestSupport {

    @Test
    void brokerOnlyNodesServeBesideThreeControllersAndSurviveAControllerKill() {
        start(builder(5).controllers(3).jvmOptions(List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")));
        try (Admin admin = cluster.admin()) {
            var described = Admin.get(admin.describeCluster(true), Duration.ofSeconds(10));
            Set<Integer> brokers = new TreeSet<>();
            described.brokers().forEach(b -> {
                brokers.add(b.id());
                assertTrue(!b.fenced(), "broker " + b.id() + " is fenced: " + b);
            });
            assertEquals(Set.of(4, 5), brokers, "only the broker-only nodes are brokers");
            assertTrue(Set.of(1, 2, 3).contains(described.controllerId()), "controller " + described.controllerId());
            var quorum = Admin.get(admin.describeQuorum(), Duration.ofSeconds(10));
            Set<Integer> voters = new TreeSet<>();
            quorum.voters().forEach(v -> voters.add(v.replicaId()));
            Set<Integer> observers = new TreeSet<>();
            quorum.observers().forEach(o -> observers.add(o.replicaId()));
            assertEquals(Set.of(1, 2, 3), voters);
            assertTrue(observers.containsAll(Set.of(4, 5)), "brokers follow the metadata log as observers: " + observers);
            // Only brokers answer clients here, and they ask the Raft leader: found probing, a broker
            // answered with the copy its last metadata fetch carried (refreshed every 2 s when idle),
            // seconds old. The leader hears from every voter every 50 ms (raft.heartbeat.interval.ms);
            // a voter unheard for 600 ms would already have started an election.
            for (long pauseMs : new long[] {300, 1_100, 700, 1_300, 500, 900}) {
                sleepMs(pauseMs);
                var q = Admin.get(admin.describeQuorum(), Duration.ofSeconds(10));
                long now = System.currentTimeMillis();
                for (var v : q.voters()) {
                    if (v.replicaId() != q.leaderId()) {
                        assertTrue(v.lastFetchTimestampMs() > 0 && now - v.lastFetchTimestampMs() < 1_000,
                                "voter " + v + " as a broker describes the quorum at " + now + ": " + q);
                    }
                }
            }
        }
        createTopic("split", 2, 2, Map.of("min.insync.replicas", "1"));
        AckedWrites w = writes(cluster.bootstrap(), "split", 2, "s").start();
        assertTrue(w.awaitAcks(200, System.nanoTime() - 1, FAILOVER), w.summary());

        int controller = cluster.activeController(FAILOVER);
        long killedAt = System.nanoTime();
        cluster.kill9(controller);
        int next = cluster.activeController(FAILOVER);
        assertNotEquals(controller, next);
        assertTrue(w.awaitAcks(200, killedAt, FAILOVER), "brokers stopped serving after the controller kill: " + w.summary());
        createTopic("split-after", 1, 2, Map.of());
        w.stop(Duration.ofSeconds(30));
        assertNothingLost("split", 2, w.acks());
        for (int p = 0; p < 2; p++) {
            assertReplicasIdentical("split", p);
        }
        cluster.restart(controller, READY);
        lagOfPartitionsTheCoordinatorHoldsNoReplicaOf();
        lastCaughtUpOfABrokerKilledWhileCaughtUp();

        // A majority of the controllers down: a broker-only node stops naming the last controller it heard from.
        List<Integer> doomed = List.of(1, 2);
        doomed.forEach(cluster::kill9);
        long deadline = System.nanoTime() + FAILOVER.toNanos();
        String[] described;
        do {
            sleepMs(500);
            described = cli(cluster.node(4).bootstrap(), "cluster");
        } while (!described[0].contains("Controller: none") && System.nanoTime() < deadline);
        assertTrue(described[0].contains("Controller: none") && described[0].contains("WARNING: no active controller"),
                "controllers " + doomed + " killed: " + described[0] + described[1]);
    }

    /**
     * Found probing: a broker killed while caught up showed LAST-CAUGHT-UP "never" as soon as the
     * metadata log moved on (the record fencing it), exactly when an operator looks.
     */
    private void lastCaughtUpOfABrokerKilledWhileCaughtUp() {
        int leader = cluster.activeController(FAILOVER);
        cluster.kill9(5);
        try (Admin admin = cluster.admin()) {
            long deadline = System.nanoTime() + FAILOVER.toNanos();
            boolean fenced = false;
            while (!fenced && System.nanoTime() < deadline) {
                sleepMs(200);
                fenced = Admin.get(admin.describeCluster(true), Duration.ofSeconds(10)).brokers().stream()
                        .anyMatch(b -> b.id() == 5 && b.fenced());
            }
            assertTrue(fenced, "broker 5 fenced after its kill");
            var q = Admin.get(admin.describeQuorum(), Duration.ofSeconds(10));
            if (q.leaderId() != leader) {
                // a new leader never heard from broker 5: nothing to check (not seen in practice)
                System.out.println("quorum leader moved from " + leader + " to " + q.leaderId() + "; broker 5's row not checked");
                cluster.restart(5, READY);
                return;
            }
            var five = q.observers().stream().filter(o -> o.replicaId() == 5).findFirst().orElseThrow();
            assertTrue(five.lag() > 0, "the log moved on past broker 5: " + q);
            assertTrue(five.lastCaughtUpTimestampMs() > 0, "broker 5 was caught up before its kill: " + q);
        }
        cluster.restart(5, READY);
    }

    /**
     * Found probing: with more brokers than replicas, the group coordinator showed lag -1 for every
     * partition it held no replica of (the lag monitor read only its own replicas); it asks the
     * leaders now. A topic of 2 partitions with one replica each puts one on each broker.
     */
    private void lagOfPartitionsTheCoordinatorHoldsNoReplicaOf() {
        createTopic("spread", 2, 1, Map.of());
        try (dev.basalt.client.Producer<String, String> p = new dev.basalt.client.Producer<>(Map.of("bootstrap.servers",
                cluster.bootstrap(), "acks", "all"), new dev.basalt.client.serialization.StringSerializer(),
                new dev.basalt.client.serialization.StringSerializer())) {
            for (int partition = 0; partition < 2; partition++) {
                for (int i = 0; i < 10; i++) {
                    dev.basalt.client.Producer.await(p.send(new dev.basalt.client.ProducerRecord<>("spread", partition, null, "v" + i)),
                            Duration.ofSeconds(20));
                }
            }
        }
        try (dev.basalt.client.GroupAdmin groups = new dev.basalt.client.GroupAdmin(Map.of("bootstrap.servers", cluster.bootstrap()))) {
            groups.alterOffsets("g", Map.of(new dev.basalt.client.TopicPartition("spread", 0), new dev.basalt.client.OffsetAndMetadata(3),
                    new dev.basalt.client.TopicPartition("spread", 1), new dev.basalt.client.OffsetAndMetadata(3)));
        }
        for (int id : List.of(4, 5)) { // each broker answers (the other forwards to the coordinator): lag 7 each, not -1
            Map<Integer, Long> lags = new java.util.TreeMap<>();
            long deadline = System.nanoTime() + FAILOVER.toNanos();
            while (System.nanoTime() < deadline) {
                var a = cluster.node(id).httpGet("/v1/groups/g/lag");
                lags.clear();
                if (a.code() == 200) {
                    com.google.gson.JsonParser.parseString(a.body()).getAsJsonObject().getAsJsonArray("partitions")
                            .forEach(e -> lags.put(e.getAsJsonObject().get("partition").getAsInt(),
                                    e.getAsJsonObject().get("lag").getAsLong()));
                    if (lags.equals(Map.of(0, 7L, 1, 7L))) {
                        break;
                    }
                }
                sleepMs(200);
            }
            assertEquals(Map.of(0, 7L, 1, 7L), lags, "lag by partition as broker " + id + " answers");
        }
    }
}

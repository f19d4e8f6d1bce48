package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.ReassignmentException;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.DecommissionProgress;
import dev.basalt.client.admin.PartitionReassignment;
import dev.basalt.client.admin.ReassignmentMove;
import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.Timeout;

/**
 * Growing and shrinking a live cluster of real processes (issue 12).
 *
 * <p>Claims: under continuous acks=all produce and an assign-based consumer, a fourth broker joins, a generated plan moves replicas
 * onto it (half of the partitions get a replica there) while the active controller is killed with
 * kill -9 mid-way — the new controller completes the reassignment; then broker 1 is decommissioned
 * and drained. Every acknowledged record stays readable at its offset, the producer reports no error
 * (its retries absorb the leadership moves), and every partition ends with RF 3 on exactly the brokers
 * intended.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=ReassignmentE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}. Slow under load: check {@code uptime} before blaming the code.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReassignmentE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "moves";
    private static final int PARTITIONS = 4;
    private static final Duration MOVE = Duration.ofSeconds(60);

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void fourthBrokerJoins_planMovesHalfOntoIt_controllerKilledMidway_thenBroker1Decommissioned() {
        start(builder(4)); // four combined nodes; node 4 is stopped at once and joins later
        cluster.stop(4, Duration.ofSeconds(20));
        awaitBrokerFenced(4);
        createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
        AckedWrites w = writes(cluster.bootstrap(), TOPIC, PARTITIONS, "r").start();
        Reader reader = new Reader(cluster.bootstrap());
        reader.start();
        assertTrue(w.awaitAcks(200, System.nanoTime() - 1, FAILOVER), "no writes before the moves: " + w.summary());

        cluster.node(4).launch(); // the new broker joins
        cluster.awaitReady(List.of(4), READY);
        Map<TopicPartition, List<Integer>> intended = new LinkedHashMap<>();
        try (Admin admin = cluster.admin()) {
            Duration t = Duration.ofSeconds(20);
            List<ReassignmentMove> plan = Admin.get(admin.generateReassignmentPlan(List.of(TOPIC), List.of(1, 2, 3, 4)), t);
            long ontoFour = plan.stream().filter(m -> m.target().contains(4) && !m.current().contains(4)).count();
            assertEquals(PARTITIONS * 3 / 4, ontoFour, "12 replicas over 4 brokers: 3 partitions get one on broker 4: " + plan);
            Map<TopicPartition, Optional<List<Integer>>> targets = new LinkedHashMap<>();
            for (ReassignmentMove m : plan) {
                targets.put(new TopicPartition(m.topic(), m.partition()), Optional.of(m.target()));
                intended.put(new TopicPartition(m.topic(), m.partition()), m.target());
            }
            Admin.getAll(admin.alterPartitionReassignments(targets), t);
        }
        // kill -9 of the active controller mid-way; it comes back so targets naming it can complete
        int controller = cluster.activeController(FAILOVER);
        cluster.kill9(controller);
        sleepMs(2_000);
        cluster.node(controller).launch();
        cluster.awaitReady(List.of(controller), READY);
        awaitNoReassignments();
        for (Map.Entry<TopicPartition, List<Integer>> e : intended.entrySet()) {
            assertEquals(new HashSet<>(e.getValue()), new HashSet<>(cluster.partition(TOPIC, e.getKey().partition()).replicas()),
                    "partition " + e.getKey() + " ended on other brokers than planned");
        }

        try (Admin admin = cluster.admin()) {
            ReassignmentException unknown = assertThrows(ReassignmentException.class,
                    () -> Admin.get(admin.decommissionBroker(99), Duration.ofSeconds(20)));
            assertEquals("UNKNOWN_BROKER_ID", unknown.reason(), unknown.getMessage());
            assertTrue(unknown.getMessage().contains("broker 99 is not registered"), unknown.getMessage());
            DecommissionProgress p = Admin.get(admin.decommissionBroker(1), Duration.ofSeconds(20));
            assertTrue(p.decommissioned());
            // The broker answering may apply the committed decommission a moment later: bounded wait.
            long seen = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            var described = Admin.get(admin.describeCluster(true), Duration.ofSeconds(20)).brokers();
            while (!described.stream().filter(b -> b.decommissioned()).map(b -> b.id()).toList().equals(List.of(1))
                    && System.nanoTime() < seen) {
                sleepMs(200);
                described = Admin.get(admin.describeCluster(true), Duration.ofSeconds(20)).brokers();
            }
            assertEquals(List.of(1), described.stream().filter(b -> b.decommissioned()).map(b -> b.id()).toList(),
                    "describeCluster marks broker 1 (only) decommissioned: " + described);
            long deadline = System.nanoTime() + MOVE.toNanos();
            while (!p.canStop()) {
                assertTrue(System.nanoTime() < deadline, "broker 1 still holds replicas: " + p);
                sleepMs(500);
                p = Admin.get(admin.decommissionBroker(1), Duration.ofSeconds(20));
            }
        }
        for (int p = 0; p < PARTITIONS; p++) {
            Cluster.PartitionState s = cluster.awaitPartition(TOPIC, p, st -> st.hasLeader() && st.isr().size() == 3,
                    "a leader and a full ISR", CATCH_UP);
            assertEquals(3, s.replicas().size(), "RF 3: " + s);
            assertFalse(s.replicas().contains(1), "decommissioned broker 1 still a replica: " + s);
        }
        assertTrue(w.awaitAcks(100, System.nanoTime(), FAILOVER), "produce stalled after the moves: " + w.summary());
        w.stop(Duration.ofSeconds(40));
        assertEquals(List.of(), w.failures(), "the producer reported errors: " + w.summary());
        assertNothingLost(TOPIC, PARTITIONS, w.acks());
        long deadline = System.nanoTime() + CATCH_UP.toNanos();
        while (!reader.caughtUpWith(w.acks()) && System.nanoTime() < deadline) {
            sleepMs(200);
        }
        reader.stop();
        assertEquals(List.of(), reader.errors, "the consumer saw errors during the moves");
        assertEquals(List.of(), reader.nonMonotonic, "the consumer's offsets went backwards or repeated");
        List<String> missing = AckedWrites.missing(w.acks(), reader.snapshot());
        assertTrue(missing.isEmpty(), "the live consumer missed " + missing.size() + " acknowledged records, e.g. "
                + missing.subList(0, Math.min(5, missing.size())));
    }

    /**
     * A consumer assigned every partition, polling from the beginning throughout the moves: it records
     * what it reads, any exception poll throws (retriable ones are handled inside the client and must
     * not surface), and any offset that does not increase within a partition.
     */
    private static final class Reader {
        final List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> nonMonotonic = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final Map<Integer, Map<Long, String>> read = new java.util.concurrent.ConcurrentHashMap<>();
        private final java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        private final Thread thread;

        Reader(String bootstrap) {
            for (int p = 0; p < PARTITIONS; p++) {
                read.put(p, new java.util.concurrent.ConcurrentSkipListMap<>());
            }
            thread = new Thread(() -> run(bootstrap), "reassign-e2e-reader");
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        private void run(String bootstrap) {
            Map<String, Object> c = new java.util.HashMap<>();
            c.put("bootstrap.servers", bootstrap);
            c.put("auto.offset.reset", "earliest");
            try (dev.basalt.client.Consumer<String, String> consumer = new dev.basalt.client.Consumer<>(c,
                    new dev.basalt.client.serialization.StringDeserializer(),
                    new dev.basalt.client.serialization.StringDeserializer())) {
                List<TopicPartition> tps = new java.util.ArrayList<>();
                for (int p = 0; p < PARTITIONS; p++) {
                    tps.add(new TopicPartition(TOPIC, p));
                }
                consumer.assign(tps);
                consumer.seekToBeginning(tps);
                Map<Integer, Long> last = new java.util.HashMap<>();
                while (running.get()) {
                    try {
                        for (dev.basalt.client.ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                            long prev = last.getOrDefault(r.partition(), -1L);
                            if (r.offset() <= prev) {
                                nonMonotonic.add(r.partition() + "@" + r.offset() + " after " + prev);
                            }
                            last.put(r.partition(), r.offset());
                            read.get(r.partition()).put(r.offset(), r.value());
                        }
                    } catch (RuntimeException e) {
                        errors.add(e.toString());
                    }
                }
            }
        }

        boolean caughtUpWith(List<AckedWrites.Ack> acks) {
            for (AckedWrites.Ack a : acks) {
                if (!read.get(a.partition()).containsKey(a.offset())) {
                    return false;
                }
            }
            return true;
        }

        Map<Integer, Map<Long, String>> snapshot() {
            Map<Integer, Map<Long, String>> copy = new java.util.TreeMap<>();
            read.forEach((p, m) -> copy.put(p, new java.util.TreeMap<>(m)));
            return copy;
        }

        void stop() {
            running.set(false);
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * {@code auto.rebalance.enable=true}: a broker that joins gets its share of replicas by itself,
     * a few partitions at a time, while writes go on; nothing acknowledged is lost.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void withAutoRebalance_aJoiningBrokerGetsItsShareByItself() {
        start(builder(4).config("auto.rebalance.enable", "true").config("auto.rebalance.check.interval.ms", "500")
                .config("auto.rebalance.partitions.per.step", "1"));
        cluster.stop(4, Duration.ofSeconds(20));
        awaitBrokerFenced(4);
        // With broker 4 registered but fenced the cluster is not healthy: nothing may move.
        createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
        AckedWrites w = writes(cluster.bootstrap(), TOPIC, PARTITIONS, "a").start();
        assertTrue(w.awaitAcks(200, System.nanoTime() - 1, FAILOVER), "no writes before the join: " + w.summary());
        sleepMs(1_500);
        for (int p = 0; p < PARTITIONS; p++) {
            assertFalse(cluster.partition(TOPIC, p).replicas().contains(4), "moved onto a fenced broker");
        }
        cluster.node(4).launch();
        cluster.awaitReady(List.of(4), READY);
        // 12 replicas over 4 brokers: 3 each, so 3 partitions must get a replica on broker 4.
        long deadline = System.nanoTime() + MOVE.toNanos();
        long onFour = 0;
        while (System.nanoTime() < deadline) {
            onFour = 0;
            boolean settled = true;
            for (int p = 0; p < PARTITIONS; p++) {
                var s = cluster.partition(TOPIC, p);
                onFour += s.replicas().contains(4) ? 1 : 0;
                settled &= s.replicas().size() == 3;
            }
            if (onFour == 3 && settled) {
                break;
            }
            sleepMs(250);
        }
        assertEquals(3, onFour, "broker 4's share after " + MOVE + "\n" + cluster.diagnostics());
        awaitNoReassignments();
        assertTrue(w.awaitAcks(200, System.nanoTime(), FAILOVER), "writes stopped: " + w.summary());
        w.stop(Duration.ofSeconds(30));
        assertNothingLost(TOPIC, PARTITIONS, w.acks());
        boolean logged = false;
        for (int n = 1; n <= 4; n++) {
            logged |= !cluster.node(n).grepLog("auto.rebalance.enable: started moving").isEmpty();
        }
        assertTrue(logged, "the controller says what it moved");
    }

    private void awaitNoReassignments() {
        long deadline = System.nanoTime() + MOVE.toNanos();
        List<PartitionReassignment> last = List.of();
        while (System.nanoTime() < deadline) {
            try (Admin admin = cluster.admin()) {
                last = Admin.get(admin.listPartitionReassignments(List.of(TOPIC)), Duration.ofSeconds(10));
                if (last.isEmpty()) {
                    return;
                }
            } catch (RuntimeException e) {
                // a controller change in progress: ask again
            }
            sleepMs(500);
        }
        throw new AssertionError("reassignments still in progress after " + MOVE + ": " + last + "\n" + cluster.diagnostics());
    }
}

package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.AckedWrites;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The idempotent producer (issue 11) across kill -9 of partition leaders: three combined nodes,
 * each its own JVM, RF 3, min.insync.replicas 2, a stream of acks=all produces with idempotence on
 * (the default) and short request timeouts, so batches in flight when the leader dies are retried
 * to the new leader, some of them after the old leader had stored and replicated them.
 *
 * <p>Claims: every acknowledged record is readable at its acknowledged offset; no record is stored
 * twice (anomaly {@code duplicate}: the new leader recognises retries of batches the old leader
 * accepted, from the producer state it rebuilt by replicating); within each partition the records
 * are stored in send order (anomaly {@code reordered}); replicas are identical below the HW.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify
 * -Dtest=IdempotentProducerE2ETest -Dsurefire.failIfNoSpecifiedTests=false}; node logs of a failed
 * run are in target/e2e-logs/.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IdempotentProducerE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "ledger";
    private static final int PARTITIONS = 3;

    @Test
    void leaderKill9_whileRetrying_noDuplicatesNoReordering_everyAckAtItsOffset() {
        start(builder(3));
        createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
        // request.timeout.ms short, so requests caught by the kill time out and are retried
        AckedWrites w = new AckedWrites(cluster.bootstrap(), TOPIC, PARTITIONS, "i",
                Map.of("request.timeout.ms", 2_000, "delivery.timeout.ms", 60_000, "enable.idempotence", true), 64, 200).start();
        long t0 = System.nanoTime();
        assertTrue(w.awaitAcks(300, t0, FAILOVER), "no writes before the fault: " + w.summary());

        for (int round = 0; round < 2; round++) {
            int partition = round % PARTITIONS;
            int victim = cluster.awaitLeader(TOPIC, partition, FAILOVER);
            long killedAt = System.nanoTime();
            cluster.kill9(victim);
            int newLeader = cluster.awaitPartition(TOPIC, partition, s -> s.hasLeader() && s.leader() != victim, "a new leader",
                    FAILOVER).leader();
            assertNotEquals(victim, newLeader);
            assertTrue(w.awaitAcks(300, killedAt, FAILOVER), "round " + round + ": produce did not resume after kill -9 of "
                    + victim + ": " + w.summary());
            cluster.restart(victim, READY);
            for (int p = 0; p < PARTITIONS; p++) {
                cluster.awaitPartition(TOPIC, p, s -> s.isr().size() == 3, "full ISR after round " + round, CATCH_UP);
            }
        }
        w.stop(Duration.ofSeconds(60));
        List<AckedWrites.Ack> acks = w.acks();
        assertNothingLost(TOPIC, PARTITIONS, acks);
        Map<Integer, Map<Long, String>> log = AckedWrites.readAll(cluster.runningBootstrap(), TOPIC, PARTITIONS,
                Duration.ofSeconds(30));
        List<String> duplicates = AckedWrites.duplicates(log);
        assertTrue(duplicates.isEmpty(), "duplicate: " + duplicates.size() + ", e.g. " + duplicates.subList(0,
                Math.min(5, duplicates.size())) + "; " + w.summary());
        List<String> reordered = AckedWrites.reordered(log, "i");
        assertTrue(reordered.isEmpty(), "reordered: " + reordered.size() + ", e.g. " + reordered.subList(0,
                Math.min(5, reordered.size())));
        for (int p = 0; p < PARTITIONS; p++) {
            assertTrue(assertReplicasIdentical(TOPIC, p) > maxAckedOffset(acks, p));
        }
    }
}

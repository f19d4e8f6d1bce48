package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.DefiniteException;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.Cluster;
import dev.basalt.harness.ReplicaReader;
import dev.basalt.harness.ReplicaReader.KeyedRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.Timeout;

/**
 * A compacted topic (RF 3, min.insync.replicas 2) written key by key with acks=all, values and
 * tombstones, some tombstones carrying a month-old timestamp, while its leader is killed with -9
 * and restarted; each replica compacts on its own.
 *
 * <p>Claim: on every replica, read directly (KIP-392), each key's last record is its last
 * acknowledged write at the acknowledged offset (a tombstone included, with its timestamp, while
 * delete.retention.ms has not passed since compaction first kept it), unless a later write of
 * that key had an unknown outcome; replaying any replica gives the same key → value map; and
 * compaction did remove superseded records on every replica, the restarted one included.
 * Replicas are not compared batch by batch: each compacts on its own schedule.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify
 * -Dtest=CompactedTopicLeaderKillE2ETest -Dsurefire.failIfNoSpecifiedTests=false}; on failure
 * node logs are in target/e2e-logs/.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CompactedTopicLeaderKillE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "kv";
    private static final int KEYS = 30;

    /** One write, in send order (one at a time, so send order is offset order). */
    private record Write(String key, String value, long timestamp, long offset, boolean certain) {
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void lastAcknowledgedWritePerKey_onEveryReplica_acrossAKill9OfTheLeader() throws Exception {
        start(builder(3).config("log.cleaner.backoff.ms", "300"));
        createTopic(TOPIC, 1, 3, Map.of("cleanup.policy", "compact", "min.insync.replicas", "2", "segment.bytes", "4096",
                "min.compaction.lag.ms", "0", "delete.retention.ms", "600000",
                "min.cleanable.dirty.ratio", "0.01")); // the check below waits for every write to be compacted

        List<Write> writes = new CopyOnWriteArrayList<>();
        AtomicBoolean running = new AtomicBoolean(true);
        long monthAgo = System.currentTimeMillis() - 30L * 24 * 3600 * 1000;
        String bootstrap = cluster.bootstrap();
        Thread writer = new Thread(() -> write(bootstrap, writes, running, monthAgo), "kv-writer");
        writer.start();
        try {
            awaitAcked(writes, 500);
            int victim = cluster.partition(TOPIC, 0).leader();
            cluster.kill9(victim);
            int newLeader = cluster.awaitLeader(TOPIC, 0, FAILOVER);
            assertNotEquals(victim, newLeader);
            awaitAcked(writes, acked(writes) + 300);
            cluster.restart(victim, READY);
            awaitAcked(writes, acked(writes) + 300);
        } finally {
            running.set(false);
            writer.join(60_000);
        }
        cluster.awaitPartition(TOPIC, 0, s -> s.hasLeader() && s.isr().size() == 3, "a full ISR", CATCH_UP);
        // Records of other keys roll the segments, so the tail of the writes above becomes cleanable.
        long end = fill(cluster.bootstrap()) + 1;

        // Wait until every replica has the log up to there and has compacted all of the writes:
        // at most one record per key left of them (none once a tombstone were wrongly removed).
        Map<Integer, List<KeyedRecord>> replicas = new LinkedHashMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            replicas.clear();
            for (int id : cluster.partition(TOPIC, 0).replicas()) {
                replicas.put(id, ReplicaReader.readKeyedRecords(cluster.node(id), TOPIC, 0));
            }
            boolean caughtUp = replicas.values().stream().allMatch(r -> !r.isEmpty() && r.get(r.size() - 1).offset() + 1 >= end);
            boolean compacted = replicas.values().stream().allMatch(r -> r.stream().filter(x -> x.key().startsWith("k"))
                    .collect(java.util.stream.Collectors.groupingBy(KeyedRecord::key, java.util.stream.Collectors.counting()))
                    .values().stream().allMatch(n -> n == 1));
            if ((caughtUp && compacted) || System.nanoTime() > deadline) {
                assertTrue(caughtUp, "replicas did not catch up to offset " + end + ": " + summary(replicas));
                assertTrue(compacted, "some replica did not compact the writes to one record per key: " + summary(replicas));
                break;
            }
            sleepMs(300);
        }

        // Per key: the last acknowledged write, and whether a later write of the key is uncertain.
        Map<String, Write> lastAcked = new HashMap<>();
        Map<String, Boolean> uncertainAfter = new HashMap<>();
        for (Write w : writes) {
            if (w.certain()) {
                lastAcked.put(w.key(), w);
                uncertainAfter.put(w.key(), false);
            } else {
                uncertainAfter.put(w.key(), true);
            }
        }
        Map<String, String> reference = null;
        int oldTombstonesChecked = 0;
        for (Map.Entry<Integer, List<KeyedRecord>> e : replicas.entrySet()) {
            Map<String, KeyedRecord> lastByKey = new HashMap<>();
            long previous = -1;
            for (KeyedRecord r : e.getValue()) {
                assertTrue(r.offset() > previous, "replica " + e.getKey() + ": offsets go back at " + r.offset());
                previous = r.offset();
                lastByKey.put(r.key(), r);
            }
            for (Map.Entry<String, Write> k : lastAcked.entrySet()) {
                if (uncertainAfter.get(k.getKey())) {
                    continue;
                }
                Write w = k.getValue();
                KeyedRecord got = lastByKey.get(k.getKey());
                String where = "replica " + e.getKey() + ", key " + k.getKey() + ": last acknowledged " + w;
                assertTrue(got != null, where + ", but the key is gone" + (w.value() == null ? " (its tombstone was removed)" : ""));
                assertEquals(w.offset(), got.offset(), where + ", found " + got);
                assertEquals(w.value(), got.value(), where + ", found " + got);
                assertEquals(w.timestamp(), got.timestamp(), where + ", found " + got);
                if (w.value() == null && w.timestamp() == monthAgo) {
                    oldTombstonesChecked++;
                }
            }
            Map<String, String> replay = new HashMap<>();
            for (KeyedRecord r : e.getValue()) {
                replay.put(r.key(), r.value());
            }
            if (reference == null) {
                reference = replay;
            } else {
                assertEquals(reference, replay, "replica " + e.getKey() + " replays to another map than the first replica");
            }
        }
        assertTrue(oldTombstonesChecked > 0, "no month-old tombstone was a key's last acknowledged write");
    }

    /**
     * Found probing a cluster: a follower down longer than delete.retention.ms came back, the
     * leader had already removed a tombstone written meanwhile, so the follower never got it and
     * kept the deleted value for good (and served it once it led). A tombstone is now removed only
     * below where every replica holds the log.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aFollowerDownPastDeleteRetention_stillGetsTheDeletion() throws Exception {
        String topic = "cd";
        int victim = startWithZ(topic);
        cluster.kill9(victim);
        long tombstoneOffset = produce(topic, "z", null);
        // Several cleaner passes well past delete.retention.ms: the survivors may not remove it.
        sleepMs(4_000);
        for (int id : cluster.partition(topic, 0).isr()) {
            List<KeyedRecord> r = ReplicaReader.readKeyedRecords(cluster.node(id), topic, 0);
            assertTrue(r.stream().anyMatch(x -> x.offset() == tombstoneOffset && x.value() == null),
                    "replica " + id + " removed the tombstone while replica " + victim + " lacks it: " + zOf(r));
        }
        cluster.restart(victim, READY);
        cluster.awaitPartition(topic, 0, st -> st.isr().size() == 3, "a full ISR", CATCH_UP);
        // Once every replica holds it, it goes everywhere; no replica keeps the deleted value. A
        // replica is judged once its high watermark is past the tombstone: the restarted one joins
        // the ISR holding it, but sees it below its high watermark only a fetch later.
        //
        // A read of a replica is one fetch per segment, not a snapshot. The restarted replica
        // fetched the tombstone's batch with the delete horizon the leader set long ago, so one
        // cleaner pass there removes both z=1 and the tombstone; a read that takes the first
        // segment before that pass and the tombstone's after it sees z=1 alone. So a replica
        // showing the deleted value is read again after the pass has had time to end, and judged
        // on that read: a replica that really kept the value still shows it.
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        Map<Integer, List<KeyedRecord>> zs = new LinkedHashMap<>();
        while (true) {
            zs.clear();
            for (int id : cluster.partition(topic, 0).replicas()) {
                ReplicaReader.KeyedLog log = ReplicaReader.readKeyedLog(cluster.node(id), topic, 0);
                List<KeyedRecord> z = zOf(log.records());
                if (log.highWatermark() > tombstoneOffset && keepsDeletedValue(z)) {
                    List<KeyedRecord> first = z;
                    sleepMs(1_000);
                    log = ReplicaReader.readKeyedLog(cluster.node(id), topic, 0);
                    z = zOf(log.records());
                    System.out.println("replica " + id + " showed " + first + " with no tombstone after it; read again 1 s later: " + z);
                    assertTrue(!keepsDeletedValue(z), "replica " + id + " keeps the deleted value past its high watermark "
                            + log.highWatermark() + " in two reads 1 s apart: " + z);
                }
                zs.put(id, z);
            }
            if (zs.values().stream().allMatch(List::isEmpty)) {
                break;
            }
            assertTrue(System.nanoTime() < deadline, "the tombstone was never removed once every replica held it: " + zs);
            produce(topic, "filler", "roll"); // keeps the segments rolling so the tail becomes cleanable
            sleepMs(300);
        }
    }

    /**
     * Found probing a cluster: a follower was reassigned out of a compacted partition while it was
     * down, a key was deleted and the tombstone removed (every remaining replica held it), and the
     * node was reassigned back before it restarted. It kept its old log, which still held the
     * deleted value, and fetched on from its log end: the deletion was gone, so it kept the value
     * for good and would serve it once it led. It now learns from the leader that tombstones were
     * removed past its log end, and refetches the whole log.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aReplicaReassignedOutWhileDownAndBackBeforeItRestarts_refetchesAndDropsTheDeletedValue() throws Exception {
        String topic = "ro";
        int victim = startWithZ(topic);
        List<Integer> others = cluster.partition(topic, 0).replicas().stream().filter(r -> r != victim).toList();
        await(victim, topic, r -> zOf(r).stream().anyMatch(x -> "1".equals(x.value())), "holds z=1");
        cluster.kill9(victim);
        reassign(topic, others);
        cluster.awaitPartition(topic, 0, st -> st.replicas().size() == 2 && st.replicas().containsAll(others),
                "replicas " + others + " only", CATCH_UP);

        long tombstoneOffset = produce(topic, "z", null);
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (others.stream().anyMatch(id -> !zOf(ReplicaReader.readKeyedRecords(cluster.node(id), topic, 0)).isEmpty())) {
            assertTrue(System.nanoTime() < deadline, "the replicas left never removed the tombstone at " + tombstoneOffset);
            produce(topic, "filler", "roll");
            sleepMs(300);
        }

        List<Integer> back = new ArrayList<>(others);
        back.add(victim);
        reassign(topic, back); // while the victim is still down: it restarts as a replica, with its old log
        // Meanwhile the move is in progress and shown as such: the victim is being added, and the
        // replication factor counts only the replicas the partition has (2) until it completes.
        try (dev.basalt.client.Admin admin = cluster.admin()) {
            long seen = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            dev.basalt.client.admin.PartitionDescription moving = describe(admin, topic);
            while (!moving.reassigning() && System.nanoTime() < seen) { // the broker answering may apply the start a moment later
                sleepMs(100);
                moving = describe(admin, topic);
            }
            assertEquals(List.of(victim), moving.addingReplicas(), moving.toString());
            assertEquals(List.of(), moving.removingReplicas(), moving.toString());
            assertEquals(2, moving.replicationFactor(), moving.toString());
        }
        cluster.restart(victim, READY);
        cluster.awaitPartition(topic, 0, st -> st.replicas().size() == 3 && st.isr().size() == 3,
                "the reassignment back completed", CATCH_UP);
        List<KeyedRecord> z = zOf(ReplicaReader.readKeyedRecords(cluster.node(victim), topic, 0));
        assertTrue(z.isEmpty(), "replica " + victim + " keeps the value whose deletion it never fetched: " + z);
        String nodeLog = java.nio.file.Files.readString(cluster.node(victim).logFile());
        assertTrue(nodeLog.contains("refetching the whole log"), "replica " + victim + " did not say it refetched its log");
    }

    /**
     * Starts 3 nodes and a compacted topic of 1 KiB segments whose tombstones may go 1 s after
     * the cleaner first keeps them, writes z=1; returns a follower of its partition.
     */
    private int startWithZ(String topic) throws Exception {
        start(builder(3).config("log.cleaner.backoff.ms", "300"));
        createTopic(topic, 1, 3, Map.of("cleanup.policy", "compact", "min.insync.replicas", "2", "segment.bytes", "1024",
                "delete.retention.ms", "1000", "min.compaction.lag.ms", "0"));
        produce(topic, "z", "1");
        Cluster.PartitionState s = cluster.partition(topic, 0);
        return s.replicas().stream().filter(r -> r != s.leader()).findFirst().orElseThrow();
    }

    private void reassign(String topic, List<Integer> target) throws Exception {
        try (dev.basalt.client.Admin admin = cluster.admin()) {
            dev.basalt.client.Admin.getAll(admin.alterPartitionReassignments(
                    Map.of(new dev.basalt.client.TopicPartition(topic, 0), java.util.Optional.of(target))), Duration.ofSeconds(20));
        }
    }

    private static dev.basalt.client.admin.PartitionDescription describe(dev.basalt.client.Admin admin, String topic) {
        return dev.basalt.client.Admin.get(admin.describeTopics(List.of(topic)), Duration.ofSeconds(20)).get(topic).partitions().get(0);
    }

    private void await(int id, String topic, java.util.function.Predicate<List<KeyedRecord>> condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.test(ReplicaReader.readKeyedRecords(cluster.node(id), topic, 0))) {
            assertTrue(System.nanoTime() < deadline, "replica " + id + " never " + what);
            sleepMs(100);
        }
    }

    /** Whether z's last record is the value the tombstone deleted (not the tombstone, and not gone). */
    private static boolean keepsDeletedValue(List<KeyedRecord> z) {
        return !z.isEmpty() && z.get(z.size() - 1).value() != null;
    }

    private static List<KeyedRecord> zOf(List<KeyedRecord> records) {
        return records.stream().filter(r -> "z".equals(r.key())).toList();
    }

    /** Writes the record and 40 fillers after it (rolling the 1 KiB segments); returns the record's offset. */
    private long produce(String topic, String key, String value) throws Exception {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", cluster.runningBootstrap());
        cfg.put("acks", "all");
        try (Producer<String, String> p = new Producer<>(cfg, new StringSerializer(), new StringSerializer())) {
            long offset = p.send(new ProducerRecord<>(topic, 0, key, value)).get(30, TimeUnit.SECONDS).offset();
            List<java.util.concurrent.CompletableFuture<RecordMetadata>> fillers = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                fillers.add(p.send(new ProducerRecord<>(topic, 0, "f" + i, "filler-" + i + "-" + "x".repeat(20))));
            }
            for (var f : fillers) {
                f.get(30, TimeUnit.SECONDS);
            }
            return offset;
        }
    }

    /** Sends one record at a time until stopped: values, tombstones, and some tombstones a month old. */
    private static void write(String bootstrap, List<Write> writes, AtomicBoolean running, long monthAgo) {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", bootstrap);
        cfg.put("acks", "all");
        cfg.put("request.timeout.ms", 10_000);
        cfg.put("delivery.timeout.ms", 30_000);
        try (Producer<String, String> p = new Producer<>(cfg, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; running.get(); i++) {
                String key = "k" + (i % KEYS);
                boolean tombstone = i % 5 == 4;
                String value = tombstone ? null : "v" + i;
                long ts = tombstone && i % 10 == 9 ? monthAgo : System.currentTimeMillis();
                try {
                    RecordMetadata m = p.send(new ProducerRecord<>(TOPIC, 0, ts, key, value, List.of())).get(40, TimeUnit.SECONDS);
                    writes.add(new Write(key, value, ts, m.offset(), true));
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof DefiniteException)) {
                        writes.add(new Write(key, value, ts, -1, false)); // may have been written
                    }
                } catch (java.util.concurrent.TimeoutException e) {
                    writes.add(new Write(key, value, ts, -1, false));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Writes 300 records of other keys ("f0".."f4"); returns the last one's offset. */
    private static long fill(String bootstrap) throws Exception {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", bootstrap);
        cfg.put("acks", "all");
        long last = -1;
        try (Producer<String, String> p = new Producer<>(cfg, new StringSerializer(), new StringSerializer())) {
            List<java.util.concurrent.CompletableFuture<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                sent.add(p.send(new ProducerRecord<>(TOPIC, 0, "f" + (i % 5), "filler-" + i)));
            }
            for (var f : sent) {
                last = Math.max(last, f.get(60, TimeUnit.SECONDS).offset());
            }
        }
        return last;
    }

    private static long acked(List<Write> writes) {
        return writes.stream().filter(Write::certain).count();
    }

    private void awaitAcked(List<Write> writes, long count) {
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (acked(writes) < count) {
            assertTrue(System.nanoTime() < deadline, "only " + acked(writes) + " of " + count + " writes acknowledged\n"
                    + cluster.diagnostics());
            sleepMs(100);
        }
    }

    private static String summary(Map<Integer, List<KeyedRecord>> replicas) {
        List<String> out = new ArrayList<>();
        replicas.forEach((id, r) -> out.add(id + ": " + r.size() + " records" + (r.isEmpty() ? "" : ", last offset "
                + r.get(r.size() - 1).offset())));
        return out.toString();
    }
}

package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention and compaction seen through fetch, on a real broker whose background passes run every
 * 200 ms: a topic with tiny segments and 1 s retention loses its old segments (the log start
 * offset moves, old offsets are out of range), and a compacted topic keeps the latest value per
 * key with original offsets, tombstones removed delete.retention.ms after the first pass that kept them.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am
 * -Dtest=RetentionCompactionE2ETest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class RetentionCompactionE2ETest {
    private static final Duration WAIT = Duration.ofSeconds(45);

    @TempDir
    static Path dir;
    static NodeProcess node;

    @BeforeAll
    static void start() {
        node = NodeProcess.singleNode(dir, Map.of("log.retention.check.interval.ms", "200", "log.cleaner.backoff.ms", "200"))
                .start(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    static Map<String, Object> adminConfig() {
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", node.bootstrap());
        return c;
    }

    static Map<String, Object> producerConfig() {
        Map<String, Object> c = adminConfig();
        c.put("acks", "all");
        return c;
    }

    static Map<String, Object> config() {
        Map<String, Object> c = adminConfig();
        c.put("auto.offset.reset", "earliest");
        return c;
    }

    static void create(String topic, Map<String, String> configs) throws Exception {
        try (Admin admin = new Admin(adminConfig())) {
            admin.createTopics(List.of(new NewTopic(topic, 1, 1, configs)), false).get(topic).get(30, TimeUnit.SECONDS);
        }
    }

    static void produce(String topic, List<String[]> keyValues) throws Exception {
        try (Producer<String, String> p = new Producer<>(producerConfig(), new StringSerializer(), new StringSerializer())) {
            for (String[] kv : keyValues) {
                // One record per request: each batch is small, so segments roll often.
                p.send(new ProducerRecord<>(topic, 0, kv[0], kv[1])).get(30, TimeUnit.SECONDS);
            }
        }
    }

    static List<ConsumerRecord<String, String>> readFromStart(String topic) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (Consumer<String, String> c = new Consumer<>(config(), new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp), Duration.ofSeconds(10)).get(tp);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (c.position(tp) < end && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    @Test
    void retentionDeletesWholeOldSegmentsAndMovesTheLogStart() throws Exception {
        create("short-lived", Map.of("segment.bytes", "1024", "retention.ms", "1000"));
        List<String[]> kvs = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            kvs.add(new String[] {"k" + i, "value-" + i + "-" + "x".repeat(100)});
        }
        produce("short-lived", kvs);
        long start = 0;
        long deadline = System.nanoTime() + WAIT.toNanos();
        try (Consumer<String, String> c = new Consumer<>(config(), new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition("short-lived", 0);
            while (start == 0 && System.nanoTime() < deadline) {
                Thread.sleep(250);
                start = c.beginningOffsets(List.of(tp), Duration.ofSeconds(10)).get(tp);
            }
            assertTrue(start > 0, "retention never advanced the log start offset");
            assertEquals(60, c.endOffsets(List.of(tp), Duration.ofSeconds(10)).get(tp), "offsets are never reused");
        }
        List<ConsumerRecord<String, String>> left = readFromStart("short-lived");
        assertTrue(left.isEmpty() || left.get(0).offset() >= start);
        for (ConsumerRecord<String, String> r : left) {
            assertEquals("value-" + r.offset() + "-" + "x".repeat(100), r.value(), "what survives is intact");
        }
    }

    @Test
    void compactionKeepsTheLatestValuePerKeyWithOriginalOffsets() throws Exception {
        create("latest-only", Map.of("cleanup.policy", "compact", "segment.bytes", "1024", "delete.retention.ms", "0",
                "min.compaction.lag.ms", "0"));
        List<String[]> kvs = new ArrayList<>();
        Map<String, String> latest = new LinkedHashMap<>();
        for (int round = 0; round < 12; round++) {
            for (int k = 0; k < 8; k++) {
                String v = "r" + round + "-k" + k + "-" + "y".repeat(40);
                kvs.add(new String[] {"k" + k, v});
                latest.put("k" + k, v);
            }
        }
        kvs.add(new String[] {"k0", null});
        latest.remove("k0");
        produce("latest-only", kvs);
        // Roll the active segment so the tail becomes compactable, then wait for the cleaner.
        List<String[]> filler = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            filler.add(new String[] {"filler", "f" + i + "-" + "z".repeat(40)});
        }
        produce("latest-only", filler);
        latest.put("filler", "f29-" + "z".repeat(40));

        List<ConsumerRecord<String, String>> seen = readFromStart("latest-only");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (seen.size() >= kvs.size() && System.nanoTime() < deadline) {
            Thread.sleep(300);
            seen = readFromStart("latest-only");
        }
        assertTrue(seen.size() < kvs.size() + filler.size(), "compaction never removed anything: " + seen.size());
        Map<String, String> lastSeen = new LinkedHashMap<>();
        long previous = -1;
        for (ConsumerRecord<String, String> r : seen) {
            assertTrue(r.offset() > previous, "offsets strictly increase (gaps allowed)");
            previous = r.offset();
            if (r.value() == null) {
                lastSeen.remove(r.key());
            } else {
                lastSeen.put(r.key(), r.value());
            }
        }
        assertEquals(latest, lastSeen, "replaying the compacted log gives the latest value per key");
    }

    /**
     * A tombstone whose producer's clock is a month behind: it used to be removed at the first
     * pass (its timestamp was "older than delete.retention.ms"), so a consumer reading the topic
     * then could never learn that the key was deleted. It lives delete.retention.ms after the pass
     * that first kept it.
     */
    @Test
    void aTombstoneWithAMonthOldTimestamp_outlivesTheFirstPass_thenGoes() throws Exception {
        create("skewed", Map.of("cleanup.policy", "compact", "segment.bytes", "1024", "delete.retention.ms", "8000",
                "min.compaction.lag.ms", "0"));
        long monthAgo = System.currentTimeMillis() - 30L * 24 * 3600 * 1000;
        try (Producer<String, String> p = new Producer<>(producerConfig(), new StringSerializer(), new StringSerializer())) {
            p.send(new ProducerRecord<>("skewed", 0, "gone", "alive")).get(30, TimeUnit.SECONDS);
            p.send(new ProducerRecord<>("skewed", 0, monthAgo, "gone", null, List.of())).get(30, TimeUnit.SECONDS);
        }
        List<String[]> filler = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            filler.add(new String[] {"filler", "f" + i + "-" + "z".repeat(40)});
        }
        produce("skewed", filler); // rolls segments: the first two records become cleanable
        // The first pass removes the superseded value at offset 0 and keeps the tombstone.
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<ConsumerRecord<String, String>> seen = readFromStart("skewed");
        while (!seen.isEmpty() && seen.get(0).offset() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
            seen = readFromStart("skewed");
        }
        assertTrue(!seen.isEmpty(), "the topic reads back empty");
        assertTrue(seen.get(0).offset() > 0, "compaction never ran");
        ConsumerRecord<String, String> first = seen.get(0);
        assertEquals(1, first.offset(), "the tombstone outlived the pass that removed the value it deletes: " + first);
        assertEquals("gone", first.key());
        assertEquals(null, first.value());
        assertEquals(monthAgo, first.timestamp(), "its timestamp reads back unchanged");
        // delete.retention.ms after that pass, a later pass removes it.
        deadline = System.nanoTime() + WAIT.toNanos();
        while (!seen.isEmpty() && seen.get(0).offset() == 1 && System.nanoTime() < deadline) {
            Thread.sleep(300);
            seen = readFromStart("skewed");
        }
        assertTrue(!seen.isEmpty() && seen.get(0).offset() > 1, "the tombstone was never removed: " + seen);
        assertTrue(seen.stream().noneMatch(r -> "gone".equals(r.key())), seen.toString());
    }
}

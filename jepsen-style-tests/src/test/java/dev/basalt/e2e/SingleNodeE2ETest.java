package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.ConsumerRecords;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end on a real single-node cluster: a broker JVM started from the test classpath on
 * free 127.0.0.1 ports, driven only through the public client (Admin, Producer, Consumer).
 *
 * <p>Goal: what a user does in the quick start works — create topics through the metadata
 * quorum, produce with each acks level, consume everything back in order per partition, restart
 * the broker and read it all again, grow partitions, delete and re-create a topic without ever
 * seeing old data. Method: one broker per test class (started in {@code @BeforeAll}), stopped
 * by PID. Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am
 * -Dtest=SingleNodeE2ETest -Dsurefire.failIfNoSpecifiedTests=false}; the node's log is in the
 * test's temp dir and is printed on start-up failures.
 */
class SingleNodeE2ETest {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration OP_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    static NodeProcess node;

    @BeforeAll
    static void start() {
        node = NodeProcess.singleNode(dir, Map.of()).start(READY_TIMEOUT);
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    static Map<String, Object> clientConfig() {
        Map<String, Object> c = new HashMap<>();
        c.put("bootstrap.servers", node.bootstrap());
        return c;
    }

    static Admin admin() {
        return new Admin(clientConfig());
    }

    static Producer<String, String> producer(String acks) {
        Map<String, Object> c = clientConfig();
        c.put("acks", acks);
        c.put("linger.ms", 5);
        return new Producer<>(c, new StringSerializer(), new StringSerializer());
    }

    static Consumer<String, String> consumer() {
        Map<String, Object> c = clientConfig();
        c.put("auto.offset.reset", "earliest");
        return new Consumer<>(c, new StringDeserializer(), new StringDeserializer());
    }

    static void createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, 1, configs)), false).get(name)
                    .get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Produces {@code count} keyed records and returns what the broker acknowledged, per partition in order. */
    static Map<Integer, List<String>> produce(String topic, String acks, int count, String prefix) throws Exception {
        List<CompletableFuture<RecordMetadata>> acked = new ArrayList<>();
        List<String> values = new ArrayList<>();
        try (Producer<String, String> p = producer(acks)) {
            for (int i = 0; i < count; i++) {
                String v = prefix + "-" + i;
                values.add(v);
                acked.add(p.send(new ProducerRecord<>(topic, "key-" + (i % 17), v)));
            }
            p.flush();
        }
        Map<Integer, List<String>> byPartition = new HashMap<>();
        for (int i = 0; i < count; i++) {
            RecordMetadata md = acked.get(i).get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            byPartition.computeIfAbsent(md.partition(), k -> new ArrayList<>()).add(values.get(i));
        }
        return byPartition;
    }

    /** Reads every partition of {@code topic} from the beginning until {@code expected} records arrived. */
    static Map<Integer, List<ConsumerRecord<String, String>>> consumeAll(String topic, int partitions, int expected) {
        Map<Integer, List<ConsumerRecord<String, String>>> out = new HashMap<>();
        try (Consumer<String, String> c = consumer()) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                tps.add(new TopicPartition(topic, p));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + OP_TIMEOUT.toNanos();
            int got = 0;
            while (got < expected && System.nanoTime() < deadline) {
                ConsumerRecords<String, String> batch = c.poll(Duration.ofMillis(500));
                for (ConsumerRecord<String, String> r : batch) {
                    out.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r);
                    got++;
                }
            }
        }
        return out;
    }

    static Map<Integer, List<String>> values(Map<Integer, List<ConsumerRecord<String, String>>> records) {
        Map<Integer, List<String>> out = new HashMap<>();
        records.forEach((p, rs) -> out.put(p, rs.stream().map(ConsumerRecord::value).toList()));
        return out;
    }

    @Test
    void produceWithEachAcksLevelConsumeInOrderAndSurviveARestart() throws Exception {
        createTopic("orders", 3, Map.of());
        Map<Integer, List<String>> expected = new HashMap<>();
        for (String acks : List.of("1", "all", "0")) {
            produce("orders", acks, 300, "acks" + acks).forEach((p, vs) -> expected.computeIfAbsent(p, k -> new ArrayList<>()).addAll(vs));
        }
        // acks=0 gives no offsets back, but on a healthy single node every record still lands in order.
        Map<Integer, List<String>> first = values(consumeAll("orders", 3, 900));
        assertEquals(expected, first, "records per partition, in send order");
        for (List<ConsumerRecord<String, String>> rs : consumeAll("orders", 3, 900).values()) {
            for (int i = 0; i < rs.size(); i++) {
                assertEquals(i, rs.get(i).offset(), "offsets are dense from 0 on a fresh topic");
            }
        }

        assertEquals(0, node.stop(Duration.ofSeconds(30)), "graceful shutdown exits 0");
        node.start(READY_TIMEOUT);
        assertEquals(expected, values(consumeAll("orders", 3, 900)), "everything survives a restart");
        produce("orders", "1", 30, "after-restart");
        assertEquals(930, consumeAll("orders", 3, 930).values().stream().mapToInt(List::size).sum());
    }

    @Test
    void addPartitionsThenProduceToTheNewOnes() throws Exception {
        createTopic("growing", 2, Map.of());
        try (Admin admin = admin()) {
            admin.createPartitions(Map.of("growing", 4), false).get("growing").get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            assertEquals(4, admin.describeTopics(List.of("growing")).get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .get("growing").partitions().size());
        }
        Map<Integer, List<String>> produced = produce("growing", "all", 400, "g");
        assertEquals(4, produced.size(), "keys spread over all four partitions: " + produced.keySet());
        assertEquals(produced, values(consumeAll("growing", 4, 400)));
    }

    /**
     * A topic whose max.message.bytes is below the producer's batch.size: records that each fit
     * are all written (the producer closes each batch before it would pass the limit, learned
     * from the metadata), and one record too large alone is refused with its typed error.
     */
    @Test
    void recordsThatEachFitASmallMaxMessageBytesAreNeverRefusedTogether() throws Exception {
        createTopic("small-batches", 1, Map.of("max.message.bytes", "2000"));
        List<CompletableFuture<RecordMetadata>> acked = new ArrayList<>();
        Map<String, Object> c = clientConfig();
        c.put("acks", "all");
        c.put("linger.ms", 50); // many records gather per partition: far more than 2,000 bytes each time
        c.put("batch.size", 65536);
        try (Producer<String, String> p = new Producer<>(c, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 60; i++) {
                acked.add(p.send(new ProducerRecord<>("small-batches", 0, null, i + "-" + "v".repeat(600))));
            }
            CompletableFuture<RecordMetadata> tooLarge = p.send(new ProducerRecord<>("small-batches", 0, null, "x".repeat(3000)));
            p.flush();
            ExecutionException e = assertThrows(ExecutionException.class, () -> tooLarge.get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
            assertTrue(e.getCause() instanceof dev.basalt.client.RecordTooLargeException, e.getCause().toString());
        }
        for (int i = 0; i < acked.size(); i++) {
            CompletableFuture<RecordMetadata> f = acked.get(i);
            assertEquals(i, assertDoesNotThrow(() -> f.get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS), "record " + f).offset());
        }
        List<String> read = values(consumeAll("small-batches", 1, 60)).get(0);
        assertEquals(60, read.size());
        for (int i = 0; i < 60; i++) {
            assertTrue(read.get(i).startsWith(i + "-"), read.get(i));
        }
    }

    /**
     * max.message.bytes lowered under a running producer whose batch was built under the old
     * limit: the leader refuses it, the producer sends it again in halves until each part fits,
     * and every record that fits by itself is written once, in order; the one too large by itself
     * fails with its typed error.
     */
    @Test
    void limitLoweredUnderALingeringBatch_itIsSplitAndEveryRecordThatFitsIsWritten() throws Exception {
        createTopic("shrinking", 1, Map.of());
        Map<String, Object> c = clientConfig();
        c.put("acks", "all");
        c.put("linger.ms", 60_000); // the batch waits for flush(), under the limit it was built for
        c.put("batch.size", 131072);
        c.put("metadata.max.age.ms", 600_000);
        List<CompletableFuture<RecordMetadata>> acked = new ArrayList<>();
        try (Producer<String, String> p = new Producer<>(c, new StringSerializer(), new StringSerializer());
             Admin admin = admin()) {
            acked.add(p.send(new ProducerRecord<>("shrinking", 0, null, "0-first")));
            p.flush(); // the producer has the topic's metadata (1 MiB limit)
            CompletableFuture<RecordMetadata> tooLarge = null;
            for (int i = 1; i <= 80; i++) {
                acked.add(p.send(new ProducerRecord<>("shrinking", 0, null, i + "-" + "v".repeat(600))));
                if (i == 50) {
                    tooLarge = p.send(new ProducerRecord<>("shrinking", 0, null, "x".repeat(3000)));
                }
            }
            ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, "shrinking");
            admin.alterConfigs(Map.of(topic, List.of(AlterConfigOp.set("max.message.bytes", "2000"))), false)
                    .get("shrinking").get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            long deadline = System.nanoTime() + OP_TIMEOUT.toNanos();
            while (!"2000".equals(admin.describeConfigs(List.of(topic), List.of("max.message.bytes"))
                    .get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(topic).get(0).value())) {
                assertTrue(System.nanoTime() < deadline, "the broker never applied max.message.bytes=2000");
                Thread.sleep(20);
            }
            p.flush();
            CompletableFuture<RecordMetadata> refused = tooLarge;
            ExecutionException e = assertThrows(ExecutionException.class, () -> refused.get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
            assertTrue(e.getCause() instanceof dev.basalt.client.RecordTooLargeException, e.getCause().toString());
            assertTrue(p.metrics().get("batch-split-total") >= 1, "the refused batch was split: " + p.metrics());
        }
        for (int i = 0; i < acked.size(); i++) {
            CompletableFuture<RecordMetadata> f = acked.get(i);
            assertEquals(i, assertDoesNotThrow(() -> f.get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS), "record " + i).offset());
        }
        List<String> read = values(consumeAll("shrinking", 1, 81)).get(0);
        assertEquals(81, read.size());
        for (int i = 0; i < 81; i++) {
            assertTrue(read.get(i).startsWith(i + "-"), read.get(i));
        }
    }

    @Test
    void deletedAndRecreatedTopicNeverReturnsOldData() throws Exception {
        createTopic("phoenix", 1, Map.of());
        produce("phoenix", "all", 50, "old");
        try (Admin admin = admin()) {
            admin.deleteTopics(List.of("phoenix")).get("phoenix").get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            assertFalse(admin.listTopics(false).get(OP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).stream()
                    .anyMatch(t -> t.name().equals("phoenix")));
        }
        createTopic("phoenix", 1, Map.of());
        produce("phoenix", "all", 5, "new");
        List<String> seen = values(consumeAll("phoenix", 1, 5)).getOrDefault(0, List.of());
        assertEquals(List.of("new-0", "new-1", "new-2", "new-3", "new-4"), seen);
        assertTrue(seen.stream().noneMatch(v -> v.startsWith("old")));
    }
}

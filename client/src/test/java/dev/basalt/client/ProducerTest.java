package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.client.testkit.FakeCluster;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.record.Record;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The producer against an in-process {@link FakeCluster} of real gRPC servers on loopback:
 * records arrive in order with the offsets the futures report, keys land where Kafka's
 * partitioner puts them, and each failure mode ends as the right typed outcome (retried to
 * success, definite failure, or indeterminate).
 */
class ProducerTest {
    private FakeCluster cluster;

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(2);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private Producer<String, String> producer(Map<String, Object> extra) {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", cluster.bootstrap());
        cfg.put("linger.ms", 1);
        cfg.put("retry.backoff.ms", 10);
        cfg.put("retry.backoff.max.ms", 50);
        cfg.put("request.timeout.ms", 5_000);
        cfg.put("delivery.timeout.ms", 120_000);
        cfg.put("max.block.ms", 5_000);
        cfg.putAll(extra);
        return new Producer<>(cfg, new StringSerializer(), new StringSerializer());
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }

    private static RecordMetadata get(CompletableFuture<RecordMetadata> f) {
        return Producer.await(f, Duration.ofSeconds(30));
    }

    private static String value(Record r) {
        return r.isTombstone() ? null : new String(r.valueBytes(), StandardCharsets.UTF_8);
    }

    /**
     * Found probing: close() did not end a send() blocked waiting for metadata (no broker
     * reachable): close(ZERO) returned at once and the send stayed blocked for its whole
     * max.block.ms. Now it fails as soon as the producer closes.
     */
    @Test
    void closeEndsASendBlockedOnMetadata() throws Exception {
        Producer<String, String> p = new Producer<>(Map.of("bootstrap.servers", FakeCluster.deadAddress(), "max.block.ms", 120_000),
                new StringSerializer(), new StringSerializer());
        CompletableFuture<CompletableFuture<RecordMetadata>> sending =
                CompletableFuture.supplyAsync(() -> p.send(new ProducerRecord<>("edge", "k", "v")));
        Thread.sleep(300);
        assertFalse(sending.isDone(), "blocked on metadata");
        p.close(Duration.ZERO);
        CompletableFuture<RecordMetadata> sent = sending.get(60, TimeUnit.SECONDS); // was 120 s (max.block.ms)
        ExecutionException e = assertThrows(ExecutionException.class, sent::get);
        assertInstanceOf(DefiniteException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("client closed"), e.getCause().getMessage());
    }

    /**
     * flush() in a completion action runs on the sender thread and would wait for itself: found
     * probing, it hung the producer for good (every later send timed out). It throws instead, and
     * the producer goes on.
     */
    @Test
    void flush_inACompletionAction_throwsInsteadOfHangingTheProducer() {
        cluster.createTopic("t", 1);
        // linger.ms keeps the send's future incomplete while the action is chained, so the action
        // runs on the sender thread; an action that still ran here (the future completed first)
        // proves nothing, and the attempt is repeated.
        try (Producer<String, String> p = producer(Map.of("acks", "all", "linger.ms", 200))) {
            Thread testThread = Thread.currentThread();
            Throwable t = null;
            long lastOffset = -1;
            for (int attempt = 0; attempt < 5 && t == null; attempt++) {
                CompletableFuture<Throwable> seen = new CompletableFuture<>();
                lastOffset = get(p.send(new ProducerRecord<>("t", 0, "k", "a")).whenComplete((m, e) -> {
                    if (Thread.currentThread() == testThread) {
                        seen.complete(null);
                        return;
                    }
                    try {
                        p.send(new ProducerRecord<>("t", 0, "k", "b"));
                        p.flush();
                        seen.complete(new AssertionError("flush() on the sender thread returned"));
                    } catch (Throwable thrown) {
                        seen.complete(thrown);
                    }
                })).offset();
                t = seen.join();
                if (t != null) {
                    lastOffset++; // the "b" sent in the action
                }
            }
            assertTrue(t instanceof IllegalStateException && t.getMessage().contains("sender thread"), String.valueOf(t));
            assertEquals(lastOffset + 1, get(p.send(new ProducerRecord<>("t", 0, "k", "c"))).offset(), "later sends go on");
            p.flush(); // from the test's own thread: fine
        }
        assertThrows(dev.basalt.client.ConfigException.class, () -> producer(java.util.Collections.singletonMap("acks", null)),
                "an explicit null is refused by name, not a NullPointerException later");
    }

    /**
     * metrics() read once a send has completed counts that send: the sender updates the totals
     * before it completes the futures (a CLI test saw record-send-total=1873 after 2,000 acks).
     */
    @Test
    void metrics_readInACompletionCallback_countTheCompletedBatch() {
        cluster.createTopic("t", 1);
        try (Producer<String, String> p = producer(Map.of("acks", "all"))) {
            List<Double> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int i = 1; i <= 50; i++) {
                get(p.send(new ProducerRecord<>("t", 0, "k", "v" + i)).whenComplete((m, e) ->
                        seen.add(p.metrics().get("record-send-total"))));
                assertEquals((double) i, seen.get(i - 1), "record-send-total seen by the callback of send " + i);
            }
        }
    }

    @Test
    void send_appendsInOrder_withReportedOffsets() {
        cluster.createTopic("t", 1);
        try (Producer<String, String> p = producer(Map.of())) {
            List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                fs.add(p.send(new ProducerRecord<>("t", 0, "k" + i, "v" + i)));
            }
            for (int i = 0; i < 500; i++) {
                RecordMetadata m = get(fs.get(i));
                assertEquals(i, m.offset());
                assertEquals(0, m.partition());
            }
        }
        List<Record> stored = cluster.records("t", 0);
        assertEquals(500, stored.size());
        for (int i = 0; i < 500; i++) {
            assertEquals("v" + i, value(stored.get(i)));
            assertEquals(i, stored.get(i).offset());
        }
    }

    @Test
    void keyedRecords_landOnKafkasPartition() {
        cluster.createTopic("keys", 6);
        try (Producer<String, String> p = producer(Map.of())) {
            for (int i = 0; i < 60; i++) {
                String key = "key-" + i;
                RecordMetadata m = get(p.send(new ProducerRecord<>("keys", key, "v")));
                assertEquals(DefaultPartitioner.partitionForKey(key.getBytes(StandardCharsets.UTF_8), 6), m.partition(), key);
            }
        }
    }

    @Test
    void keylessRecords_stickToOnePartitionPerBatch() {
        cluster.createTopic("sticky", 4);
        try (Producer<String, String> p = producer(Map.of("linger.ms", 60_000, "batch.size", 100_000))) {
            List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                fs.add(p.send(new ProducerRecord<>("sticky", "v" + i)));
            }
            p.flush();
            int partition = get(fs.get(0)).partition();
            for (CompletableFuture<RecordMetadata> f : fs) {
                assertEquals(partition, get(f).partition());
            }
            assertEquals(1, cluster.batchCount("sticky", partition));
        }
    }

    @Test
    void lingerAndBatchSize_groupRecordsIntoBatches() {
        cluster.createTopic("batched", 1);
        try (Producer<String, String> p = producer(Map.of("linger.ms", 60_000, "batch.size", 1024))) {
            List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                fs.add(p.send(new ProducerRecord<>("batched", 0, null, "x".repeat(90))));
            }
            p.flush();
            fs.forEach(ProducerTest::get);
        }
        int batches = cluster.batchCount("batched", 0);
        assertTrue(batches >= 9 && batches <= 12, "100 records of ~100 bytes in 1 KiB batches: " + batches);
    }

    @Test
    void busyPartition_sendsSeveralBatchesPerRequest_inOrder() {
        cluster.createTopic("busy", 1);
        cluster.holdProduce();
        List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
        try (Producer<String, String> p = producer(Map.of("batch.size", 1024, "linger.ms", 0))) {
            for (int i = 0; i < 200; i++) {
                fs.add(p.send(new ProducerRecord<>("busy", 0, null, String.format("%0100d", i))));
            }
            cluster.releaseProduce();
            for (int i = 0; i < 200; i++) {
                assertEquals(i, get(fs.get(i)).offset());
            }
        }
        assertTrue(cluster.produceRequests() < cluster.batchCount("busy", 0),
                cluster.produceRequests() + " requests for " + cluster.batchCount("busy", 0) + " batches");
        List<Record> stored = cluster.records("busy", 0);
        for (int i = 0; i < 200; i++) {
            assertEquals(String.format("%0100d", i), value(stored.get(i)));
        }
    }

    @Test
    void retryOfSeveralBatches_keepsTheirOrder() {
        cluster.createTopic("busy", 1);
        cluster.holdProduce();
        cluster.injectProduceError(ErrorCode.NOT_ENOUGH_REPLICAS, 2);
        List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
        try (Producer<String, String> p = producer(Map.of("batch.size", 1024, "linger.ms", 0))) {
            for (int i = 0; i < 100; i++) {
                fs.add(p.send(new ProducerRecord<>("busy", 0, null, String.format("%0100d", i))));
            }
            cluster.releaseProduce();
            for (int i = 0; i < 100; i++) {
                assertEquals(i, get(fs.get(i)).offset());
            }
        }
    }

    @Test
    void notLeader_refreshesMetadata_andSucceedsOnNewLeader() {
        cluster.createTopic("moving", 1);
        try (Producer<String, String> p = producer(Map.of())) {
            assertEquals(0, get(p.send(new ProducerRecord<>("moving", 0, null, "a"))).offset());
            cluster.moveLeader("moving", 0, 2);
            assertEquals(1, get(p.send(new ProducerRecord<>("moving", 0, null, "b"))).offset());
        }
        assertEquals(List.of("a", "b"), cluster.records("moving", 0).stream().map(ProducerTest::value).toList());
    }

    @Test
    void retriableErrors_areRetried() {
        cluster.createTopic("flaky", 1);
        cluster.injectProduceError(ErrorCode.NOT_ENOUGH_REPLICAS, 3);
        try (Producer<String, String> p = producer(Map.of())) {
            assertEquals(java.util.Optional.empty(), p.lastRetriedError());
            assertEquals(0, get(p.send(new ProducerRecord<>("flaky", 0, null, "a"))).offset());
            assertEquals(3.0, p.metrics().get("record-retry-total"));
            String retriedAfter = p.lastRetriedError().orElseThrow();
            assertTrue(retriedAfter.contains("NOT_ENOUGH_REPLICAS"), "names the error the send was retried after: " + retriedAfter);
        }
        assertEquals(4, cluster.produceRequests());
        assertEquals(1, cluster.records("flaky", 0).size());
    }

    /**
     * A log that refused the batch before writing any of it (offline, only copy corrupt, disk full)
     * answers APPEND_REFUSED: retried like STORAGE_ERROR, but once retries run out the failure is
     * definite. STORAGE_ERROR (a write failed under the batch) stays "may have been written".
     * Found probing: a full disk's refusals all came as STORAGE_ERROR, and the CLI said "may have
     * been written" (exit 4) for a batch the broker never wrote.
     */
    @Test
    void appendRefused_isRetried_thenDefinite_unlikeAStorageError() {
        cluster.createTopic("full", 1);
        cluster.injectProduceError(ErrorCode.APPEND_REFUSED, 2);
        try (Producer<String, String> p = producer(Map.of())) {
            assertEquals(0, get(p.send(new ProducerRecord<>("full", 0, null, "a"))).offset(), "retried until the log took it");
        }
        cluster.injectProduceError(ErrorCode.APPEND_REFUSED, 3); // every attempt of retries=2
        try (Producer<String, String> p = producer(Map.of("retries", 2))) {
            BasaltException e = assertThrows(BasaltException.class, () -> get(p.send(new ProducerRecord<>("full", 0, null, "b"))));
            assertInstanceOf(StorageException.class, e);
            assertTrue(e.getMessage().contains("APPEND_REFUSED"), e.getMessage());
        }
        cluster.injectProduceError(ErrorCode.STORAGE_ERROR, 3);
        try (Producer<String, String> p = producer(Map.of("retries", 2))) {
            BasaltException e = assertThrows(BasaltException.class, () -> get(p.send(new ProducerRecord<>("full", 0, null, "c"))));
            assertInstanceOf(IndeterminateException.class, e, "a failed write may have left the batch in the log");
        }
        assertEquals(1, cluster.records("full", 0).size());
    }

    @Test
    void retriesExhausted_failDefinitely() {
        cluster.createTopic("flaky", 1);
        cluster.injectProduceError(ErrorCode.NOT_ENOUGH_REPLICAS, 10);
        try (Producer<String, String> p = producer(Map.of("retries", 2))) {
            BasaltException e = assertThrows(BasaltException.class, () -> get(p.send(new ProducerRecord<>("flaky", 0, null, "a"))));
            assertInstanceOf(NotEnoughReplicasException.class, e);
        }
        assertEquals(3, cluster.produceRequests());
        assertEquals(0, cluster.records("flaky", 0).size());
    }

    /**
     * A topic deleted while the producer writes to it: found probing, its batches were retried
     * until delivery.timeout.ms (2 min) and the CLI then said "checked for 10000 ms". Once the
     * cluster has said for the grace period that the topic is gone, queued batches fail with
     * UnknownTopicException, and later sends fail at once.
     */
    @Test
    void topicDeletedWhileWriting_failsWithUnknownTopic_notAtTheDeliveryTimeout() throws Exception {
        cluster.createTopic("gone", 1);
        try (Producer<String, String> p = producer(Map.of())) {
            assertEquals(0, get(p.send(new ProducerRecord<>("gone", 0, null, "a"))).offset());
            cluster.holdProduce();
            CompletableFuture<RecordMetadata> inFlight = p.send(new ProducerRecord<>("gone", 0, null, "b"));
            long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (cluster.produceRequests() < 2 && System.nanoTime() < waitUntil) {
                Thread.onSpinWait();
            }
            assertEquals(2, cluster.produceRequests(), "the second record's request reached the broker");
            cluster.deleteTopic("gone");
            cluster.releaseProduce();
            long start = System.nanoTime();
            ExecutionException e = assertThrows(ExecutionException.class, () -> inFlight.get(60, TimeUnit.SECONDS));
            assertInstanceOf(UnknownTopicException.class, e.getCause(), e.getCause().toString());
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms >= dev.basalt.client.internal.MetadataManager.UNKNOWN_TOPIC_GRACE_MS / 2 && ms < 30_000, ms + " ms");
            assertTrue(e.getCause().getMessage().contains("does not exist"), e.getCause().getMessage());
            ExecutionException later = assertThrows(ExecutionException.class,
                    () -> p.send(new ProducerRecord<>("gone", 0, null, "c")).get(60, TimeUnit.SECONDS));
            assertInstanceOf(UnknownTopicException.class, later.getCause());
        }
    }

    @Test
    void nonRetriableError_failsAtOnce() {
        cluster.createTopic("bad", 1);
        cluster.injectProduceError(ErrorCode.CORRUPT_RECORD, 1);
        try (Producer<String, String> p = producer(Map.of())) {
            assertThrows(CorruptRecordException.class, () -> get(p.send(new ProducerRecord<>("bad", 0, null, "a"))));
        }
        assertEquals(1, cluster.produceRequests());
    }

    @Test
    void timeoutAfterAppend_withoutRetries_isIndeterminate_andWasWritten() {
        cluster.createTopic("slow", 1);
        cluster.injectProduceErrorAfterAppend(ErrorCode.REQUEST_TIMED_OUT);
        try (Producer<String, String> p = producer(Map.of("retries", 0))) {
            assertThrows(IndeterminateException.class, () -> get(p.send(new ProducerRecord<>("slow", 0, null, "a"))));
        }
        assertEquals(1, cluster.records("slow", 0).size());
    }

    @Test
    void laterDefiniteError_afterIndeterminateAttempt_staysIndeterminate() {
        cluster.createTopic("slow", 1);
        cluster.injectProduceErrorAfterAppend(ErrorCode.REQUEST_TIMED_OUT);
        cluster.injectProduceError(ErrorCode.CORRUPT_RECORD, 1);
        try (Producer<String, String> p = producer(Map.of())) {
            IndeterminateException e = assertThrows(IndeterminateException.class,
                    () -> get(p.send(new ProducerRecord<>("slow", 0, null, "a"))));
            assertInstanceOf(CorruptRecordException.class, e.getCause());
        }
    }

    @Test
    void aCallThatFailsAfterItsAnswer_completesTheBatchOnce_andTheProducerKeepsSending() {
        cluster.createTopic("late", 1);
        cluster.failNextProduceCallAfterAnswer();
        try (Producer<String, String> p = producer(Map.of())) {
            assertEquals(0, get(p.send(new ProducerRecord<>("late", 0, null, "a"))).offset(), "the answer counts");
            assertEquals(1, get(p.send(new ProducerRecord<>("late", 0, null, "b"))).offset(), "the sender thread survived");
        }
        assertEquals(List.of("a", "b"), cluster.records("late", 0).stream().map(ProducerTest::value).toList(), "no retry of 'a'");
    }

    @Test
    void disconnectMidRequest_withoutRetries_isIndeterminate_andWasWritten() {
        cluster.createTopic("cut", 1);
        cluster.disconnectNextProduceAfterAppend();
        try (Producer<String, String> p = producer(Map.of("retries", 0))) {
            assertThrows(IndeterminateException.class, () -> get(p.send(new ProducerRecord<>("cut", 0, null, "a"))));
        }
        assertEquals(1, cluster.records("cut", 0).size());
    }

    @Test
    void disconnectMidRequest_withRetries_withoutIdempotence_succeeds_possiblyDuplicating() {
        cluster.createTopic("cut", 1);
        cluster.disconnectNextProduceAfterAppend();
        try (Producer<String, String> p = producer(Map.of("enable.idempotence", false))) {
            RecordMetadata m = get(p.send(new ProducerRecord<>("cut", 0, null, "a")));
            assertEquals(1, m.offset(), "the lost first attempt was written at 0; the retry at 1 (no idempotence)");
        }
        assertEquals(List.of("a", "a"), cluster.records("cut", 0).stream().map(ProducerTest::value).toList());
    }

    @Test
    void disconnectMidRequest_idempotent_retryIsRecognised_writtenOnce_atTheOriginalOffset() {
        cluster.createTopic("cut", 1);
        cluster.disconnectNextProduceAfterAppend();
        try (Producer<String, String> p = producer(Map.of())) {
            RecordMetadata m = get(p.send(new ProducerRecord<>("cut", 0, null, "a")));
            assertEquals(0, m.offset(), "DUPLICATE_SEQUENCE answers the retry with the first attempt's offset");
            assertEquals(1, get(p.send(new ProducerRecord<>("cut", 0, null, "b"))).offset());
        }
        assertEquals(List.of("a", "b"), cluster.records("cut", 0).stream().map(ProducerTest::value).toList());
    }

    @Test
    void idempotent_batchesCarryProducerIdAndConsecutiveSequences() {
        cluster.createTopic("seq", 1);
        try (Producer<String, String> p = producer(Map.of("linger.ms", 0))) {
            for (int i = 0; i < 20; i++) {
                get(p.send(new ProducerRecord<>("seq", 0, null, "v" + i)));
            }
        }
        int expected = 0;
        long pid = -2;
        for (dev.basalt.record.RecordBatch b : cluster.storedBatches("seq", 0)) {
            pid = pid == -2 ? b.producerId() : pid;
            assertTrue(b.producerId() >= 0);
            assertEquals(pid, b.producerId(), "one producer id");
            assertEquals(0, b.producerEpoch());
            assertEquals(expected, b.baseSequence(), "sequences continue batch after batch");
            expected += b.recordCount();
        }
        assertEquals(20, expected);
        assertEquals(1, cluster.initProducerIdRequests());
    }

    @Test
    void idempotent_aBumpRetriedWhileNoBrokerGrantsIt_isLoggedOnce() {
        cluster.createTopic("bump-retried", 1);
        ch.qos.logback.classic.Logger senderLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(dev.basalt.client.internal.Sender.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged = new ch.qos.logback.core.read.ListAppender<>();
        logged.start();
        senderLog.addAppender(logged);
        try (Producer<String, String> p = producer(Map.of("retry.backoff.ms", "20"))) {
            get(p.send(new ProducerRecord<>("bump-retried", 0, null, "a")));
            cluster.injectProduceError(ErrorCode.CORRUPT_RECORD, 1);
            cluster.injectInitProducerIdError(ErrorCode.NOT_CONTROLLER, 5);
            assertThrows(CorruptRecordException.class, () -> get(p.send(new ProducerRecord<>("bump-retried", 0, null, "lost"))));
            assertEquals(1, get(p.send(new ProducerRecord<>("bump-retried", 0, null, "b"))).offset());
        } finally {
            senderLog.detachAppender(logged);
        }
        assertEquals(7, cluster.initProducerIdRequests(), "the first id, five refused bumps, the granted one");
        List<String> bumps = logged.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.INFO)
                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).filter(m -> m.startsWith("bumping")).toList();
        assertEquals(1, bumps.size(), "one INFO line per bump, not one per attempt: " + bumps);
        assertEquals(1, cluster.storedBatches("bump-retried", 0).get(1).producerEpoch());
    }

    /**
     * Found by the Jepsen-style suite: a batch appended, then answered NOT_LEADER (with acks=all,
     * leadership moved while it waited for the ISR), then refused NOT_ENOUGH_REPLICAS on every
     * retry until its delivery time ran out, failed as NotEnoughReplicasException ("not
     * written") while consumers had read it. It must fail as indeterminate.
     */
    @Test
    void notLeaderAfterTheAppend_thenRefusals_failsIndeterminate_notDefinite() {
        cluster.createTopic("moved", 1);
        try (Producer<String, String> p = producer(Map.of("delivery.timeout.ms", 1_500, "request.timeout.ms", 500))) {
            get(p.send(new ProducerRecord<>("moved", 0, null, "warm")));
            cluster.injectProduceErrorAfterAppend(ErrorCode.NOT_LEADER);
            cluster.injectProduceError(ErrorCode.NOT_ENOUGH_REPLICAS, 1_000);
            IndeterminateException e = assertThrows(IndeterminateException.class,
                    () -> get(p.send(new ProducerRecord<>("moved", 0, null, "appended"))));
            assertTrue(e.getMessage().contains("NOT_ENOUGH_REPLICAS"), e.getMessage());
        }
        assertEquals(2, cluster.storedBatches("moved", 0).size(), "the first attempt was appended");
    }

    @Test
    void idempotent_failedBatch_bumpsTheEpoch_andLaterRecordsRestartAtSequenceZero() {
        cluster.createTopic("bump", 1);
        try (Producer<String, String> p = producer(Map.of())) {
            get(p.send(new ProducerRecord<>("bump", 0, null, "a")));
            cluster.injectProduceError(ErrorCode.CORRUPT_RECORD, 1);
            assertThrows(CorruptRecordException.class, () -> get(p.send(new ProducerRecord<>("bump", 0, null, "lost"))));
            assertEquals(1, get(p.send(new ProducerRecord<>("bump", 0, null, "b"))).offset());
        }
        List<dev.basalt.record.RecordBatch> stored = cluster.storedBatches("bump", 0);
        assertEquals(2, stored.size());
        assertEquals(0, stored.get(0).producerEpoch());
        assertEquals(1, stored.get(1).producerEpoch(), "KIP-360: the epoch was bumped after the failed batch");
        assertEquals(0, stored.get(1).baseSequence(), "a new epoch starts at sequence 0");
        assertEquals(stored.get(0).producerId(), stored.get(1).producerId());
        assertEquals(2, cluster.initProducerIdRequests());
    }

    @Test
    void unknownTopic_failsDefinitelyAfterMaxBlock() {
        try (Producer<String, String> p = producer(Map.of("max.block.ms", 300))) {
            assertThrows(UnknownTopicException.class, () -> get(p.send(new ProducerRecord<>("nope", "a"))));
        }
        assertEquals(0, cluster.produceRequests());
    }

    @Test
    void invalidTopicName_isTyped() {
        try (Producer<String, String> p = producer(Map.of("max.block.ms", 300))) {
            assertThrows(InvalidTopicException.class, () -> get(p.send(new ProducerRecord<>("bad name!", "a"))));
        }
    }

    @Test
    void invalidPartition_isTyped() {
        cluster.createTopic("t", 2);
        try (Producer<String, String> p = producer(Map.of())) {
            assertThrows(InvalidPartitionException.class, () -> get(p.send(new ProducerRecord<>("t", 5, null, "a"))));
        }
    }

    @Test
    void explicitPartitionAddedAfterTheMetadata_isRefreshedNotRefused() {
        cluster.createTopic("t", 2);
        try (Producer<String, String> p = producer(Map.of("metadata.max.age.ms", 600_000))) {
            assertEquals(0, get(p.send(new ProducerRecord<>("t", 1, null, "a"))).offset());
            cluster.addPartitions("t", 4); // this producer's metadata still says 2
            assertEquals(3, get(p.send(new ProducerRecord<>("t", 3, null, "b"))).partition());
            assertThrows(InvalidPartitionException.class, () -> get(p.send(new ProducerRecord<>("t", 4, null, "c"))));
        }
        assertEquals(1, cluster.records("t", 3).size());
    }

    @Test
    void explicitPartitionAdded_whileAnOlderMetadataAnswerIsInFlight_waitsForANewerOne() throws Exception {
        cluster.createTopic("t", 2);
        cluster.createTopic("u", 1);
        try (Producer<String, String> p = producer(Map.of("metadata.max.age.ms", 600_000))) {
            assertEquals(0, get(p.send(new ProducerRecord<>("t", 1, null, "a"))).offset());
            // A refresh goes out (the first send to "u") and its answer, still showing 2
            // partitions of "t", is held; then "t" grows and a send to its partition 3 comes in.
            cluster.holdMetadata();
            int asked = cluster.metadataRequests();
            CompletableFuture<CompletableFuture<RecordMetadata>> toU = CompletableFuture.supplyAsync(
                    () -> p.send(new ProducerRecord<>("u", 0, null, "u")));
            await(() -> cluster.metadataRequests() > asked, "the first refresh reached the cluster");
            cluster.addPartitions("t", 4);
            CompletableFuture<CompletableFuture<RecordMetadata>> toT3 = new CompletableFuture<>();
            Thread sender = new Thread(() -> {
                try {
                    toT3.complete(p.send(new ProducerRecord<>("t", 3, null, "b")));
                } catch (RuntimeException e) {
                    toT3.completeExceptionally(e);
                }
            });
            sender.start();
            await(() -> sender.getState() == Thread.State.TIMED_WAITING || toT3.isDone(), "the send to partition 3 waits");
            cluster.releaseMetadata();
            // The stale answer must not refuse it: the send waits for an answer asked for after it.
            assertEquals(3, get(toT3.get(10, TimeUnit.SECONDS)).partition());
            assertEquals(0, get(toU.get(10, TimeUnit.SECONDS)).partition());
        } finally {
            cluster.releaseMetadata();
        }
        assertEquals(1, cluster.records("t", 3).size());
    }

    @Test
    void oversizeRecord_isRecordTooLarge_clientSideAndServerSide() {
        cluster.createTopic("t", 1);
        try (Producer<String, String> p = producer(Map.of("max.request.size", 2048))) {
            assertThrows(RecordTooLargeException.class, () -> get(p.send(new ProducerRecord<>("t", 0, null, "x".repeat(5000)))));
        }
        try (Admin admin = new Admin(Map.of("bootstrap.servers", cluster.bootstrap()))) {
            Admin.getAll(admin.alterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, "t"),
                    List.of(AlterConfigOp.set("max.message.bytes", "1000"))), false), Duration.ofSeconds(10));
        }
        try (Producer<String, String> p = producer(Map.of())) {
            assertThrows(RecordTooLargeException.class, () -> get(p.send(new ProducerRecord<>("t", 0, null, "x".repeat(5000)))));
        }
        assertEquals(0, cluster.records("t", 0).size());
    }

    @Test
    void batchesCloseBeforeTheTopicsMaxMessageBytes_soRecordsThatEachFitAreAllWritten() throws Exception {
        cluster.createTopic("t", 1);
        try (Admin admin = new Admin(Map.of("bootstrap.servers", cluster.bootstrap()))) {
            Admin.getAll(admin.alterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, "t"),
                    List.of(AlterConfigOp.set("max.message.bytes", "2000"))), false), Duration.ofSeconds(10));
        }
        List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
        try (Producer<String, String> p = producer(Map.of("linger.ms", 100, "batch.size", 65536))) {
            CompletableFuture<RecordMetadata> tooLarge = null;
            for (int i = 0; i < 30; i++) {
                fs.add(p.send(new ProducerRecord<>("t", 0, null, "v".repeat(600))));
                if (i == 14) {
                    tooLarge = p.send(new ProducerRecord<>("t", 0, null, "x".repeat(3000)));
                }
            }
            p.flush();
            CompletableFuture<RecordMetadata> refused = tooLarge;
            assertTrue(assertThrows(ExecutionException.class, refused::get).getCause() instanceof RecordTooLargeException);
            for (int i = 0; i < fs.size(); i++) {
                assertEquals(i, get(fs.get(i)).offset());
            }
        }
        assertEquals(30, cluster.records("t", 0).size());
    }

    /**
     * max.message.bytes lowered while batches built under the old limit are queued and in flight:
     * the leader refuses them whole; the producer sends them again in halves until each part fits,
     * every record that fits by itself is written once and in order, and only the record too large
     * by itself fails. Both an idempotent producer (its parts take fresh sequences after an epoch
     * bump) and a plain one.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void limitLoweredUnderQueuedBatches_refusedBatchesAreSplitAndSentAgainInOrder(boolean idempotent) throws Exception {
        cluster.createTopic("t", 1);
        Map<String, Object> cfg = new HashMap<>(Map.of("linger.ms", 50, "batch.size", 32768));
        if (!idempotent) {
            cfg.put("enable.idempotence", false);
            cfg.put("acks", "1");
        }
        List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
        List<String> values = new ArrayList<>();
        CompletableFuture<RecordMetadata> tooLarge;
        try (Producer<String, String> p = producer(cfg)) {
            get(p.send(new ProducerRecord<>("t", 0, null, "first"))); // the metadata (1 MiB limit) is known
            cluster.holdProduce();
            tooLarge = null;
            for (int i = 0; i < 120; i++) {
                String v = i + ":" + "v".repeat(600);
                values.add(v);
                fs.add(p.send(new ProducerRecord<>("t", 0, null, v)));
                if (i == 70) {
                    tooLarge = p.send(new ProducerRecord<>("t", 0, null, "x".repeat(3000)));
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (cluster.produceRequests() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertTrue(cluster.produceRequests() >= 2, "no batch reached the held leader");
            try (Admin admin = new Admin(Map.of("bootstrap.servers", cluster.bootstrap()))) {
                Admin.getAll(admin.alterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, "t"),
                        List.of(AlterConfigOp.set("max.message.bytes", "2000"))), false), Duration.ofSeconds(10));
            }
            cluster.releaseProduce();
            CompletableFuture<RecordMetadata> refused = tooLarge;
            assertTrue(assertThrows(ExecutionException.class, () -> refused.get(30, TimeUnit.SECONDS)).getCause()
                    instanceof RecordTooLargeException);
            for (int i = 0; i < fs.size(); i++) {
                assertEquals(i + 1, get(fs.get(i)).offset(), "record " + i);
            }
            assertTrue(p.metrics().get("batch-split-total") >= 2, "splits counted: " + p.metrics());
            assertEquals(1.0, p.metrics().get("record-error-total"));
        }
        List<Record> stored = cluster.records("t", 0);
        assertEquals(121, stored.size());
        for (int i = 0; i < values.size(); i++) {
            assertEquals(values.get(i), value(stored.get(i + 1)));
        }
    }

    /** A batch an earlier attempt of which may be stored is not split (its parts would store it twice). */
    @Test
    void refusedAsTooLargeAfterAnAttemptThatMayHaveBeenStored_failsIndeterminate_notSplit() throws Exception {
        cluster.createTopic("t", 1);
        cluster.injectProduceErrorAfterAppend(ErrorCode.REQUEST_TIMED_OUT);
        cluster.injectProduceError(ErrorCode.RECORD_TOO_LARGE, 1);
        try (Producer<String, String> p = producer(Map.of("enable.idempotence", false, "acks", "1", "linger.ms", 200))) {
            List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                fs.add(p.send(new ProducerRecord<>("t", 0, null, "v" + i)));
            }
            p.flush();
            for (CompletableFuture<RecordMetadata> f : fs) {
                assertInstanceOf(IndeterminateException.class, assertThrows(ExecutionException.class, f::get).getCause());
            }
            assertEquals(0.0, p.metrics().get("batch-split-total"));
        }
        assertEquals(3, cluster.records("t", 0).size(), "stored once, by the first attempt");
    }

    @Test
    void bufferFull_blocksThenFailsWithBufferExhausted() throws Exception {
        cluster.createTopic("held", 1);
        cluster.holdProduce();
        try (Producer<String, String> p = producer(Map.of("buffer.memory", 4096, "batch.size", 1024, "max.block.ms", 200,
                "linger.ms", 0))) {
            List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
            BufferExhaustedException exhausted = null;
            for (int i = 0; i < 100 && exhausted == null; i++) {
                CompletableFuture<RecordMetadata> f = p.send(new ProducerRecord<>("held", 0, null, "x".repeat(900)));
                if (f.isCompletedExceptionally()) {
                    exhausted = (BufferExhaustedException) assertThrows(ExecutionException.class, f::get).getCause();
                } else {
                    fs.add(f);
                }
            }
            assertTrue(exhausted != null, "buffer.memory of 4 KiB never ran out");
            cluster.releaseProduce();
            for (CompletableFuture<RecordMetadata> f : fs) {
                get(f);
            }
            assertEquals(fs.size(), cluster.records("held", 0).size());
            assertEquals(fs.size(), get(p.send(new ProducerRecord<>("held", 0, null, "after"))).offset());
        }
    }

    @Test
    void acksZero_completesWithoutOffset() throws Exception {
        cluster.createTopic("t", 1);
        try (Producer<String, String> p = producer(Map.of("acks", "0"))) {
            RecordMetadata m = get(p.send(new ProducerRecord<>("t", 0, null, "a")));
            assertEquals(-1, m.offset());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (cluster.records("t", 0).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, cluster.records("t", 0).size());
    }

    @Test
    void brokerDown_deliveryTimeoutExpires_definite() {
        cluster.createTopic("t", 1);
        try (Producer<String, String> p = producer(Map.of("delivery.timeout.ms", 1500, "request.timeout.ms", 1000))) {
            // metadata only: with a produce stream already open, a send racing the stream's breakage
            // is rightly indeterminate (it may have been written before the server went away)
            assertEquals(1, p.partitionCount("t"));
            cluster.broker(1).stop();
            cluster.broker(2).stop();
            BasaltException e = assertThrows(BasaltException.class, () -> get(p.send(new ProducerRecord<>("t", 0, null, "b"))));
            assertInstanceOf(DefiniteException.class, e, e.toString());
        }
    }

    @Test
    void requestsToOneBroker_travelOnOneProduceStream() {
        cluster.createTopic("t", 1);
        try (Producer<String, String> p = producer(Map.of("acks", "all", "linger.ms", 0))) {
            for (int i = 0; i < 30; i++) {
                assertEquals(i, get(p.send(new ProducerRecord<>("t", 0, null, "v" + i))).offset());
            }
        }
        assertEquals(30, cluster.produceRequests());
        assertEquals(1, cluster.produceStreams(), "one stream for every request");
    }

    /**
     * A request over the broker's message size limit closes the whole stream (RESOURCE_EXHAUSTED
     * names no request): it fails definitely, as a unary call would, and is not retried; a record
     * sent beside it on the same stream is still delivered.
     */
    @Test
    void aRequestOverTheBrokersMessageLimit_failsDefinitely_andItsStreamNeighbourIsDelivered() {
        cluster.createTopic("t", 2);
        try (Producer<String, String> p = producer(Map.of("acks", "all", "linger.ms", 0, "max.request.size", 8 << 20,
                "enable.idempotence", "false"))) {
            assertEquals(0, get(p.send(new ProducerRecord<>("t", 1, null, "before"))).offset());
            CompletableFuture<RecordMetadata> big = p.send(new ProducerRecord<>("t", 0, null, "x".repeat(5 << 20)));
            CompletableFuture<RecordMetadata> small = p.send(new ProducerRecord<>("t", 1, null, "beside"));
            BasaltException e = assertThrows(BasaltException.class, () -> get(big));
            assertInstanceOf(DefiniteException.class, e, e.toString());
            long besideOffset = get(small).offset(); // acknowledged first: the records' snapshot must include it
            assertEquals("beside", value(cluster.records("t", 1).get((int) besideOffset)));
            long offset = get(p.send(new ProducerRecord<>("t", 1, null, "after"))).offset();
            assertEquals("after", value(cluster.records("t", 1).get((int) offset)));
        }
    }

    /**
     * A stream request the broker refuses as a message (under the client's 1 MiB stream bound, but
     * over this broker's 64 KiB limit) closes the stream for every request on it: they fail as cut
     * off (indeterminate, retried), the broker gets unary calls for a while, and there the refused
     * request fails on its own while the others are delivered once (idempotence).
     */
    @Test
    void aStreamMessageOverTheBrokersLimit_failsAlone_onUnaryRetries() throws Exception {
        try (FakeCluster small = FakeCluster.start(1, 64 << 10)) {
            small.createTopic("t", 2);
            Map<String, Object> cfg = new HashMap<>();
            cfg.put("bootstrap.servers", small.bootstrap());
            cfg.put("linger.ms", 0);
            cfg.put("acks", "all");
            cfg.put("retry.backoff.ms", 10);
            cfg.put("max.request.size", 1 << 20);
            try (Producer<String, String> p = new Producer<>(cfg, new StringSerializer(), new StringSerializer())) {
                assertEquals(0, get(p.send(new ProducerRecord<>("t", 1, null, "before"))).offset());
                CompletableFuture<RecordMetadata> big = p.send(new ProducerRecord<>("t", 0, null, "x".repeat(200 << 10)));
                BasaltException e = assertThrows(BasaltException.class, () -> get(big));
                assertTrue(e.getMessage().contains("RESOURCE_EXHAUSTED"), e.toString());
                long offset = get(p.send(new ProducerRecord<>("t", 1, null, "after"))).offset();
                assertEquals(List.of("before", "after"), small.records("t", 1).stream().map(ProducerTest::value).toList());
                assertEquals(1, offset);
                assertTrue(small.produceStreams() >= 1);
            }
        }
    }

    @Test
    void aBrokerWithoutProduceStream_getsUnaryProduce() {
        cluster.createTopic("t", 1);
        cluster.produceStreamUnimplemented();
        try (Producer<String, String> p = producer(Map.of("acks", "all", "linger.ms", 0))) {
            for (int i = 0; i < 10; i++) {
                assertEquals(i, get(p.send(new ProducerRecord<>("t", 0, null, "v" + i))).offset());
            }
        }
        assertEquals(10, cluster.produceRequests(), "each record once, as a unary call");
        assertEquals(1, cluster.produceStreams(), "the stream is tried once");
    }

    @Test
    void aStreamRequestPastRequestTimeout_cancelsTheStream_andTheRecordIsRetriedOnANewOne() throws Exception {
        cluster.createTopic("t", 1);
        cluster.holdProduce();
        try (Producer<String, String> p = producer(Map.of("acks", "all", "linger.ms", 0, "request.timeout.ms", 300))) {
            CompletableFuture<RecordMetadata> f = p.send(new ProducerRecord<>("t", 0, null, "held"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (cluster.produceStreams() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(cluster.produceStreams() >= 2, "the timed-out stream was replaced by a new one");
            assertFalse(f.isDone(), "the record is retried (indeterminate, within delivery.timeout.ms), not failed");
            cluster.releaseProduce();
            long offset = get(f).offset();
            assertEquals("held", value(cluster.records("t", 0).get((int) offset)));
        }
    }

    @Test
    void closeWithShortTimeout_failsUnansweredRecords_indeterminateInFlight_definiteQueued() {
        cluster.createTopic("t", 1);
        cluster.holdProduce();
        Producer<String, String> p = producer(Map.of("linger.ms", 0, "batch.size", 1024));
        CompletableFuture<RecordMetadata> inFlight = p.send(new ProducerRecord<>("t", 0, null, "x".repeat(900)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (cluster.produceRequests() == 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        List<CompletableFuture<RecordMetadata>> queued = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            queued.add(p.send(new ProducerRecord<>("t", 0, null, "y".repeat(900))));
        }
        p.close(Duration.ofMillis(200));
        assertThrows(IndeterminateException.class, () -> get(inFlight));
        for (CompletableFuture<RecordMetadata> f : queued) {
            BasaltException e = assertThrows(BasaltException.class, () -> get(f));
            assertInstanceOf(DefiniteException.class, e, e.toString());
        }
        cluster.releaseProduce();
    }

    @Test
    void close_sendsWhatIsQueued() {
        cluster.createTopic("t", 1);
        List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
        try (Producer<String, String> p = producer(Map.of("linger.ms", 60_000))) {
            for (int i = 0; i < 10; i++) {
                fs.add(p.send(new ProducerRecord<>("t", 0, null, "v" + i)));
            }
        }
        fs.forEach(ProducerTest::get);
        assertEquals(10, cluster.records("t", 0).size());
        Producer<String, String> closed = producer(Map.of());
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.send(new ProducerRecord<>("t", "x")));
    }
}

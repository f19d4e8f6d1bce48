package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.internal.Time;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.client.testkit.FakeCluster;
import dev.basalt.client.testkit.ManualTime;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * delivery.timeout.ms bounds a record's send to its outcome, retries included, also while a
 * request carrying it waits for an answer. Found probing: with both followers of an acks=all
 * partition SIGSTOPped (the quorum lost, so the ISR cannot shrink) the leader held every attempt
 * for the whole broker timeout_ms derived from request.timeout.ms, and a retry sent shortly
 * before the delivery deadline failed nearly a request timeout after it
 * (delivery.timeout.ms=10000 failed after 18-20 s, 45000 after 60 s).
 *
 * <p>Most tests drive the producer's clock by hand ({@link ManualTime}: the sender's deadlines,
 * backoffs and batch ages follow it, while gRPC's call deadlines stay on the real clock, far
 * away at request.timeout.ms=30 s), so "not before the deadline" and "at the deadline" do not
 * depend on how fast the machine is.
 */
class DeliveryTimeoutTest {
    private static final int DELIVERY_TIMEOUT_MS = 60_000;
    private static final int REQUEST_TIMEOUT_MS = 30_000;

    private FakeCluster cluster;

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(1);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }


    private static Producer<String, String> producer(String bootstrap, Time time, Map<String, Object> extra) {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", bootstrap);
        cfg.put("acks", "all");
        cfg.put("linger.ms", 0); // a frozen clock never lets linger pass
        cfg.put("retry.backoff.ms", 10);
        cfg.put("retry.backoff.max.ms", 50);
        cfg.put("request.timeout.ms", REQUEST_TIMEOUT_MS);
        cfg.put("delivery.timeout.ms", DELIVERY_TIMEOUT_MS);
        cfg.put("max.block.ms", 10_000);
        cfg.putAll(extra);
        return new Producer<>(ProducerConfig.parse(cfg), new StringSerializer(), new StringSerializer(), time);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }

    /** Gives the sender thread time for some passes (it looks at least every 100 ms), for "nothing happens" checks. */
    private static void letTheSenderRun() throws InterruptedException {
        Thread.sleep(400);
    }

    private static String value(Record r) {
        return new String(r.valueBytes(), StandardCharsets.UTF_8);
    }

    /**
     * Sends "a" at clock t0 (after "w", so the producer has its id): its first attempt is refused
     * (NOT_ENOUGH_REPLICAS, nothing written) and its retry, sent with 10 s of delivery time left,
     * is held unanswered by the leader.
     *
     * @return a's future; its retry is then the last produce request the broker received
     */
    private CompletableFuture<RecordMetadata> sendAWhoseRetryIsHeld(Producer<String, String> p, ManualTime clock, long t0)
            throws Exception {
        assertEquals(0, Producer.await(p.send(new ProducerRecord<>("t", 0, null, "w")), Duration.ofSeconds(10)).offset());
        cluster.injectProduceError(ErrorCode.NOT_ENOUGH_REPLICAS, 1);
        clock.set(t0);
        CompletableFuture<RecordMetadata> a = p.send(new ProducerRecord<>("t", 0, null, "a"));
        await(() -> cluster.produceRequests() == 2, "a's first attempt is answered");
        // its answer is handled (the retry is scheduled on the frozen clock) before the clock moves
        await(() -> p.metrics().get("record-retry-total") >= 1, "a's retry is scheduled");
        letTheSenderRun();
        assertEquals(2, cluster.produceRequests(), "the retry waits for the clock");
        cluster.holdProduce();
        clock.set(t0 + DELIVERY_TIMEOUT_MS - 10_000);
        await(() -> cluster.produceRequests() == 3, "a's retry reaches the leader");
        return a;
    }

    @Test
    void anAttemptsBrokerTimeout_isNoLongerThanTheDeliveryTimeLeft() throws Exception {
        cluster.createTopic("t", 1);
        ManualTime clock = new ManualTime();
        try (Producer<String, String> p = producer(cluster.bootstrap(), clock, Map.of())) {
            long t0 = clock.monotonicMs() + 1_000;
            CompletableFuture<RecordMetadata> a = sendAWhoseRetryIsHeld(p, clock, t0);
            List<Integer> timeouts = cluster.produceTimeoutsMs();
            assertEquals(REQUEST_TIMEOUT_MS - 1_000, timeouts.get(1), "with a full delivery time left: inside the call deadline");
            assertEquals(10_000, timeouts.get(2), "the retry, 10 s before a's deadline: " + timeouts);
            cluster.releaseProduce();
            assertEquals(1, Producer.await(a, Duration.ofSeconds(10)).offset());
        }
    }

    /**
     * One request carries a retry with 10 s of delivery time left and a fresh batch of another
     * partition with 15 s left: its timeout_ms is the later deadline's 15 s, not the earlier's 10 s
     * (the retry still fails at its own deadline, on the producer's clock, if unanswered by then),
     * so a retry near its end does not cut the wait of the batches beside it.
     */
    @Test
    void aRequestsBrokerTimeout_isTheLatestDeadlineOfItsBatches() throws Exception {
        cluster.createTopic("t", 2);
        ManualTime clock = new ManualTime();
        // a long linger on the frozen clock: batches wait for it until the test moves the clock
        try (Producer<String, String> p = producer(cluster.bootstrap(), clock, Map.of("linger.ms", 5_000))) {
            long c0 = clock.monotonicMs();
            CompletableFuture<RecordMetadata> w = p.send(new ProducerRecord<>("t", 0, null, "w"));
            clock.set(c0 + 5_000);
            assertEquals(0, Producer.await(w, Duration.ofSeconds(10)).offset());
            cluster.injectProduceError(ErrorCode.NOT_ENOUGH_REPLICAS, 1);
            long c1 = clock.monotonicMs();
            CompletableFuture<RecordMetadata> a = p.send(new ProducerRecord<>("t", 0, null, "a"));
            clock.set(c1 + 5_000);
            await(() -> cluster.produceRequests() == 2, "a's first attempt is answered");
            await(() -> p.metrics().get("record-retry-total") >= 1, "a's retry is scheduled");
            CompletableFuture<RecordMetadata> b = p.send(new ProducerRecord<>("t", 1, null, "b")); // created at c1 + 5 s
            letTheSenderRun();
            assertEquals(2, cluster.produceRequests(), "a's retry and b wait for the clock");
            clock.set(c1 + DELIVERY_TIMEOUT_MS - 10_000); // a has 10 s left, b 15 s
            await(() -> cluster.produceRequests() >= 3, "the retry and b are sent");
            letTheSenderRun();
            assertEquals(List.of(1, 1, 2), cluster.producePartitionCounts(), "a's retry and b in one request");
            assertEquals(15_000, cluster.produceTimeoutsMs().get(2), "b's deadline, the later one: " + cluster.produceTimeoutsMs());
            assertEquals(1, Producer.await(a, Duration.ofSeconds(10)).offset());
            assertEquals(0, Producer.await(b, Duration.ofSeconds(10)).offset());
        }
    }

    /**
     * The leader holds a's retry past a's delivery deadline: a fails at the deadline (on the
     * producer's clock), as indeterminate, not a request timeout later. Its late answer (written)
     * is then only bookkeeping: the sender lives on, "b", sent after a expired, is not sent while
     * a's request is unanswered (it could overtake a), then lands after it; a being written, the
     * sequence still follows the leader's and no epoch bump is needed.
     */
    @Test
    void aBatchWhoseRequestIsUnansweredAtItsDeadline_failsThen_andItsLateSuccessIsOnlyBookkeeping() throws Exception {
        cluster.createTopic("t", 1);
        ManualTime clock = new ManualTime();
        try (Producer<String, String> p = producer(cluster.bootstrap(), clock, Map.of())) {
            long t0 = clock.monotonicMs() + 1_000;
            CompletableFuture<RecordMetadata> a = sendAWhoseRetryIsHeld(p, clock, t0);

            clock.set(t0 + DELIVERY_TIMEOUT_MS - 1);
            letTheSenderRun();
            assertFalse(a.isDone(), "not before its deadline");

            clock.set(t0 + DELIVERY_TIMEOUT_MS);
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.get(10, TimeUnit.SECONDS),
                    "fails at its deadline, though the request is unanswered (its call deadline is 30 s away)");
            IndeterminateException ie = assertInstanceOf(IndeterminateException.class, e.getCause(), e.getCause().toString());
            assertTrue(ie.getMessage().contains("expired after " + DELIVERY_TIMEOUT_MS + " ms (delivery.timeout.ms)")
                    && ie.getMessage().contains("may still be committed")
                    && ie.getMessage().contains("NOT_ENOUGH_REPLICAS"), ie.getMessage());
            assertEquals(dev.basalt.cli.BasaltCli.TIMEOUT_OR_UNKNOWN, dev.basalt.cli.BasaltCli.exitCodeOf(ie));

            CompletableFuture<RecordMetadata> b = p.send(new ProducerRecord<>("t", 0, null, "b"));
            letTheSenderRun();
            assertEquals(3, cluster.produceRequests(), "b waits behind a's unanswered request");
            assertFalse(b.isDone());

            cluster.releaseProduce(); // a's retry is appended and answered after all
            assertEquals(2, Producer.await(b, Duration.ofSeconds(10)).offset(), "b after a, which was written");
            assertEquals(3, Producer.await(p.send(new ProducerRecord<>("t", 0, null, "c")), Duration.ofSeconds(10)).offset());
        }
        assertEquals(List.of("w", "a", "b", "c"), cluster.records("t", 0).stream().map(DeliveryTimeoutTest::value).toList());
        List<RecordBatch> stored = cluster.storedBatches("t", 0);
        assertEquals(List.of(0, 1, 2, 3), stored.stream().map(RecordBatch::baseSequence).toList());
        assertEquals(List.of((short) 0, (short) 0, (short) 0, (short) 0), stored.stream().map(RecordBatch::producerEpoch).toList());
        assertEquals(1, cluster.initProducerIdRequests(), "no epoch bump: the expired batch turned out written");
    }

    /**
     * As above, but the late answer refuses a (nothing written): it is not retried (its outcome
     * was given), and its partition's sequence no longer follows the leader's, so the producer
     * bumps its epoch (KIP-360) as for any failed stamped batch, and b starts the new epoch at 0.
     */
    @Test
    void aBatchExpiredInFlight_thenRefused_isNotRetried_andTheEpochIsBumped() throws Exception {
        cluster.createTopic("t", 1);
        ManualTime clock = new ManualTime();
        try (Producer<String, String> p = producer(cluster.bootstrap(), clock, Map.of())) {
            long t0 = clock.monotonicMs() + 1_000;
            CompletableFuture<RecordMetadata> a = sendAWhoseRetryIsHeld(p, clock, t0);
            clock.set(t0 + DELIVERY_TIMEOUT_MS + 5);
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.get(10, TimeUnit.SECONDS));
            assertInstanceOf(IndeterminateException.class, e.getCause());

            CompletableFuture<RecordMetadata> b = p.send(new ProducerRecord<>("t", 0, null, "b"));
            cluster.injectProduceError(ErrorCode.NOT_ENOUGH_REPLICAS, 1); // a's held retry gets it
            cluster.releaseProduce();
            assertEquals(1, Producer.await(b, Duration.ofSeconds(10)).offset(), "a was not written, nor retried");
        }
        assertEquals(List.of("w", "b"), cluster.records("t", 0).stream().map(DeliveryTimeoutTest::value).toList());
        assertEquals(4, cluster.produceRequests(), "w, a twice, b: a's refused late answer was not retried");
        RecordBatch bStored = cluster.storedBatches("t", 0).get(1);
        assertEquals(1, bStored.producerEpoch(), "the epoch was bumped after a's refusal");
        assertEquals(0, bStored.baseSequence(), "a new epoch starts at sequence 0");
        assertEquals(2, cluster.initProducerIdRequests());
    }

    /**
     * The probe's case end to end, on the real clock: a leader whose ISR never acknowledges
     * answers REQUEST_TIMED_OUT after each request's timeout_ms. With request.timeout.ms at half
     * the delivery timeout, each attempt waits 2.7 s (0.9 x 3 s): before the fix the third attempt,
     * sent at 5.4 s with 0.6 s left, waited 2.7 s too and the record failed at about 8.1 s for a
     * 6 s delivery timeout; now it fails at about its deadline. The upper bound leaves 1.5 s for a
     * slow machine and still catches that overshoot, and the first answer comes 3.3 s before the
     * deadline, so even a slow sender retries.
     */
    @Test
    void leaderWhoseIsrDoesNotAcknowledge_theRecordFailsAtItsDeliveryTimeout_notARequestTimeoutLater() {
        cluster.createTopic("t", 1);
        int deliveryMs = 6_000;
        try (Producer<String, String> p = producer(cluster.bootstrap(), Time.SYSTEM,
                Map.of("delivery.timeout.ms", deliveryMs, "request.timeout.ms", deliveryMs / 2, "linger.ms", 1))) {
            assertEquals(0, Producer.await(p.send(new ProducerRecord<>("t", 0, null, "w")), Duration.ofSeconds(10)).offset());
            cluster.stallIsr(true);
            long start = System.nanoTime();
            CompletableFuture<RecordMetadata> a = p.send(new ProducerRecord<>("t", 0, null, "a"));
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.get(30, TimeUnit.SECONDS));
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertInstanceOf(IndeterminateException.class, e.getCause(), e.getCause().toString());
            assertTrue(tookMs >= deliveryMs - 200 && tookMs < deliveryMs + 1_500,
                    "failed after " + tookMs + " ms, delivery.timeout.ms=" + deliveryMs + ": " + e.getCause().getMessage());
            List<Integer> timeouts = cluster.produceTimeoutsMs();
            assertTrue(timeouts.size() >= 3, "a was retried: " + timeouts);
            assertTrue(timeouts.get(timeouts.size() - 1) < deliveryMs - timeouts.get(1),
                    "the retry's timeout_ms fits in what was left of a's delivery time: " + timeouts);
        }
        assertEquals(List.of("w", "a"), cluster.records("t", 0).stream().map(DeliveryTimeoutTest::value).toList(),
                "a is in the leader's log (and would be committed should the ISR come back)");
    }

    /**
     * Records that wait unsent because no broker hands out a producer id fail at their deadline
     * saying so, with the broker's reason (found probing: during a controller quorum outage a new
     * producer's records expired naming no cause, the InitProducerId failures logged at DEBUG only).
     */
    @Test
    void recordsThatWaitForAProducerId_expireNamingTheInitProducerIdFailure() throws Exception {
        cluster.createTopic("t", 1);
        cluster.injectInitProducerIdError(ErrorCode.BROKER_NOT_AVAILABLE, 1_000);
        ManualTime clock = new ManualTime();
        try (Producer<String, String> p = producer(cluster.bootstrap(), clock, Map.of())) {
            CompletableFuture<RecordMetadata> a = p.send(new ProducerRecord<>("t", 0, null, "a"));
            await(() -> cluster.initProducerIdRequests() >= 1, "the producer asks for an id");
            // a second request goes out only once the first's failure was handled and its back-off
            // passed on the frozen clock: moved on in small steps until it does (at most ~40 s of
            // the 60 s delivery time), since the broker counts a request before it answers it
            await(() -> {
                clock.set(clock.monotonicMs() + 20);
                return cluster.initProducerIdRequests() >= 2;
            }, "the first failure handled, the producer asks again");
            clock.set(clock.monotonicMs() + DELIVERY_TIMEOUT_MS);
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.get(10, TimeUnit.SECONDS));
            assertInstanceOf(ClientTimeoutException.class, e.getCause(), e.getCause().toString());
            String m = e.getCause().getMessage();
            assertTrue(m.contains("expired after") && m.contains("the producer has no producer id yet")
                    && m.contains("the last InitProducerId failed: BROKER_NOT_AVAILABLE: injected"), m);
            assertEquals(0, cluster.produceRequests(), "nothing was sent without an id");
        }
    }
}

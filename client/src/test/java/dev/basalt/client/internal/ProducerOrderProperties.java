package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.basalt.client.DefiniteException;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: the producer's ordering guarantee (docs/client.md, "Order within a partition") holds
 * whatever happens: with leaders moving, requests served by brokers in any order, answers
 * arriving in any order, definite errors (NOT_LEADER, NOT_ENOUGH_REPLICAS) retried with backoff
 * and the KIP-951 shortcut, batches expiring, and max.message.bytes lowered under batches already
 * built (refused batches split and sent again, a record too large by itself failing), every partition's log holds its records in
 * send order, each at most once, and a record's future succeeds exactly when it is in the log,
 * at the offset it was told.
 *
 * <p>Method: a seeded, single-threaded simulation of the real {@link RecordAccumulator} and
 * {@link ProducerBatch}es under a model sender that follows {@code Sender}'s rules (one drain
 * per pass per ready node, unmute on the answer, retriable batches re-enqueued last first, leader
 * hints applied), and model brokers that append a request's batches of a partition all or none,
 * if they lead it. Time is simulated. A fault-free phase at the end must deliver everything.
 * 1,000 seeds by default.
 *
 * <p>Reproduce: a failure prints {@code ./mvnw -B -ntp -o -pl client -am test
 * -Dtest=ProducerOrderProperties#replay -Dbasalt.seed=SEED -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ProducerOrderProperties {
    private static final int PARTITIONS = 3;
    private static final int BROKERS = 3;

    @Property(tries = 1_000, shrinking = ShrinkingMode.OFF)
    void sendOrderSurvivesRetriesAndLeaderMoves(@ForAll long seed) {
        runOne(seed);
    }

    /** Replays one run given as {@code -Dbasalt.seed=SEED} (skipped when unset). */
    @Test
    void replay() {
        String spec = System.getProperty("basalt.seed", "");
        Assumptions.assumeFalse(spec.isBlank(), "set -Dbasalt.seed=SEED to replay one run");
        runOne(Long.parseLong(spec.trim()));
    }

    static void runOne(long seed) {
        Sim sim = new Sim(seed);
        try {
            sim.run();
        } catch (AssertionError | RuntimeException e) {
            fail("seed " + seed + " (" + sim.params() + ") failed\n  replay: ./mvnw -B -ntp -o -pl client -am test"
                    + " -Dtest=ProducerOrderProperties#replay -Dbasalt.seed=" + seed + " -Dsurefire.failIfNoSpecifiedTests=false"
                    + "\n  cause: " + e, e);
        }
    }

    /** One in-flight Produce request: its batches, and the broker's answer once served. */
    private static final class Request {
        final int node;
        final List<ProducerBatch> batches;
        Map<TopicPartition, Long> baseOffsets; // null = not served yet; -1 = error for that partition
        final Map<TopicPartition, Boolean> leadershipError = new HashMap<>();
        final Set<TopicPartition> tooLarge = new HashSet<>();

        Request(int node, List<ProducerBatch> batches) {
            this.node = node;
            this.batches = batches;
        }
    }

    private static final class Sim implements RecordAccumulator.LeaderView {
        final SplittableRandom random;
        final int steps;
        final int errorPercent;
        final int retries;
        final long lingerMs;
        final int inFlightPerNodeMax;
        final BufferPool pool;
        final RecordAccumulator accumulator;
        final int[] leader = new int[PARTITIONS];
        final int[] epoch = new int[PARTITIONS];
        /** The partition's max.message.bytes, lowered at random under batches already built. */
        final int[] batchBytesMax = new int[PARTITIONS];
        /** The producer's metadata of it: learns a lowered limit some steps later (0 = not known). */
        final int[] knownBatchBytesMax = new int[PARTITIONS];
        final List<List<String>> logs = new ArrayList<>();
        final List<Request> inFlight = new ArrayList<>();
        final Map<CompletableFuture<RecordMetadata>, String> sent = new LinkedHashMap<>();
        final int[] nextValue = new int[PARTITIONS];
        long nowMs;

        Sim(long seed) {
            random = new SplittableRandom(seed);
            steps = 200 + random.nextInt(800);
            errorPercent = random.nextInt(30);
            retries = random.nextInt(6);
            lingerMs = random.nextInt(5);
            inFlightPerNodeMax = 1 + random.nextInt(3);
            // deliveryTimeoutMs from the seed too: some batches expire while queued
            pool = new BufferPool(1 << 20, 128);
            accumulator = new RecordAccumulator(pool, 128, lingerMs, 200 + random.nextInt(2_000));
            for (int p = 0; p < PARTITIONS; p++) {
                leader[p] = 1 + p % BROKERS;
                batchBytesMax[p] = Integer.MAX_VALUE;
                logs.add(new ArrayList<>());
            }
        }

        String params() {
            return "steps=" + steps + " errorPercent=" + errorPercent + " retries=" + retries + " lingerMs=" + lingerMs
                    + " inFlightPerNodeMax=" + inFlightPerNodeMax;
        }

        @Override
        public int leaderFor(TopicPartition tp) {
            return leader[tp.partition()];
        }

        @Override
        public int leaderEpochFor(TopicPartition tp) {
            return epoch[tp.partition()];
        }

        @Override
        public int batchBytesMaxFor(TopicPartition tp) {
            return knownBatchBytesMax[tp.partition()];
        }

        void run() throws RuntimeException {
            for (int i = 0; i < steps; i++) {
                step(true);
            }
            // liveness: faults stop; everything still pending must be delivered or fail definitely
            for (int i = 0; i < 100_000 && (accumulator.hasIncomplete() || !inFlight.isEmpty()); i++) {
                step(false);
            }
            assertTrue(!accumulator.hasIncomplete() && inFlight.isEmpty(), "not everything completed after the faults stopped");
            assertEquals(1 << 20, pool.availableBytes(), "every batch's memory back in the pool");
            check();
        }

        void step(boolean faults) {
            int action = random.nextInt(100);
            if (faults && action < 30) {
                append();
            } else if (faults && action < 35) {
                int p = random.nextInt(PARTITIONS);
                leader[p] = 1 + random.nextInt(BROKERS);
                epoch[p]++;
            } else if (faults && action < 36 && random.nextInt(3) == 0) {
                // some limits are below a one-record batch (about 70 bytes): those records fail
                batchBytesMax[random.nextInt(PARTITIONS)] = 60 + random.nextInt(140);
            } else if (action < 37) {
                int p = random.nextInt(PARTITIONS); // a metadata refresh: drain splits batches over the limit
                knownBatchBytesMax[p] = batchBytesMax[p] == Integer.MAX_VALUE ? 0 : batchBytesMax[p];
            } else if (action < 60) {
                senderPass();
            } else if (action < 80) {
                if (!inFlight.isEmpty()) {
                    serve(inFlight.get(random.nextInt(inFlight.size())), faults);
                }
            } else if (action < 95) {
                List<Request> served = inFlight.stream().filter(r -> r.baseOffsets != null).toList();
                if (!served.isEmpty()) {
                    answer(served.get(random.nextInt(served.size())));
                }
            } else {
                nowMs += random.nextInt(50);
            }
            nowMs += 1;
        }

        void append() {
            int p = random.nextInt(PARTITIONS);
            String value = p + ":" + nextValue[p]++;
            try {
                RecordAccumulator.AppendResult r = accumulator.append(new TopicPartition("t", p), nowMs, null,
                        value.getBytes(StandardCharsets.UTF_8), List.of(), 0, false, nowMs);
                sent.put(r.future(), value);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }

        /** As Sender.runOnce: expire, find ready nodes below their in-flight bound, drain, send. */
        void senderPass() {
            for (ProducerBatch b : accumulator.expire(nowMs)) {
                b.fail(new DefiniteException("expired", true));
                accumulator.deallocate(b);
            }
            Set<Integer> nodes = new HashSet<>();
            for (int node : accumulator.ready(this, nowMs).readyNodes()) {
                if (inFlight.stream().filter(r -> r.node == node).count() < inFlightPerNodeMax) {
                    nodes.add(node);
                }
            }
            Set<TopicPartition> busy = new HashSet<>();
            inFlight.forEach(r -> r.batches.forEach(b -> busy.add(b.partition())));
            accumulator.drain(this, nodes, 1024, nowMs).forEach((node, batches) -> {
                for (ProducerBatch b : batches) {
                    // the guarantee's premise: one request per partition in flight
                    assertTrue(!busy.contains(b.partition()), b.partition() + " sent while a request of it is in flight");
                }
                batches.forEach(b -> busy.add(b.partition()));
                inFlight.add(new Request(node, batches));
            });
        }

        /** The broker serves a request: per partition, all batches appended in order, or an error. */
        void serve(Request r, boolean faults) {
            if (r.baseOffsets != null) {
                return;
            }
            r.baseOffsets = new LinkedHashMap<>();
            Map<TopicPartition, List<ProducerBatch>> byPartition = new LinkedHashMap<>();
            r.batches.forEach(b -> byPartition.computeIfAbsent(b.partition(), k -> new ArrayList<>()).add(b));
            byPartition.forEach((tp, list) -> {
                if (leader[tp.partition()] != r.node) {
                    r.baseOffsets.put(tp, -1L);
                    r.leadershipError.put(tp, true);
                } else if (list.stream().anyMatch(b -> b.sizeInBytes() > batchBytesMax[tp.partition()])) {
                    r.baseOffsets.put(tp, -1L); // RECORD_TOO_LARGE: the whole payload refused
                    r.leadershipError.put(tp, false);
                    r.tooLarge.add(tp);
                } else if (faults && random.nextInt(100) < errorPercent) {
                    r.baseOffsets.put(tp, -1L); // NOT_ENOUGH_REPLICAS: definite, nothing appended
                    r.leadershipError.put(tp, false);
                } else {
                    List<String> log = logs.get(tp.partition());
                    r.baseOffsets.put(tp, (long) log.size());
                    for (ProducerBatch b : list) {
                        for (Record rec : RecordBatch.wrap(ByteBuffer.wrap(copy(b.payload()))).records()) {
                            log.add(new String(rec.valueBytes(), StandardCharsets.UTF_8));
                        }
                    }
                }
            });
        }

        /** As Sender.handleResponse: unmute, then complete or retry (last first) or fail. */
        void answer(Request r) {
            inFlight.remove(r);
            r.batches.forEach(b -> accumulator.unmute(b.partition()));
            Map<TopicPartition, List<ProducerBatch>> byPartition = new LinkedHashMap<>();
            r.batches.forEach(b -> byPartition.computeIfAbsent(b.partition(), k -> new ArrayList<>()).add(b));
            byPartition.forEach((tp, list) -> {
                long base = r.baseOffsets.get(tp);
                if (base >= 0) {
                    for (ProducerBatch b : list) {
                        b.complete(base, -1);
                        base += b.recordCount();
                        accumulator.deallocate(b);
                    }
                    return;
                }
                for (int i = list.size() - 1; i >= 0; i--) {
                    ProducerBatch b = list.get(i);
                    if (r.tooLarge.contains(tp)) { // as Sender.splitsWhenTooLarge
                        if ((b.recordCount() > 1 || list.size() > 1) && !b.mayHaveBeenWritten()
                                && accumulator.withinDeliveryTimeout(b, nowMs)) {
                            accumulator.split(b, batchBytesMaxFor(tp));
                        } else {
                            b.fail(new DefiniteException("too large", false));
                            accumulator.deallocate(b);
                        }
                        continue;
                    }
                    if (r.leadershipError.get(tp)) {
                        b.refusedForLeadership();
                    }
                    long backoff = 1 + random.nextInt(20);
                    if (b.attempts() <= retries && accumulator.withinDeliveryTimeout(b, nowMs + backoff)) {
                        b.scheduleRetry(nowMs + backoff, null, false);
                        accumulator.reenqueue(b);
                    } else {
                        b.fail(new DefiniteException("gave up", true));
                        accumulator.deallocate(b);
                    }
                }
            });
        }

        private static byte[] copy(ByteBuffer b) {
            byte[] out = new byte[b.remaining()];
            b.duplicate().get(out);
            return out;
        }

        void check() {
            for (int p = 0; p < PARTITIONS; p++) {
                List<String> log = logs.get(p);
                int previous = -1;
                for (String v : log) {
                    int n = Integer.parseInt(v.substring(v.indexOf(':') + 1));
                    assertTrue(n > previous, "partition " + p + ": " + v + " after value " + previous + " (reordered or duplicated)");
                    previous = n;
                }
            }
            sent.forEach((f, value) -> {
                int p = Integer.parseInt(value.substring(0, value.indexOf(':')));
                assertTrue(f.isDone(), value + " never completed");
                if (f.isCompletedExceptionally()) {
                    assertTrue(!logs.get(p).contains(value), value + " failed definitely but is in the log");
                } else {
                    long offset = f.join().offset();
                    assertEquals(value, logs.get(p).get((int) offset), "acknowledged offset of " + value);
                }
            });
        }
    }
}

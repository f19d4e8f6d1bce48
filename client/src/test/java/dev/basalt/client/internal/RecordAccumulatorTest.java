package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.RecordMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.record.Batches;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

/**
 * Batching decisions with an explicit clock (nowMs is passed in): a batch is sendable when full,
 * when linger.ms has passed, or during a flush; drain takes one batch per partition per leader
 * within the request size; expiry follows delivery.timeout.ms; the drained bytes are a valid
 * RecordBatch holding the appended records in order.
 */
class RecordAccumulatorTest {
    private static final TopicPartition TP0 = new TopicPartition("t", 0);
    private static final TopicPartition TP1 = new TopicPartition("t", 1);
    private static final RecordAccumulator.LeaderView LEADER_1 = tp -> 1;

    private static RecordAccumulator acc(int batchSize, long lingerMs) {
        return new RecordAccumulator(new BufferPool(1 << 20, batchSize), batchSize, lingerMs, 10_000);
    }

    private static CompletableFuture<RecordMetadata> append(RecordAccumulator a, TopicPartition tp, String value, long nowMs)
            throws InterruptedException {
        return a.append(tp, 1000, null, value.getBytes(), List.of(), 0, false, nowMs).future();
    }

    @Test
    void linger_holdsBatchUntilItExpires() throws Exception {
        RecordAccumulator a = acc(16_384, 100);
        append(a, TP0, "v", 0);
        RecordAccumulator.ReadyCheck r = a.ready(LEADER_1, 50);
        assertTrue(r.readyNodes().isEmpty());
        assertEquals(50, r.nextCheckDelayMs());
        assertEquals(Set.of(1), a.ready(LEADER_1, 100).readyNodes());
    }

    @Test
    void fullBatch_isReadyBeforeLinger() throws Exception {
        RecordAccumulator a = acc(200, 60_000);
        int n = 0;
        while (a.append(TP0, 1000, null, new byte[40], List.of(), 0, false, 0).batchIsFull() == false) {
            n++;
        }
        assertTrue(n > 1);
        assertEquals(Set.of(1), a.ready(LEADER_1, 0).readyNodes());
    }

    @Test
    void unknownLeader_reportsTopic() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        append(a, TP0, "v", 0);
        RecordAccumulator.ReadyCheck r = a.ready(tp -> -1, 10);
        assertEquals(Set.of("t"), r.unknownLeaderTopics());
        assertTrue(r.readyNodes().isEmpty());
    }

    @Test
    void flush_makesEverythingSendable() throws Exception {
        RecordAccumulator a = acc(16_384, 60_000);
        append(a, TP0, "v", 0);
        assertTrue(a.ready(LEADER_1, 0).readyNodes().isEmpty());
        a.beginFlush();
        assertEquals(Set.of(1), a.ready(LEADER_1, 0).readyNodes());
        a.endFlush();
    }

    @Test
    void drain_oneBatchPerPartition_validBytesInOrder() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        for (int i = 0; i < 5; i++) {
            append(a, TP0, "a" + i, 0);
        }
        append(a, TP1, "b", 0);
        Map<Integer, List<ProducerBatch>> d = a.drain(LEADER_1, Set.of(1), 1 << 20, 0);
        assertEquals(2, d.get(1).size());
        ProducerBatch b0 = d.get(1).stream().filter(b -> b.partition().equals(TP0)).findFirst().orElseThrow();
        List<String> values = new ArrayList<>();
        for (RecordBatch rb : Batches.parseStrict(b0.payload(), Integer.MAX_VALUE, 10)) {
            for (Record r : rb.records()) {
                values.add(new String(r.valueBytes()));
            }
        }
        assertEquals(List.of("a0", "a1", "a2", "a3", "a4"), values);
        b0.complete(100, -1);
        a.deallocate(b0);
    }

    @Test
    void drain_respectsRequestSize() throws Exception {
        RecordAccumulator a = acc(1024, 0);
        append(a, TP0, "x".repeat(600), 0);
        append(a, TP1, "y".repeat(600), 0);
        Map<Integer, List<ProducerBatch>> d = a.drain(LEADER_1, Set.of(1), 1000, 0);
        assertEquals(1, d.get(1).size());
        Map<Integer, List<ProducerBatch>> d2 = a.drain(LEADER_1, Set.of(1), 1000, 0);
        assertEquals(1, d2.get(1).size());
        assertFalse(d.get(1).get(0).partition().equals(d2.get(1).get(0).partition()));
    }

    @Test
    void drain_takesConsecutiveFullBatchesOfOnePartition_leavesOpenOne() throws Exception {
        RecordAccumulator a = acc(200, 0);
        for (int i = 0; i < 10; i++) {
            a.append(TP0, 1000, null, new byte[60], List.of(), 0, false, 0);
        }
        List<ProducerBatch> d = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1);
        assertTrue(d.size() >= 3, "drained " + d.size());
        assertTrue(d.stream().allMatch(ProducerBatch::isFull));
        assertEquals(10, d.stream().mapToInt(ProducerBatch::recordCount).sum() + remaining(a));
        assertTrue(a.drain(LEADER_1, Set.of(1), 1 << 20, 0).isEmpty(), "muted until answered");
    }

    private static int remaining(RecordAccumulator a) {
        return a.drainAllQueued().stream().mapToInt(ProducerBatch::recordCount).sum();
    }

    @Test
    void completedFutures_carryConsecutiveOffsets() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        CompletableFuture<RecordMetadata> f0 = append(a, TP0, "a", 0);
        CompletableFuture<RecordMetadata> f1 = append(a, TP0, "b", 0);
        ProducerBatch b = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1).get(0);
        b.complete(41, -1);
        assertEquals(41, f0.get().offset());
        assertEquals(42, f1.get().offset());
        assertEquals(1000, f1.get().timestamp());
    }

    @Test
    void expire_failsOldQueuedBatches() throws Exception {
        RecordAccumulator a = acc(16_384, 60_000);
        append(a, TP0, "v", 0);
        assertTrue(a.expire(9_999).isEmpty());
        assertEquals(1, a.expire(10_000).size());
    }

    @Test
    void stickyAbort_whenNoOpenBatch() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        assertTrue(a.append(TP0, 0, null, new byte[1], List.of(), 0, true, 0).abortedForNewBatch());
        append(a, TP0, "v", 0);
        assertFalse(a.append(TP0, 0, null, new byte[1], List.of(), 0, true, 0).abortedForNewBatch());
    }

    @Test
    void retriedBatch_waitsForBackoff_andStaysFirst() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        append(a, TP0, "first", 0);
        ProducerBatch b = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1).get(0);
        append(a, TP0, "second", 0);
        assertTrue(a.drain(LEADER_1, Set.of(1), 1 << 20, 0).isEmpty(), "partition muted while its batch is in flight");
        b.scheduleRetry(500, null, false);
        a.unmute(TP0);
        a.reenqueue(b);
        assertTrue(a.drain(LEADER_1, Set.of(1), 1 << 20, 100).isEmpty());
        assertEquals(b, a.drain(LEADER_1, Set.of(1), 1 << 20, 500).get(1).get(0));
    }

    /** A view where the partition is led by broker `leader` at `epoch`. */
    private static RecordAccumulator.LeaderView led(int leader, int epoch) {
        return new RecordAccumulator.LeaderView() {
            @Override
            public int leaderFor(TopicPartition tp) {
                return leader;
            }

            @Override
            public int leaderEpochFor(TopicPartition tp) {
                return epoch;
            }
        };
    }

    @Test
    void retryRefusedForLeadership_skipsBackoff_onceANewerLeaderIsKnown() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        append(a, TP0, "v", 0);
        ProducerBatch b = a.drain(led(1, 5), Set.of(1), 1 << 20, 0).get(1).get(0);
        assertEquals(5, b.sentLeaderEpoch());
        a.unmute(TP0);
        b.scheduleRetry(1_000, null, false);
        b.refusedForLeadership(); // NOT_LEADER from the epoch-5 leader
        a.reenqueue(b);
        assertTrue(a.ready(led(1, 5), 10).readyNodes().isEmpty(), "same leader epoch: wait out the backoff");
        assertEquals(990, a.ready(led(1, 5), 10).nextCheckDelayMs());
        assertEquals(Set.of(2), a.ready(led(2, 6), 10).readyNodes(), "newer leader: at once (KIP-951)");
        assertEquals(List.of(b), a.drain(led(2, 6), Set.of(2), 1 << 20, 10).get(2));
        assertEquals(6, b.sentLeaderEpoch());
    }

    @Test
    void retryForOtherErrors_waitsOutItsBackoff_evenWithANewLeader() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        append(a, TP0, "v", 0);
        ProducerBatch b = a.drain(led(1, 5), Set.of(1), 1 << 20, 0).get(1).get(0);
        a.unmute(TP0);
        b.scheduleRetry(1_000, null, false); // e.g. NOT_ENOUGH_REPLICAS: not a leadership error
        a.reenqueue(b);
        assertTrue(a.ready(led(2, 6), 10).readyNodes().isEmpty());
        assertTrue(a.drain(led(2, 6), Set.of(2), 1 << 20, 10).isEmpty());
        assertEquals(Set.of(2), a.ready(led(2, 6), 1_000).readyNodes());
    }

    @Test
    void retriedBatch_goesBeforeLaterBatchesOfItsPartition() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        append(a, TP0, "first", 0);
        ProducerBatch first = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1).get(0);
        append(a, TP0, "second", 1);
        assertTrue(a.drain(LEADER_1, Set.of(1), 1 << 20, 1).isEmpty(), "muted while the first is in flight");
        first.scheduleRetry(2, null, false);
        a.reenqueue(first);
        a.unmute(TP0);
        List<ProducerBatch> next = a.drain(LEADER_1, Set.of(1), 1 << 20, 2).get(1);
        assertEquals(first, next.get(0), "the retry leads");
        assertTrue(a.drain(LEADER_1, Set.of(1), 1 << 20, 3).isEmpty(), "and the partition is muted again");
    }

    /**
     * A batch refused as too large: split in halves (their records, in order, with the original
     * futures), the parts queued first and each drained alone; a one-record part is rebuilt
     * whole; the refused batch's pooled buffer goes back only with its last part, and its done
     * future completes with its parts'.
     */
    @Test
    void split_partsTakeTheRecordsInOrder_travelAlone_andReleaseThePooledBufferLast() throws Exception {
        BufferPool pool = new BufferPool(1 << 20, 16_384);
        RecordAccumulator a = new RecordAccumulator(pool, 16_384, 0, 10_000);
        List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            fs.add(append(a, TP0, "v" + i, 0));
        }
        ProducerBatch refused = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1).get(0);
        a.unmute(TP0);
        append(a, TP0, "later", 0);
        List<ProducerBatch> parts = a.split(refused, 0);
        assertEquals(List.of(3, 2), parts.stream().map(ProducerBatch::recordCount).toList());
        assertTrue(parts.stream().allMatch(ProducerBatch::travelsAlone));
        assertFalse(refused.doneFuture().isDone());

        List<ProducerBatch> first = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1);
        assertEquals(List.of(parts.get(0)), first, "a part travels alone");
        assertEquals(List.of("v0", "v1", "v2"), values(first.get(0)));
        first.get(0).complete(10, -1);
        a.deallocate(first.get(0));
        a.unmute(TP0);
        assertEquals(List.of(10L, 11L, 12L), fs.subList(0, 3).stream().map(f -> f.join().offset()).toList());
        assertTrue(pool.availableBytes() < 1 << 20, "the refused batch's buffer is held while a part is out");

        ProducerBatch second = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1).get(0);
        assertEquals(parts.get(1), second);
        List<ProducerBatch> again = a.split(second, 0);
        assertEquals(List.of(1, 1), again.stream().map(ProducerBatch::recordCount).toList());
        a.unmute(TP0);
        ProducerBatch v3 = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1).get(0);
        assertEquals(List.of("v3"), values(v3));
        List<ProducerBatch> whole = a.split(v3, 0);
        assertEquals(1, whole.size(), "one record is rebuilt, not halved");
        a.unmute(TP0);
        ProducerBatch rebuilt = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1).get(0);
        assertEquals(List.of("v3"), values(rebuilt));
        rebuilt.fail(new dev.basalt.client.RecordTooLargeException("too large"));
        a.deallocate(rebuilt);
        a.unmute(TP0);
        List<ProducerBatch> last = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1);
        assertEquals(1, last.size(), "the last part travels alone, not with the later batch");
        assertEquals(List.of("v4"), values(last.get(0)));
        assertFalse(refused.doneFuture().isDone());
        last.get(0).complete(13, -1);
        assertTrue(refused.doneFuture().isDone(), "done with its last part");
        a.deallocate(last.get(0));
        assertTrue(fs.get(3).isCompletedExceptionally());
        assertEquals(13, fs.get(4).join().offset());
        a.unmute(TP0);
        ProducerBatch later = a.drain(LEADER_1, Set.of(1), 1 << 20, 0).get(1).get(0);
        assertEquals(List.of("later"), values(later));
        a.deallocate(later);
        assertEquals(1 << 20, pool.availableBytes(), "every byte back in the pool");
    }

    private static List<String> values(ProducerBatch b) {
        List<String> out = new ArrayList<>();
        for (Record r : RecordBatch.wrap(b.payload()).records()) {
            out.add(new String(r.valueBytes()));
        }
        return out;
    }

    /**
     * A queued batch built before its topic's limit was lowered is split at drain into parts that
     * fit the limit the metadata now shows, sent together (not one by one), in order.
     */
    @Test
    void drain_splitsABatchOverTheKnownLimitIntoPartsThatFit_sentTogether() throws Exception {
        RecordAccumulator a = acc(16_384, 0);
        int[] splits = {0};
        a.onSplit(() -> splits[0]++);
        List<CompletableFuture<RecordMetadata>> fs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            fs.add(append(a, TP0, "value-" + i + "-" + "x".repeat(30), 0));
        }
        RecordAccumulator.LeaderView limited = new RecordAccumulator.LeaderView() {
            @Override
            public int leaderFor(TopicPartition tp) {
                return 1;
            }

            @Override
            public int batchBytesMaxFor(TopicPartition tp) {
                return 250;
            }
        };
        a.beginFlush();
        List<ProducerBatch> sent = a.drain(limited, Set.of(1), 1 << 20, 0).get(1);
        a.endFlush();
        assertEquals(1, splits[0]);
        assertTrue(sent.size() > 2, "parts: " + sent.size());
        List<String> values = new ArrayList<>();
        long base = 100;
        for (ProducerBatch b : sent) {
            assertTrue(b.sizeInBytes() <= 250, b.sizeInBytes() + " bytes");
            assertFalse(b.travelsAlone());
            values.addAll(values(b));
            b.complete(base, -1);
            base += b.recordCount();
        }
        for (int i = 0; i < 12; i++) {
            assertTrue(values.get(i).startsWith("value-" + i + "-"), values.get(i));
            assertEquals(100 + i, fs.get(i).join().offset());
        }
    }
}

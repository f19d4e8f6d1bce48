package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.TopicPartition;
import dev.basalt.record.RecordBatch;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The idempotent producer's drain rules (docs/client.md, "Idempotent producer"): nothing is sent
 * before a producer id is known; batches get consecutive sequences per partition when first
 * drained, as many as fit the request; a retried batch travels alone and
 * keeps its sequence; after a failed stamped batch nothing new is stamped until the epoch bump,
 * which restarts every partition at 0. Explicit clock (nowMs). Rerun with
 * {@code -Dtest=IdempotentDrainTest}.
 */
class IdempotentDrainTest {
    private static final TopicPartition TP0 = new TopicPartition("t", 0);
    private static final TopicPartition TP1 = new TopicPartition("t", 1);
    private static final RecordAccumulator.LeaderView LEADER_1 = tp -> 1;

    /** Batches of about 100 bytes, so each 40-byte record fills one quickly. */
    private static RecordAccumulator acc() {
        return new RecordAccumulator(new BufferPool(1 << 20, 100), 100, 0, 10_000);
    }

    private static void fill(RecordAccumulator a, TopicPartition tp, int records) throws InterruptedException {
        for (int i = 0; i < records; i++) {
            a.append(tp, 1000, null, new byte[40], List.of(), 0, false, 0);
        }
    }

    private static List<ProducerBatch> drain(RecordAccumulator a, IdempotenceState idem) {
        Map<Integer, List<ProducerBatch>> d = a.drain(LEADER_1, Set.of(1), 1 << 20, 0, idem);
        return d.getOrDefault(1, List.of());
    }

    private static RecordBatch bytes(ProducerBatch b) {
        return RecordBatch.wrap(b.payload());
    }

    @Test
    void nothingIsDrainedBeforeTheProducerId_thenSequencesAreConsecutive() throws Exception {
        RecordAccumulator a = acc();
        IdempotenceState idem = new IdempotenceState();
        fill(a, TP0, 16);
        assertTrue(drain(a, idem).isEmpty(), "no producer id yet");
        idem.onInit(42, (short) 3);
        List<ProducerBatch> first = drain(a, idem);
        assertTrue(first.size() > 5, "full batches of a partition go together (one run at the leader): " + first.size());
        int seq = 0;
        for (ProducerBatch b : first) {
            assertEquals(42, bytes(b).producerId());
            assertEquals(3, bytes(b).producerEpoch());
            assertEquals(seq, bytes(b).baseSequence());
            seq += b.recordCount();
        }
        a.unmute(TP0);
        fill(a, TP0, 2);
        List<ProducerBatch> second = a.drain(LEADER_1, Set.of(1), 1 << 20, 1, idem).get(1);
        assertEquals(seq, bytes(second.get(0)).baseSequence(), "the next request continues the sequence");
    }

    @Test
    void retriedBatch_travelsAlone_withItsSequence() throws Exception {
        RecordAccumulator a = acc();
        IdempotenceState idem = new IdempotenceState();
        idem.onInit(1, (short) 0);
        fill(a, TP0, 8);
        List<ProducerBatch> sent = drain(a, idem);
        assertTrue(sent.size() > 1);
        for (int i = sent.size() - 1; i >= 0; i--) {
            sent.get(i).scheduleRetry(0, new ClientTimeoutException("lost", null), true);
            a.reenqueue(sent.get(i));
        }
        a.unmute(TP0);
        List<ProducerBatch> retry = drain(a, idem);
        assertEquals(1, retry.size(), "a retried batch goes alone");
        assertEquals(0, bytes(retry.get(0)).baseSequence(), "with the sequence of its first attempt");
    }

    @Test
    void afterAFailedBatch_nothingNewIsStamped_untilTheBump_thenEveryPartitionRestartsAtZero() throws Exception {
        RecordAccumulator a = acc();
        IdempotenceState idem = new IdempotenceState();
        idem.onInit(9, (short) 0);
        fill(a, TP0, 2);
        fill(a, TP1, 2);
        List<ProducerBatch> sent = drain(a, idem);
        ProducerBatch failed = sent.stream().filter(b -> b.partition().equals(TP0)).findFirst().orElseThrow();
        idem.onResolved(failed, true);
        assertFalse(idem.mayStamp());
        sent.stream().filter(b -> b != failed).forEach(b -> idem.onResolved(b, false));
        a.unmute(TP0);
        a.unmute(TP1);
        fill(a, TP0, 1);
        fill(a, TP1, 1);
        assertTrue(drain(a, idem).stream().noneMatch(b -> !sent.contains(b)), "nothing new stamped while a bump waits");
        assertTrue(idem.needsInit(0), "every stamped batch resolved: time to bump");
        assertEquals(9, idem.requestProducerId());
        assertEquals(0, idem.requestEpoch());
        idem.onInit(9, (short) 1);
        for (ProducerBatch b : drain(a, idem)) {
            assertEquals(1, bytes(b).producerEpoch());
            assertEquals(0, bytes(b).baseSequence(), b.partition() + " restarts at 0 in the new epoch");
        }
    }
}

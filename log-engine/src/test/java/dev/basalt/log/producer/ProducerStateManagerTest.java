package dev.basalt.log.producer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Unit tests of the leader's sequence rules (KIP-98 §"Idempotent producer", KIP-360), the payload
 * rules (all duplicates or none), the bound on producers and the snapshot codec. A failure names
 * the rule; rerun with {@code -Dtest=ProducerStateManagerTest}.
 */
class ProducerStateManagerTest {
    private static Optional<BatchMetadata> append(ProducerStateManager m, long pid, int epoch, int seq, int count, long offset) {
        ProducerStateManager.LeaderAppend a = m.leaderAppend();
        Optional<BatchMetadata> r = a.check(pid, (short) epoch, seq, count, offset, offset + count - 1, offset);
        a.commit();
        return r;
    }

    @Test
    void retryOfAnyOfTheLastFiveRuns_isADuplicateWithItsOriginalOffsets() {
        ProducerStateManager m = new ProducerStateManager(10);
        // other producers' batches in between (offsets +10): every batch is a run of its own
        for (int i = 0; i < 6; i++) {
            assertTrue(append(m, 1, 0, i * 2, 2, 100 + i * 10).isEmpty());
        }
        // batch 0 (seq 0-1) fell out of the window of 5: older than the window is out of order
        assertThrows(OutOfOrderSequenceException.class, () -> m.leaderAppend().check(1, (short) 0, 0, 2, 200, 201, 0));
        BatchMetadata dup = m.leaderAppend().check(1, (short) 0, 2, 2, 200, 201, 0).orElseThrow();
        assertEquals(110, dup.firstOffset());
        assertEquals(111, dup.lastOffset());
    }

    @Test
    void batchesStoredBackToBack_areOneRun_soEveryBatchOfALargePayloadIsRecognised() {
        ProducerStateManager m = new ProducerStateManager(10);
        ProducerStateManager.LeaderAppend a = m.leaderAppend();
        for (int i = 0; i < 16; i++) { // one payload of 16 batches of 3 records
            assertTrue(a.check(4, (short) 0, i * 3, 3, 500 + i * 3, 502 + i * 3, 0).isEmpty());
        }
        a.commit();
        assertEquals(1, m.entry(4).orElseThrow().batches().size(), "one run");
        for (int i = 0; i < 16; i++) {
            BatchMetadata dup = m.leaderAppend().check(4, (short) 0, i * 3, 3, 0, 2, 0).orElseThrow();
            assertEquals(500 + i * 3, dup.firstOffset(), "batch " + i + " answered with its own offsets");
            assertEquals(502 + i * 3, dup.lastOffset());
        }
        // a retry of two stored batches together is answered from their first one
        ProducerStateManager.LeaderAppend both = m.leaderAppend();
        assertEquals(503, both.check(4, (short) 0, 3, 3, 0, 2, 0).orElseThrow().firstOffset());
        assertEquals(506, both.check(4, (short) 0, 6, 3, 3, 5, 0).orElseThrow().firstOffset());
        // a batch sticking out of the run is not a duplicate: a gap
        assertThrows(OutOfOrderSequenceException.class, () -> m.leaderAppend().check(4, (short) 0, 46, 3, 0, 2, 0));
    }

    @Test
    void gapIsOutOfOrder_staleEpochIsRefused_newEpochMustStartAtZero() {
        ProducerStateManager m = new ProducerStateManager(10);
        append(m, 7, 3, 0, 1, 0);
        assertThrows(OutOfOrderSequenceException.class, () -> m.leaderAppend().check(7, (short) 3, 2, 1, 1, 1, 0));
        assertThrows(InvalidProducerEpochException.class, () -> m.leaderAppend().check(7, (short) 2, 1, 1, 1, 1, 0));
        assertThrows(OutOfOrderSequenceException.class, () -> m.leaderAppend().check(7, (short) 4, 5, 1, 1, 1, 0));
        assertTrue(append(m, 7, 4, 0, 1, 1).isEmpty());
        assertEquals(4, m.entry(7).orElseThrow().epoch());
        assertEquals(1, m.entry(7).orElseThrow().batches().size());
    }

    @Test
    void unknownProducer_mayStartAtAnySequence() {
        ProducerStateManager m = new ProducerStateManager(10);
        assertTrue(append(m, 9, 0, 12345, 3, 0).isEmpty());
        assertEquals(12347, m.entry(9).orElseThrow().lastSeq());
    }

    @Test
    void sequencesWrapAfterIntegerMax() {
        ProducerStateManager m = new ProducerStateManager(10);
        append(m, 1, 0, Integer.MAX_VALUE - 1, 3, 0);
        assertEquals(0, m.entry(1).orElseThrow().lastSeq());
        assertTrue(append(m, 1, 0, 1, 1, 3).isEmpty());
    }

    @Test
    void payloadMixingDuplicatesAndNewBatches_isRefusedWhole() {
        ProducerStateManager m = new ProducerStateManager(10);
        append(m, 1, 0, 0, 1, 0);
        ProducerStateManager.LeaderAppend a = m.leaderAppend();
        assertTrue(a.check(1, (short) 0, 0, 1, 1, 1, 0).isPresent());
        assertThrows(InvalidProducerBatchException.class, () -> a.check(1, (short) 0, 1, 1, 1, 1, 0));
        ProducerStateManager.LeaderAppend b = m.leaderAppend();
        assertTrue(b.check(-1, (short) -1, -1, 1, 1, 1, 0).isEmpty());
        assertThrows(InvalidProducerBatchException.class, () -> b.check(1, (short) 0, 0, 1, 2, 2, 0));
        assertThrows(InvalidProducerBatchException.class, () -> m.leaderAppend().check(1, (short) -1, 0, 1, 2, 2, 0));
    }

    @Test
    void nothingChangesWithoutCommit() {
        ProducerStateManager m = new ProducerStateManager(10);
        m.leaderAppend().check(1, (short) 0, 0, 1, 0, 0, 0);
        assertEquals(0, m.size());
    }

    @Test
    void boundEvictsTheIdlestProducer() {
        ProducerStateManager m = new ProducerStateManager(2);
        m.replay(1, (short) 0, 0, 1, 0, 0, 50);
        m.replay(2, (short) 0, 0, 1, 1, 1, 10);
        m.replay(3, (short) 0, 0, 1, 2, 2, 30);
        assertEquals(2, m.size());
        assertTrue(m.entry(2).isEmpty());
        assertEquals(1, m.evictions());
    }

    @Test
    void expiryDropsIdleProducers() {
        ProducerStateManager m = new ProducerStateManager(10);
        m.replay(1, (short) 0, 0, 1, 0, 0, 1_000);
        m.replay(2, (short) 0, 0, 1, 1, 1, 5_000);
        assertEquals(1, m.removeExpired(6_000, 5_000));
        assertTrue(m.entry(1).isEmpty());
        assertTrue(m.entry(2).isPresent());
    }

    @Test
    void snapshotRoundTrips_andDamageIsDetected() {
        ProducerStateManager m = new ProducerStateManager(10);
        for (int i = 0; i < 7; i++) {
            m.replay(i % 3, (short) (i / 3), i, 2, i * 10L, i * 10L + 1, i);
        }
        m.replay(0, (short) 2, 7, 2, 70, 71, 7);
        m.replay(0, (short) 2, 9, 2, 72, 73, 8); // back to back: extends the run
        ProducerStateSnapshot s = m.snapshot(71);
        byte[] bytes = s.encode();
        assertEquals(s, ProducerStateSnapshot.decode(bytes));
        bytes[bytes.length - 3] ^= 1;
        assertThrows(IllegalStateException.class, () -> ProducerStateSnapshot.decode(bytes));
    }
}

package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read path never serves a batch that fails its CRC: after a clean stop a bit rots in a sealed
 * segment; after the restart a consumer reading from the start gets every batch before the bad one,
 * then a typed error naming partition, offset, file and byte; the finding goes to the log manager's
 * corruption handler once. Batches appended in this process were validated before they were
 * written and are not checked again.
 */
class ReadPathCorruptionTest {
    static final TopicPartition TP = new TopicPartition("rotted", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(1_000_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096"));
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    private LogManager open() {
        return LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
    }

    private static void flipBit(Path file, long position) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, position);
            b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
            ch.write(b, position);
        }
    }

    record Finding(TopicPartition tp, long offset, CorruptLogException e) {
    }

    @Test
    void aBatchThatRottedWhileStoppedIsNeverServed_theOffsetsBeforeItAre() throws Exception {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 150; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i + "-" + "y".repeat(60)))), 1);
        }
        log.flush();
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 3, "several segments: " + bases);
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        long[] victim = LogTestSupport.batchPositions(sealed).get(4); // {position, base offset, end}
        manager.close();
        flipBit(sealed, victim[2] - 7); // inside the last record's value: only the CRC can tell

        manager = open();
        List<Finding> found = new CopyOnWriteArrayList<>();
        manager.corruptionHandler((l, offset, e) -> found.add(new Finding(l.topicPartition(), offset, e)));
        PartitionLog reopened = manager.get(TP);
        long next = 0;
        int served = 0;
        while (next < victim[1]) {
            try (FetchSlice slice = reopened.read(next, 1 << 20, Long.MAX_VALUE)) {
                assertTrue(!slice.isEmpty(), "stalled at " + next);
                served += TestBatches.decode(slice.records()).size();
                next = slice.nextOffset();
            }
        }
        assertEquals(victim[1], next, "reads stop right before the corrupt batch");
        assertEquals(victim[1], served);
        CorruptLogException e = assertThrows(CorruptLogException.class, () -> reopened.read(victim[1], 1 << 20, Long.MAX_VALUE));
        assertTrue(e.getMessage().contains(TP.toString()) && e.getMessage().contains("offset " + victim[1])
                && e.getMessage().contains(sealed.toString()) && e.getMessage().contains("byte " + victim[0]), e.getMessage());
        assertThrows(CorruptLogException.class, () -> reopened.read(victim[1], 1 << 20, Long.MAX_VALUE));
        // The handler runs on the manager's scheduler, once per log however many reads met the batch.
        for (int i = 0; i < 500 && found.isEmpty(); i++) {
            Thread.sleep(10);
        }
        Thread.sleep(50);
        assertEquals(1, found.size(), found.toString());
        assertEquals(TP, found.get(0).tp());
        assertEquals(victim[1], found.get(0).offset());
        assertEquals(victim[0], found.get(0).e().position());
    }

    /**
     * The only copy, cut at its corruption (serveIntactPrefix): its whole intact prefix is below
     * the high watermark (whatever the checkpoint said), so consumers read all of it; a read at or
     * past the cut reports the loss (followers cannot take the lost offsets before a restart);
     * appends stay refused.
     */
    @Test
    void anOnlyCopyCutAtItsCorruptionServesItsWholeIntactPrefix() throws Exception {
        long end = 20;
        long[] victim = twentyRecordsWithTheNextToLastBatchCorrupt();
        assertTrue(manager.corruptPartitions().contains(TP), "corrupt at load: " + manager.corruptPartitions());
        PartitionLog cut = manager.serveIntactPrefix(TP, config);
        assertEquals(end, cut.logEndOffset(), "the lost offsets stay given out: the log end does not go back");
        assertEquals(end, cut.highWatermark(), "the intact prefix is all below the high watermark");
        List<TestBatches.Stored> prefix;
        try (FetchSlice slice = cut.read(0, 1 << 20, Long.MAX_VALUE)) {
            assertEquals(victim[1], slice.nextOffset());
            prefix = TestBatches.decode(slice.records());
        }
        assertEquals(victim[1], prefix.size());
        assertThrows(CorruptLogException.class, () -> cut.read(victim[1], 1 << 20, Long.MAX_VALUE));
        assertThrows(CorruptLogException.class, () -> cut.read(victim[1] + 1, 1 << 20, Long.MAX_VALUE));
        assertThrows(CorruptLogException.class, () -> cut.read(end - 1, 1 << 20, Long.MAX_VALUE));
        AppendRefusedException refused = assertThrows(AppendRefusedException.class, () -> cut.appendAsLeader(
                TestBatches.batch(List.of(new TestBatches.Rec(5000, "k", "after"))), 1));
        assertTrue(refused.getMessage().contains("restart the node to accept the loss"), refused.getMessage());
        manager.close();

        // Found probing: the restart that accepts the loss gave the lost offsets to new records, and
        // a group committed past the cut skipped them. The next record takes the old end instead.
        manager = open();
        PartitionLog reopened = manager.get(TP);
        assertEquals(end, reopened.logEndOffset());
        assertEquals(end, reopened.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(5000, "k", "after"))), 1)
                .firstOffset());
        reopened.updateHighWatermark(reopened.logEndOffset());
        try (FetchSlice slice = reopened.read(victim[1] + 1, 1 << 20, Long.MAX_VALUE)) {
            List<TestBatches.Stored> got = TestBatches.decode(slice.records());
            assertEquals(List.of(end), got.stream().map(TestBatches.Stored::offset).toList(), "a position in the gap reads on");
        }
        List<TestBatches.Stored> all = LogTestSupport.readAll(reopened, 0);
        assertEquals(prefix, all.subList(0, prefix.size()), "the intact prefix as it was");
        assertEquals(prefix.size() + 1, all.size());
        manager.close();
        manager = null;
        LogTestSupport.deleteRecursively(dir.resolve(LogManager.INDEX_DIR)); // index lost: the gap still loads
        manager = open();
        assertEquals(all, LogTestSupport.readAll(manager.get(TP), 0));
    }

    /**
     * Writes 20 one-record batches, crashes, flips a bit in the next-to-last batch (below the
     * recovery point: the partition fails to load) and opens the manager again.
     *
     * @return that batch's {position, base offset, end}
     */
    private long[] twentyRecordsWithTheNextToLastBatchCorrupt() throws Exception {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 20; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "v" + i))), 1);
        }
        log.flush();
        Path active = log.directory().resolve(Segment.fileName(log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1)));
        List<long[]> batches = LogTestSupport.batchPositions(active);
        long[] victim = batches.get(batches.size() - 2);
        LogTestHooks.crash(manager); // unclean: recovery scans from the recovery point's segment
        manager = null;
        flipBit(active, victim[2] - 2);
        manager = open();
        return victim;
    }

    /** With other replicas (out of the ISR, they may hold some lost offsets), the log ends at the cut: no gap. */
    @Test
    void anOnlyInSyncCopyWithOtherReplicas_isCutWithoutAGap() throws Exception {
        long[] victim = twentyRecordsWithTheNextToLastBatchCorrupt();
        PartitionLog cut = manager.serveIntactPrefix(TP, config, false);
        assertEquals(victim[1], cut.logEndOffset());
        assertEquals(victim[1], cut.highWatermark());
    }

    /**
     * The only copy whose first batch is corrupt: nothing of it is intact, so it restarts empty at
     * the end its index recorded, never at its old start (a consumer's committed offset must not
     * land inside other records after the restart that accepts the loss).
     */
    @Test
    void anOnlyCopyWithNothingIntact_startsAgainAtItsOldEnd_reusingNoOffset() throws Exception {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 20; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "v" + i))), 1);
        }
        log.flush();
        assertEquals(List.of(0L), log.segmentBaseOffsets());
        Path only = log.directory().resolve(Segment.fileName(0));
        long[] first = LogTestSupport.batchPositions(only).get(0);
        LogTestHooks.crash(manager);
        manager = null;
        flipBit(only, first[2] - 2);

        manager = open();
        assertTrue(manager.corruptPartitions().contains(TP), "corrupt at load: " + manager.corruptPartitions());
        PartitionLog empty = manager.serveIntactPrefix(TP, config);
        assertEquals(20, empty.logStartOffset());
        assertEquals(20, empty.logEndOffset());
        assertEquals(20, empty.highWatermark());
        assertThrows(OffsetOutOfRangeException.class, () -> empty.read(0, 1 << 20, Long.MAX_VALUE));
        // the messages name what was lost (found probing: "offsets from 20", the new empty start)
        assertEquals("offsets 0..19", empty.corruptFrom().lost());
        CorruptLogException atEnd = assertThrows(CorruptLogException.class, () -> empty.read(20, 1 << 20, Long.MAX_VALUE));
        assertTrue(atEnd.getMessage().contains("offsets 0..19 cannot be served") && atEnd.getMessage().contains("starts again at 20"),
                atEnd.getMessage());
        AppendRefusedException refused = assertThrows(AppendRefusedException.class, () -> empty.appendAsLeader(
                TestBatches.batch(List.of(new TestBatches.Rec(5000, "k", "after"))), 1));
        assertTrue(refused.getMessage().contains("offsets 0..19 are corrupt") && refused.getMessage().contains("starts again, empty, at 20"),
                refused.getMessage());
        manager.close();

        manager = open(); // the restart accepts the loss
        PartitionLog reopened = manager.get(TP);
        assertEquals(20, reopened.logStartOffset());
        assertEquals(20, reopened.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(5000, "k", "after"))), 1).firstOffset());
    }

    @Test
    void theDefaultHandlerKeepsServingWhatLiesBeforeTheCorruption() throws Exception {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 60; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "v" + i + "z".repeat(80)))), 1);
        }
        log.flush();
        Path first = log.directory().resolve(Segment.fileName(log.segmentBaseOffsets().get(0)));
        long[] victim = LogTestSupport.batchPositions(first).get(2);
        manager.close();
        flipBit(first, victim[2] - 3);

        manager = open();
        PartitionLog reopened = manager.get(TP);
        assertThrows(CorruptLogException.class, () -> reopened.read(victim[1], 1 << 20, Long.MAX_VALUE));
        for (int i = 0; i < 500 && reopened.corruptFrom() == null; i++) {
            Thread.sleep(10);
        }
        assertEquals(victim[1], reopened.corruptFrom().offset());
        // Later reads past the corruption fail at once; earlier offsets are still served.
        assertThrows(CorruptLogException.class, () -> reopened.read(victim[1] + 5, 1 << 20, Long.MAX_VALUE));
        try (FetchSlice slice = reopened.read(0, 1 << 20, Long.MAX_VALUE)) {
            assertEquals(victim[1], slice.nextOffset());
        }
        // Nothing more is acknowledged into a log whose tail cannot be served: it would be unreadable.
        long end = reopened.logEndOffset();
        LogStorageException refused = assertThrows(AppendRefusedException.class, () -> reopened.appendAsLeader(
                TestBatches.batch(List.of(new TestBatches.Rec(5000, "k", "after"))), 1));
        assertTrue(refused.getMessage().contains("only copy"), refused.getMessage());
        assertEquals(end, reopened.logEndOffset());
    }

    @Test
    void bytesAppendedInThisProcessCountAsVerified() {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 20; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "v" + i))), 1);
        }
        Segment active = LogTestHooks.activeSegment(log);
        assertEquals(active.sizeBytes(), active.verifiedBytes());
    }
}

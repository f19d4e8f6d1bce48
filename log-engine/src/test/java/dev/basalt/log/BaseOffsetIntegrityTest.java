package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.index.LeaderEpochCache;
import dev.basalt.log.index.PartitionState;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.record.RecordBatchBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A batch's base offset lies outside its CRC. Found probing a node (2026-12-02): one flipped bit
 * there served records at wrong offsets and hid acknowledged ones, and a deleted segment file went
 * unnoticed, because nothing checked that a batch starts where the previous one ended. A log without
 * gaps (never compacted, never a follower of a compacted leader) is now checked for exactly that by
 * reads, the scrubber and recovery; a log that may have gaps is not, and keeps its gaps.
 */
class BaseOffsetIntegrityTest {
    static final TopicPartition TP = new TopicPartition("integrity", 0);
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

    private PartitionLog fill(int batches) {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < batches; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i + "-" + "x".repeat(60)))), 1);
        }
        log.flush();
        return log;
    }

    /** XORs one byte of a batch's base offset (big-endian int64 at the batch's first byte). */
    private static void flipBaseOffset(Path file, long batchPosition, int byteOfBase, int xor) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, batchPosition + byteOfBase);
            b.put(0, (byte) (b.get(0) ^ xor)).rewind();
            ch.write(b, batchPosition + byteOfBase);
        }
    }

    @Test
    void aRaisedBaseOffset_isNeverServedAtTheWrongOffset_afterACleanRestart() throws Exception {
        PartitionLog log = fill(150);
        assertFalse(log.gapsPossible(), "a new log written as leader has no gaps");
        List<Long> bases = log.segmentBaseOffsets();
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        long[] victim = LogTestSupport.batchPositions(sealed).get(4); // {position, base offset, end}
        manager.close();
        flipBaseOffset(sealed, victim[0], 7, 0x10); // base + 16: its CRC still passes

        manager = open(); // clean: opened without a scan
        List<Long> found = new ArrayList<>();
        manager.corruptionHandler((l, offset, e) -> found.add(offset));
        PartitionLog reopened = manager.get(TP);
        long next = 0;
        while (next < victim[1]) {
            try (FetchSlice slice = reopened.read(next, 1 << 20, Long.MAX_VALUE)) {
                assertFalse(slice.isEmpty(), "stalled at " + next);
                for (TestBatches.Stored r : TestBatches.decode(slice.records())) {
                    assertEquals("k" + r.offset(), r.key(), "every record served is at its own offset");
                }
                next = slice.nextOffset();
            }
        }
        assertEquals(victim[1], next, "reads stop right before the damaged batch");
        CorruptLogException e = assertThrows(CorruptLogException.class, () -> reopened.read(victim[1], 1 << 20, Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("without gaps"), e.getMessage());
        for (int i = 0; i < 500 && found.isEmpty(); i++) {
            Thread.sleep(10);
        }
        assertEquals(List.of(victim[1]), found, "reported as corruption at the offset that should follow");
    }

    @Test
    void theScrubberFindsIt_andADeletedMiddleSegment() throws Exception {
        PartitionLog log = fill(200);
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 4, "several segments: " + bases);
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        long[] victim = LogTestSupport.batchPositions(sealed).get(3);
        manager.close();
        flipBaseOffset(sealed, victim[0], 7, 0x01); // base + 1
        manager = open();
        List<Long> found = new ArrayList<>();
        for (int i = 0; i < 1000 && found.isEmpty(); i++) {
            manager.scrubNow(1 << 20, 512, (l, offset, e) -> {
                found.add(offset);
                l.markCorruptFrom(offset, e);
            });
        }
        assertEquals(List.of(victim[1]), found);
        manager.close();

        // a clean directory again, then a middle segment deleted while stopped
        manager = null;
        deleteTree(dir);
        Files.createDirectories(dir);
        log = fill(200);
        bases = log.segmentBaseOffsets();
        Path middle = log.directory().resolve(Segment.fileName(bases.get(2)));
        manager.close();
        Files.delete(middle);
        manager = open();
        PartitionLog reopened = manager.get(TP);
        List<Long> found2 = new ArrayList<>();
        for (int i = 0; i < 1000 && found2.isEmpty(); i++) {
            manager.scrubNow(1 << 20, 512, (l, offset, e) -> {
                found2.add(offset);
                l.markCorruptFrom(offset, e);
            });
        }
        assertEquals(List.of(bases.get(2)), found2, "the first missing offset");
    }

    /**
     * After a crash a segment starts past where the data before it ends, above the recovery point
     * (a rolled segment's unflushed tail lost with the power leaves this): nothing from there was
     * acknowledged as flushed, so that segment goes and the log goes on from the end of the data
     * without a hole. A review found the first version kept the later segment as the active one,
     * with a base above the log end, so later appends would have been stored under wrong offsets.
     * Made deterministic: the stored recovery point is set inside an earlier segment, and the last
     * segment is renamed 5 offsets higher.
     */
    @Test
    void aSegmentStartingPastTheDataAboveTheRecoveryPoint_isCutLikeATornTail_andTheLogGoesOnWithoutAHole() throws Exception {
        PartitionLog log = fill(130);
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 3, "rolled: " + bases);
        long lastBase = bases.get(bases.size() - 1);
        long rp = bases.get(bases.size() - 2) + 1; // inside the segment before the last
        PartitionState stored = manager.index().loadAllStates().get(TP.dirName());
        manager.close();
        manager = null;
        try (var index = dev.basalt.log.index.IndexStore.open(dir.resolve(LogManager.INDEX_DIR))) {
            PartitionState now = index.loadAllStates().get(TP.dirName());
            index.saveState(TP.dirName(), new PartitionState(now.partitionId(), now.logStartOffset(), rp, rp, -1, now.epochs(),
                    false), true);
        }
        Path last = dir.resolve(TP.dirName()).resolve(Segment.fileName(lastBase));
        Files.move(last, last.resolveSibling(Segment.fileName(lastBase + 5)));
        assertFalse(stored.gapsPossible());

        manager = open();
        assertTrue(manager.corruptPartitions().isEmpty(), "above the recovery point: not corruption " + manager.corruptPartitions());
        PartitionLog reopened = manager.get(TP);
        assertEquals(lastBase, reopened.logEndOffset(), "the log ends where the data ends");
        assertEquals(bases.get(bases.size() - 2), reopened.segmentBaseOffsets().get(reopened.segmentBaseOffsets().size() - 1),
                "the segment before is the active one again");
        reopened.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(5000, "k" + lastBase, "after"))), 1);
        reopened.flush();
        LogTestHooks.crash(manager);
        manager = open();
        assertTrue(manager.corruptPartitions().isEmpty(), manager.corruptPartitions().toString());
        List<TestBatches.Stored> all = LogTestSupport.readAll(manager.get(TP), 0);
        for (TestBatches.Stored r : all) {
            assertEquals("k" + r.offset(), r.key());
        }
        assertEquals(lastBase + 1, all.size());
    }

    @Test
    void recoveryAfterACrash_refusesADamagedBaseOffsetBelowTheRecoveryPoint() throws Exception {
        PartitionLog log = fill(40);
        Path active = log.directory().resolve(Segment.fileName(log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1)));
        List<long[]> batches = LogTestSupport.batchPositions(active);
        long[] victim = batches.get(batches.size() - 2);
        LogTestHooks.crash(manager); // unclean: recovery scans from the recovery point's segment
        manager = null;
        flipBaseOffset(active, victim[0], 6, 0x01); // base + 256

        manager = open();
        assertTrue(manager.corruptPartitions().contains(TP), "corrupt at load: " + manager.corruptPartitions());
    }

    /**
     * The leader epoch field is outside the CRC too: a flipped high bit (epoch 0 read as 16777216)
     * was adopted by crash recovery, and the partition then refused every append as "older than the
     * latest epoch". Below the stored recovery point the stored epochs say what each batch's must be.
     */
    @Test
    void recoveryAfterACrash_refusesADamagedLeaderEpochBelowTheRecoveryPoint() throws Exception {
        PartitionLog log = fill(40);
        Path active = log.directory().resolve(Segment.fileName(log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1)));
        List<long[]> batches = LogTestSupport.batchPositions(active);
        long[] victim = batches.get(batches.size() - 2);
        log.flush();
        manager.close(); // writes the state (epochs, recovery point) ...
        manager = open();
        LogTestHooks.crash(manager); // ... and an unclean stop makes the next open scan
        manager = null;
        flipBaseOffset(active, victim[0], 12, 0x01); // partitionLeaderEpoch's high byte: 1 -> 16777217

        manager = open();
        assertTrue(manager.corruptPartitions().contains(TP), "corrupt at load: " + manager.corruptPartitions());
    }

    /** Batches 0..59 written in leader epoch 1, 60..149 in epoch 3 (one record per batch). */
    private PartitionLog fillTwoEpochs() {
        manager = open();
        PartitionLog log = manager.getOrCreate(TP, config);
        for (int i = 0; i < 150; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i + "-" + "x".repeat(60)))),
                    i < 60 ? 1 : 3);
        }
        log.flush();
        return log;
    }

    /** The batch holding {@code offset} in a segment of {@code log}: {file, {position, base offset, end}}. */
    private static Object[] batchHolding(PartitionLog log, long offset) {
        List<Long> bases = log.segmentBaseOffsets();
        for (int i = bases.size() - 1; i >= 0; i--) {
            if (bases.get(i) <= offset) {
                Path file = log.directory().resolve(Segment.fileName(bases.get(i)));
                for (long[] b : LogTestSupport.batchPositions(file)) {
                    if (b[1] == offset) {
                        return new Object[] {file, b};
                    }
                }
            }
        }
        throw new AssertionError("no batch at " + offset);
    }

    /**
     * The epoch field after a clean restart (opened without a scan, so recovery never sees it): an
     * epoch of 3 read as 2 was served to followers, whose epoch caches then named the wrong epoch
     * (and one read as 16777219 made them refuse every later batch as older). A read checks it
     * against the log's epoch cache the first time it meets the batch, and stops there.
     */
    @Test
    void aDamagedLeaderEpoch_isNotServed_afterACleanRestart() throws Exception {
        PartitionLog log = fillTwoEpochs();
        Object[] victim = batchHolding(log, 100);
        Path file = (Path) victim[0];
        long[] batch = (long[]) victim[1];
        manager.close();
        flipBaseOffset(file, batch[0], 15, 0x01); // epoch 3 -> 2 (the CRC passes)

        manager = open();
        List<Long> found = new ArrayList<>();
        manager.corruptionHandler((l, offset, e) -> found.add(offset));
        PartitionLog reopened = manager.get(TP);
        long next = 0;
        while (next < 100) {
            try (FetchSlice slice = reopened.read(next, 1 << 20, Long.MAX_VALUE)) {
                assertFalse(slice.isEmpty(), "stalled at " + next);
                next = slice.nextOffset();
            }
        }
        assertEquals(100, next, "reads serve everything before the damaged batch");
        CorruptLogException e = assertThrows(CorruptLogException.class, () -> reopened.read(100, 1 << 20, Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("leader epoch 2 where the log's epoch for offset 100 is 3"), e.getMessage());
        for (int i = 0; i < 500 && found.isEmpty(); i++) {
            Thread.sleep(10);
        }
        assertEquals(List.of(100L), found, "reported as corruption at that batch");
    }

    @Test
    void theScrubberFindsADamagedLeaderEpoch() throws Exception {
        PartitionLog log = fillTwoEpochs();
        Object[] victim = batchHolding(log, 30);
        manager.close();
        flipBaseOffset((Path) victim[0], ((long[]) victim[1])[0], 12, 0x01); // epoch 1 -> 16777217
        manager = open();
        List<Long> found = new ArrayList<>();
        List<String> why = new ArrayList<>();
        for (int i = 0; i < 1000 && found.isEmpty(); i++) {
            manager.scrubNow(1 << 20, 512, (l, offset, e) -> {
                found.add(offset);
                why.add(e.getMessage());
                l.markCorruptFrom(offset, e);
            });
        }
        assertEquals(List.of(30L), found);
        assertTrue(why.get(0).contains("leader epoch 16777217"), why.get(0));
    }

    /**
     * No false finding where epochs legitimately change: several epochs, a truncation back into an
     * older one, a follower's append of a newer one, a clean restart, then every batch read and
     * scrubbed once more.
     */
    @Test
    void epochChecks_acceptEveryLegitimateEpochHistory() throws Exception {
        PartitionLog log = fillTwoEpochs();
        log.truncateTo(120);
        ByteBuffer payload = ByteBuffer.allocate(8192);
        for (long base = 120; base < 140; base++) {
            RecordBatchBuilder builder = new RecordBatchBuilder(payload.slice(), 1000).baseOffset(base)
                    .partitionLeaderEpoch(base < 130 ? 5 : 6);
            assertTrue(builder.tryAppend(1000, ("k" + base).getBytes(), ("follower-" + base).getBytes(), List.of()));
            payload.position(payload.position() + builder.build().sizeInBytes());
        }
        payload.flip();
        log.appendAsFollower(payload);
        log.assignEpoch(8, log.logEndOffset());
        log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(9000, "k140", "leader-140"))), 8);
        log.flush();
        List<Long> foundLive = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            manager.scrubNow(1 << 20, 4096, (l, offset, e) -> foundLive.add(offset));
        }
        assertEquals(List.of(), foundLive, "a live scrub of the changed log");
        manager.close();

        manager = open();
        List<Long> found = new ArrayList<>();
        manager.corruptionHandler((l, offset, e) -> found.add(offset));
        List<TestBatches.Stored> all = LogTestSupport.readAll(manager.get(TP), 0);
        assertEquals(141, all.size());
        for (TestBatches.Stored r : all) {
            assertEquals("k" + r.offset(), r.key());
        }
        for (int i = 0; i < 200; i++) {
            manager.scrubNow(1 << 20, 4096, (l, offset, e) -> found.add(offset));
        }
        assertEquals(List.of(), found, "no finding after a clean restart either");
    }

    /** Reads from {@code from} until one fails; returns the offset it failed at (every record served checked) and the failure. */
    private static Map.Entry<Long, CorruptLogException> readUntilFailure(PartitionLog log, long from) {
        long next = from;
        while (next < log.logEndOffset()) {
            try (FetchSlice slice = log.read(next, 1 << 20, Long.MAX_VALUE)) {
                assertFalse(slice.isEmpty(), "stalled at " + next);
                for (TestBatches.Stored r : TestBatches.decode(slice.records())) {
                    if (r.offset() >= next) {
                        assertEquals("k" + r.offset(), r.key(), "every record served is at its own offset");
                    }
                }
                next = slice.nextOffset();
            } catch (CorruptLogException e) {
                return Map.entry(next, e);
            }
        }
        throw new AssertionError("read to the end " + next + " without meeting the damage");
    }

    private List<Long> watchFindings() {
        List<Long> found = new java.util.concurrent.CopyOnWriteArrayList<>();
        manager.corruptionHandler((l, offset, e) -> found.add(offset));
        return found;
    }

    private static void awaitFinding(List<Long> found) throws InterruptedException {
        for (int i = 0; i < 500 && found.isEmpty(); i++) {
            Thread.sleep(10);
        }
    }

    /**
     * A middle segment file deleted, or a sealed one cut short at a batch boundary, while the node
     * was stopped: a clean start does not scan, and a read that found no batch in the segment
     * holding its offset went on to the next segment and served it (a probe read 4,736
     * acknowledged offsets as never written). In a log without gaps that is corruption at the
     * first missing offset.
     */
    @Test
    void aMissingOrShortenedSegment_isCorruptionAtTheFirstMissingOffset_afterACleanRestart() throws Exception {
        PartitionLog log = fill(200);
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 5, "several segments: " + bases);
        Path deleted = log.directory().resolve(Segment.fileName(bases.get(2)));
        Path shortened = log.directory().resolve(Segment.fileName(bases.get(3)));
        List<long[]> shortenedBatches = LogTestSupport.batchPositions(shortened);
        long[] keptUpTo = shortenedBatches.get(2); // keep its first three batches
        manager.close();
        Files.delete(deleted);
        try (FileChannel ch = FileChannel.open(shortened, StandardOpenOption.WRITE)) {
            ch.truncate(keptUpTo[2]);
        }

        manager = open();
        List<Long> found = watchFindings();
        Map.Entry<Long, CorruptLogException> failed = readUntilFailure(manager.get(TP), 0);
        assertEquals(bases.get(2), failed.getKey(), "served up to the deleted segment");
        assertTrue(failed.getValue().getMessage().contains("in no segment"), failed.getValue().getMessage());
        awaitFinding(found);
        assertEquals(List.of(bases.get(2)), found);

        // past the deleted one, the shortened segment: its last kept batch ends before the next segment
        Map.Entry<Long, CorruptLogException> failed2 = readUntilFailure(manager.get(TP), bases.get(3));
        assertEquals(keptUpTo[1] + 1, failed2.getKey(), "served up to where the file was cut");
        assertTrue(failed2.getValue().getMessage().contains("in no segment"), failed2.getValue().getMessage());
    }

    /**
     * A damaged length field (or a header cut off) is met while locating a batch: it failed the
     * read but was never reported, so the leader kept serving the error with healthy replicas
     * elsewhere (a probe's consumers failed at that offset for as long as it ran).
     */
    @Test
    void aDamagedLengthField_isReportedAsCorruption() throws Exception {
        PartitionLog log = fill(150);
        List<Long> bases = log.segmentBaseOffsets();
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        long[] victim = LogTestSupport.batchPositions(sealed).get(5);
        manager.close();
        flipBaseOffset(sealed, victim[0], 8, 0x40); // the length field's high byte: an impossible length

        manager = open();
        List<Long> found = watchFindings();
        Map.Entry<Long, CorruptLogException> failed = readUntilFailure(manager.get(TP), 0);
        assertEquals(victim[1], failed.getKey());
        assertTrue(failed.getValue().getMessage().contains("impossible"), failed.getValue().getMessage());
        awaitFinding(found);
        assertEquals(List.of(victim[1]), found, "reported, so leadership can move and the copy be rebuilt");
    }

    /**
     * A length field damaged under a running node, after the batch was verified: reads served it
     * without a CRC check (it lies in the verified prefix), every consumer failed on its CRC, and
     * nothing on the broker noticed (found probing a cluster). The header it leads to is wrong, so
     * the batch's CRC is checked again, and the damage is reported like any finding.
     */
    @Test
    void aLengthDamagedAfterVerification_isFoundByTheNextRead() throws Exception {
        PartitionLog log = fill(150);
        List<Long> bases = log.segmentBaseOffsets();
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        long[] victim = LogTestSupport.batchPositions(sealed).get(5);
        List<Long> found = watchFindings();
        readUntilEnd(log); // every batch verified by this process now
        for (int[] flip : new int[][] {{10, 0x01}, {10, 0x02}}) { // 256 bytes shorter or longer, then 512
            flipBaseOffset(sealed, victim[0], flip[0], flip[1]); // the running node's mapping sees it
            Map.Entry<Long, CorruptLogException> failed = readUntilFailure(log, 0);
            assertEquals(victim[1], failed.getKey(), "served up to the damaged batch, never it");
            awaitFinding(found);
            assertEquals(List.of(victim[1]), found, "reported");
            flipBaseOffset(sealed, victim[0], flip[0], flip[1]); // undone: the next variant starts from a healthy log
            found.clear();
            manager.close();
            manager = open();
            log = manager.get(TP);
            found = watchFindings();
            readUntilEnd(log);
        }
    }

    private static void readUntilEnd(PartitionLog log) {
        long next = 0;
        while (next < log.logEndOffset()) {
            try (FetchSlice slice = log.read(next, 1 << 20, Long.MAX_VALUE)) {
                next = slice.nextOffset();
            }
        }
    }

    /**
     * A log that may have gaps (a compacted topic) still has increasing offsets: a base offset
     * damaged to go back was served, and a consumer dropped the records below its position and
     * saw the rest under offsets 16 too low. Reads now refuse a batch starting below where the
     * one before it ended.
     */
    @Test
    void aBaseOffsetGoingBack_inALogThatMayHaveGaps_isNotServed() throws Exception {
        config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096", LogConfig.CLEANUP_POLICY, "compact"));
        PartitionLog log = fill(150);
        assertTrue(log.gapsPossible());
        List<Long> bases = log.segmentBaseOffsets();
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        long[] victim = LogTestSupport.batchPositions(sealed).stream().skip(2).filter(b -> (b[1] & 0x04) != 0).findFirst()
                .orElseThrow();
        manager.close();
        flipBaseOffset(sealed, victim[0], 7, 0x04); // bit 2 cleared: base - 4, still above the segment's base

        manager = open();
        List<Long> found = watchFindings();
        Map.Entry<Long, CorruptLogException> failed = readUntilFailure(manager.get(TP), 0);
        assertEquals(victim[1], failed.getKey(), "served up to the damaged batch");
        assertTrue(failed.getValue().getMessage().contains("never go back"), failed.getValue().getMessage());
        awaitFinding(found);
        assertEquals(List.of(victim[1]), found);
    }

    @Test
    void aFollowerOfACompactedLeader_andACompactedTopic_mayHaveGaps_durably() throws Exception {
        manager = open();
        PartitionLog follower = manager.getOrCreate(TP, config);
        assertFalse(follower.gapsPossible());
        ByteBuffer payload = ByteBuffer.allocate(4096);
        for (long[] b : new long[][] {{0, 2}, {5, 1}}) { // base offset, records: 2..4 compacted away
            RecordBatchBuilder builder = new RecordBatchBuilder(payload.slice(), 1000).baseOffset(b[0]).partitionLeaderEpoch(1);
            for (int i = 0; i < b[1]; i++) {
                assertTrue(builder.tryAppend(1000, ("k" + (b[0] + i)).getBytes(), ("v" + (b[0] + i)).getBytes(), List.of()));
            }
            payload.position(payload.position() + builder.build().sizeInBytes());
        }
        payload.flip();
        follower.appendAsFollower(payload);
        assertTrue(follower.gapsPossible());
        LogTestHooks.crash(manager);
        manager = open();
        PartitionLog reopened = manager.get(TP);
        assertTrue(manager.corruptPartitions().isEmpty(), "the gap is not corruption: " + manager.corruptPartitions());
        assertTrue(reopened.gapsPossible(), "kept across a crash");
        assertEquals(List.of(0L, 1L, 5L), LogTestSupport.readAll(reopened, 0).stream().map(TestBatches.Stored::offset).toList());

        TopicPartition compacted = new TopicPartition("compacted", 0);
        PartitionLog c = manager.getOrCreate(compacted, LogConfig.parse(Map.of(LogConfig.CLEANUP_POLICY, "compact")));
        assertTrue(c.gapsPossible(), "a compacted topic's log may have gaps from the start");
    }

    @Test
    void stateCodec_version1MeansGapsPossible_version2MeansNoTombstoneRemoved_version3RoundTrips() {
        PartitionState s = new PartitionState(7, 1, 2, 3, -1, List.of(new LeaderEpochCache.EpochEntry(1, 0)), false, 42);
        assertEquals(s, PartitionState.decode(s.encode()));
        PartitionState gaps = new PartitionState(7, 1, 2, 3, -1, List.of(), true);
        assertEquals(gaps, PartitionState.decode(gaps.encode()));
        assertEquals(2, gaps.encode()[0], "nothing removed: written as version 2, which older releases read");
        assertEquals(3, s.encode()[0]);
        byte[] v3 = s.encode();
        byte[] v2 = java.util.Arrays.copyOf(v3, v3.length - 8);
        v2[0] = 2;
        PartitionState fromV2 = PartitionState.decode(v2);
        assertEquals(new PartitionState(7, 1, 2, 3, -1, s.epochs(), false, 0), fromV2);
        byte[] v1 = java.util.Arrays.copyOf(v3, v3.length - 9);
        v1[0] = 1;
        assertTrue(PartitionState.decode(v1).gapsPossible(), "a state written before the flag existed is not trusted to be gap-free");
        byte[] negative = s.encode();
        java.nio.ByteBuffer.wrap(negative).putLong(negative.length - 8, -1);
        assertThrows(IllegalStateException.class, () -> PartitionState.decode(negative));
        assertThrows(IllegalStateException.class, () -> PartitionState.decode(java.util.Arrays.copyOf(v3, v3.length - 1)));
    }

    private static void deleteTree(Path root) throws IOException {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

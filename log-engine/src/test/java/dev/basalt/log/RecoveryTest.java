package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.index.IndexStore;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.testkit.LogTestSupport;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash recovery scenarios (DESIGN §5, STYLE §4): torn tail, corrupt batch after and before the
 * recovery point, missing RocksDB index rebuilt from segments with identical lookups. A crash is
 * {@link LogTestHooks#crash}: no flush, no clean marker, files left as a killed process leaves
 * them; then the test damages a file. Reproduce with
 * {@code ./mvnw -B -ntp -pl log-engine -am verify -Dtest=RecoveryTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class RecoveryTest {
    static final TopicPartition TP = new TopicPartition("events", 3);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(5_000_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "8192", LogConfig.INDEX_INTERVAL_BYTES, "300"));
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    LogManager open() {
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        return manager;
    }

    PartitionLog fill(int batches) {
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < batches; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + (i % 7), "value-" + i))), 1 + i / 10);
        }
        return log;
    }

    Path newestSegment(PartitionLog log) {
        List<Long> bases = log.segmentBaseOffsets();
        return log.directory().resolve(Segment.fileName(bases.get(bases.size() - 1)));
    }

    static void flipByte(Path file, long position) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, position);
            b.put(0, (byte) (b.get(0) ^ 0x5a)).rewind();
            ch.write(b, position);
        }
    }

    static void cut(Path file, long sizeBytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(sizeBytes);
        }
    }

    @Test
    void recovery_tornTail_truncatesToLastWholeBatch() throws IOException {
        PartitionLog log = fill(30);
        log.flush();
        long flushed = log.recoveryPoint();
        for (int i = 0; i < 10; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(5000 + i, "t", "tail-" + i))), 9);
        }
        List<TestBatches.Stored> before = LogTestSupport.readAll(log, 0);
        Path newest = newestSegment(log);
        LogTestHooks.crash(manager);
        List<long[]> batches = LogTestSupport.batchPositions(newest);
        long[] victim = batches.get(batches.size() - 4);
        cut(newest, victim[0] + 7); // mid-header of the 4th-last batch
        PartitionLog reopened = open().get(TP);
        assertEquals(victim[1], reopened.logEndOffset());
        assertTrue(reopened.logEndOffset() >= flushed);
        assertEquals(before.subList(0, (int) victim[1]), LogTestSupport.readAll(reopened, 0));
        AppendInfo next = reopened.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1, "a", "after"))), 9);
        assertEquals(victim[1], next.firstOffset());
    }

    @Test
    void recovery_corruptBatchAfterRecoveryPoint_truncatesThere() throws IOException {
        PartitionLog log = fill(12);
        log.flush();
        for (int i = 0; i < 6; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(7000 + i, "t", "unflushed-" + i))), 9);
        }
        Path newest = newestSegment(log);
        List<TestBatches.Stored> before = LogTestSupport.readAll(log, 0);
        LogTestHooks.crash(manager);
        List<long[]> batches = LogTestSupport.batchPositions(newest);
        long[] victim = batches.get(batches.size() - 3);
        flipByte(newest, victim[2] - 2); // inside the records: CRC mismatch
        LogManager m = open();
        PartitionLog reopened = m.get(TP);
        assertEquals(victim[1], reopened.logEndOffset());
        assertEquals(0, m.startupCorruptPartitionsFound(), "a torn tail past the recovery point is a crash's expected end");
        assertEquals(before.subList(0, (int) victim[1]), LogTestSupport.readAll(reopened, 0));
    }

    /**
     * Found probing: the last segment file removed while the node ran, then a clean restart: the
     * stored log end was trusted, reads past the remaining data came back empty without an error,
     * and the replica stayed in the ISR. The index names the missing segment, so the log is
     * scanned instead, and the flushed offsets it lacks take the partition offline (a replica is
     * rebuilt from the others; an only copy waits for the operator) instead of silently shrinking.
     */
    @Test
    void aCleanStopWithTheLastSegmentFileGone_isNotLoadedAsClean() throws IOException {
        PartitionLog log = fill(400);
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 3, "several segments: " + bases);
        Path newest = newestSegment(log);
        assertTrue(Files.size(newest) > 0);
        manager.close(); // a clean stop
        manager = null;
        Files.delete(newest);
        LogManager m = open();
        assertEquals(java.util.Set.of(TP), m.corruptPartitions(), "offsets " + bases.get(bases.size() - 1) + "..399 are gone");
        assertThrows(LogStorageException.class, () -> m.getOrCreate(TP, config));
    }

    @Test
    void recovery_corruptionBeforeRecoveryPoint_takesOnlyThatPartitionOffline_namingFileAndPosition() throws IOException {
        PartitionLog log = fill(40);
        TopicPartition other = new TopicPartition("events", 4);
        manager.getOrCreate(other, config).appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1, "k", "fine"))), 1);
        log.flush();
        Path newest = newestSegment(log);
        LogTestHooks.crash(manager);
        manager = null;
        List<long[]> batches = LogTestSupport.batchPositions(newest);
        long[] victim = batches.get(1);
        flipByte(newest, victim[2] - 1);
        LogManager m = open();
        assertEquals(java.util.Set.of(TP), m.corruptPartitions(), "the node opens; only the corrupt partition is out");
        assertEquals(1, m.startupCorruptPartitionsFound(), "counted where operators look (found probing: shown as 0)");
        String why = m.offlinePartitions().get(TP);
        assertTrue(why.contains(newest.toString()) && why.contains("at byte " + victim[0]), why);
        assertThrows(LogStorageException.class, () -> m.getOrCreate(TP, config));
        assertEquals(1, m.get(other).logEndOffset(), "other partitions serve");
        // Nothing was changed on disk: once an operator fixed the file the partition opens whole.
        m.close();
        manager = null;
        flipByte(newest, victim[2] - 1);
        assertEquals(40, open().get(TP).logEndOffset());
    }

    @Test
    void repair_cutsTheLogAtTheFirstCorruptBatch_keepingEverythingBefore() throws IOException {
        PartitionLog log = fill(40);
        log.flush();
        List<TestBatches.Stored> before = LogTestSupport.readAll(log, 0);
        Path newest = newestSegment(log);
        LogTestHooks.crash(manager);
        manager = null;
        List<long[]> batches = LogTestSupport.batchPositions(newest);
        long[] victim = batches.get(1);
        flipByte(newest, victim[2] - 1);
        LogManager m = open();
        PartitionLog repaired = m.repair(TP, config);
        assertEquals(victim[1], repaired.logEndOffset(), "cut at the corrupt batch's base offset");
        assertEquals(before.subList(0, (int) victim[1]), LogTestSupport.readAll(repaired, 0));
        assertTrue(m.offlinePartitions().isEmpty());
        AppendInfo next = repaired.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1, "a", "refetched"))), 9);
        assertEquals(victim[1], next.firstOffset());
        m.close();
        manager = null;
        assertEquals(victim[1] + 1, open().get(TP).logEndOffset(), "the repair is durable");
    }

    @Test
    void recovery_afterCrashWithoutDamage_keepsEverythingWritten() {
        PartitionLog log = fill(25);
        List<TestBatches.Stored> before = LogTestSupport.readAll(log, 0);
        LogTestHooks.crash(manager);
        PartitionLog reopened = open().get(TP);
        assertEquals(25, reopened.logEndOffset());
        assertEquals(before, LogTestSupport.readAll(reopened, 0));
        assertEquals(25, reopened.recoveryPoint());
    }

    @Test
    void recovery_missingIndex_rebuildsFromSegments_withIdenticalLookups() {
        PartitionLog log = fill(120);
        log.updateHighWatermark(100);
        List<IndexStore.OffsetPosition> indexBefore = LogTestHooks.offsetIndex(manager, TP);
        List<Object> lookupsBefore = lookups(log);
        List<LogConfig> unused = new ArrayList<>();
        unused.add(config);
        manager.close();
        LogTestSupport.deleteRecursively(dir.resolve(LogManager.INDEX_DIR));
        PartitionLog rebuilt = open().get(TP);
        assertEquals(indexBefore, LogTestHooks.offsetIndex(manager, TP));
        assertEquals(lookupsBefore, lookups(rebuilt));
        assertEquals(log.epochEntries(), rebuilt.epochEntries());
        assertTrue(indexBefore.size() > 3, "index has entries: " + indexBefore);
    }

    @Test
    void recovery_missingIndexAfterCrash_rebuildsToo() {
        PartitionLog log = fill(50);
        List<Object> lookupsBefore = lookups(log);
        LogTestHooks.crash(manager);
        LogTestSupport.deleteRecursively(dir.resolve(LogManager.INDEX_DIR));
        assertEquals(lookupsBefore, lookups(open().get(TP)));
    }

    /** Reads at every offset and by a spread of timestamps: what a rebuilt index must reproduce. */
    private static List<Object> lookups(PartitionLog log) {
        List<Object> out = new ArrayList<>();
        for (long off = log.logStartOffset(); off < log.logEndOffset(); off++) {
            try (FetchSlice s = log.read(off, 1, Long.MAX_VALUE)) {
                out.add(TestBatches.decode(s.records()));
                out.add(s.nextOffset());
            }
        }
        for (long ts = 990; ts < 1200; ts += 7) {
            Optional<TimestampOffset> r = log.offsetForTimestamp(ts);
            out.add(r);
        }
        out.add(log.logEndOffset());
        return out;
    }
}

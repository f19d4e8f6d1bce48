package dev.basalt.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.index.IndexStore;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.testkit.ManualClock;
import dev.basalt.log.testkit.TestBatches;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.LiveFileMetaData;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;

/**
 * A damaged RocksDB index (what the Jepsen suite's {@code corrupt-index} nemesis does to a stopped
 * node): RocksDB refuses to open it (Corruption); the log manager moves it to {@code index.corrupt}
 * and rebuilds every partition from its segments, losing no record. Before this the node could not
 * start at all ("cannot open the RocksDB index"). A damaged table block RocksDB opens without
 * reading is met later, by a read or by a compaction (after which RocksDB fails every write): at
 * load the open is retried with a rebuilt index; while running the directory goes offline and the
 * next start rebuilds. Reproduce with
 * {@code ./mvnw -B -ntp -o -pl log-engine -am verify -Dtest=IndexCorruptionTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class IndexCorruptionTest {
    static final TopicPartition TP = new TopicPartition("events", 0);
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

    private List<String> fillAndCrash(int batches) {
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < batches; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i))), 1 + i / 10);
        }
        log.flush();
        List<String> all = readAll(log);
        LogTestHooks.crash(manager);
        manager = null;
        return all;
    }

    private static List<String> readAll(PartitionLog log) {
        List<String> out = new ArrayList<>();
        for (long off = log.logStartOffset(); off < log.logEndOffset(); off++) {
            try (FetchSlice s = log.read(off, 1, Long.MAX_VALUE)) {
                out.add(off + "=" + TestBatches.decode(s.records()));
            }
        }
        return out;
    }

    private Path indexFile(String prefix) throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve(LogManager.INDEX_DIR))) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix)).sorted().findFirst()
                    .orElseThrow(() -> new AssertionError("no " + prefix + "* in the index"));
        }
    }

    private void assertRebuilt(List<String> before) {
        PartitionLog log = open().get(TP);
        assertEquals(before, readAll(log));
        assertTrue(Files.isDirectory(dir.resolve(LogManager.CORRUPT_INDEX_DIR)), "the damaged index is kept for the operator");
        assertEquals(before.size(), log.logEndOffset());
    }

    @Test
    void cutCurrentFile_indexMovedAsideAndRebuilt() throws IOException {
        List<String> before = fillAndCrash(60);
        RecoveryTest.cut(indexFile("CURRENT"), 3);
        assertRebuilt(before);
    }

    @Test
    void flippedByteInManifest_indexMovedAsideAndRebuilt() throws IOException {
        List<String> before = fillAndCrash(60);
        Path manifest = indexFile("MANIFEST-");
        RecoveryTest.flipByte(manifest, Files.size(manifest) / 2);
        assertRebuilt(before);
    }

    /** Found by the Jepsen suite (seed 21896797741): a flipped bit in CURRENT named a MANIFEST that does not exist. */
    @Test
    void currentNamingAMissingManifest_indexMovedAsideAndRebuilt() throws IOException {
        List<String> before = fillAndCrash(60);
        Files.writeString(indexFile("CURRENT"), "MANIFEST-040005\n");
        assertRebuilt(before);
    }

    /** The index's newest write-ahead log file (RocksDB names them NNNNNN.log; its info log is LOG). */
    private Path newestWal() throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve(LogManager.INDEX_DIR))) {
            return files.filter(f -> f.getFileName().toString().matches("[0-9]+\\.log")).max(java.util.Comparator.naturalOrder())
                    .orElseThrow(() -> new AssertionError("no write-ahead log in the index"));
        }
    }

    /** Appends one single-record batch per offset in [from, to) at {@code epoch}. */
    private static void appendRun(PartitionLog log, int from, int to, int epoch) {
        for (int i = from; i < to; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i))), epoch);
        }
    }

    /** The next append takes the offset after {@code before}'s records, which stay as they were. */
    private static void assertAppendsGoOnAfter(PartitionLog log, List<String> before) {
        log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(2000, "k", "after"))), 2);
        assertEquals(before.size() + 1, log.logEndOffset());
        List<String> after = readAll(log);
        assertEquals(before, after.subList(0, before.size()));
        String next = after.get(before.size());
        assertTrue(next.startsWith(before.size() + "=") && next.contains("after"), next);
    }

    /**
     * Found probing: a flipped byte early in the index's write-ahead log, after two clean runs.
     * RocksDB's default (point-in-time) recovery silently dropped every write after it, the second
     * run's partition states among them, so the state read back was the first run's, which says
     * "closed cleanly at offset 20": the log opened at 20 without a scan, 20 acknowledged records
     * vanished, and new appends landed behind the old batches. The index must count as damaged
     * (only a torn last record is tolerated), be moved aside and rebuilt from the segments, and
     * `storage check` (IndexStore.verify) must report it.
     */
    @Test
    void flippedByteEarlyInTheWriteAheadLog_afterCleanRuns_indexRebuiltNothingLost() throws IOException {
        PartitionLog log = open().getOrCreate(TP, config);
        appendRun(log, 0, 20, 1);
        manager.close();
        log = open().get(TP);
        appendRun(log, 20, 40, 2);
        List<String> before = readAll(log);
        assertEquals(40, before.size());
        manager.close();
        manager = null;
        Path wal = newestWal();
        assertTrue(Files.size(wal) > 200, "the second run's writes are in " + wal + " (" + Files.size(wal) + " bytes)");
        for (int at = 100; at < 103; at++) {
            RecoveryTest.flipByte(wal, at);
        }
        assertNotNull(IndexStore.verify(dir.resolve(LogManager.INDEX_DIR)), "storage check sees the damage");
        assertRebuilt(before);
        assertAppendsGoOnAfter(manager.get(TP), before);
    }

    /**
     * An index that opens fine but is older than the segments (restored from a copy taken after an
     * earlier clean stop; or a write-ahead log that lost the last run's writes in a way RocksDB
     * cannot see): its state says the log ended cleanly at 20 while the segment holds 40 batches.
     * The clean load must notice the batches past that end and recover by a scan instead of
     * dropping them (and then appending behind them under the same offsets).
     */
    @Test
    void indexOlderThanTheSegments_afterCleanStops_recoveredByAScanNothingLost() throws IOException {
        PartitionLog log = open().getOrCreate(TP, config);
        appendRun(log, 0, 20, 1);
        manager.close();
        Path indexDir = dir.resolve(LogManager.INDEX_DIR);
        Path older = dir.resolveSibling(dir.getFileName() + "-index-copy");
        copyTree(indexDir, older);
        log = open().get(TP);
        appendRun(log, 20, 40, 2);
        List<String> before = readAll(log);
        manager.close();
        manager = null;
        deleteTree(indexDir);
        copyTree(older, indexDir);
        deleteTree(older);
        log = open().get(TP);
        assertEquals(40, log.logEndOffset(), "the records written after the older index's stop are kept");
        assertEquals(before, readAll(log));
        assertAppendsGoOnAfter(log, before);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Files.copy(p, to.resolve(from.relativize(p).toString()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /**
     * The other side of the strict replay above: a last record cut short (a crash or power loss in
     * the middle of a write) is what a write-ahead log may end with, and is dropped without setting
     * the index aside; recovery scans the segments from the recovery point as after any crash.
     */
    @Test
    void writeAheadLogCutInsideItsLastRecord_toleratedIndexKept() throws IOException {
        List<String> before = fillAndCrash(60);
        Path wal = newestWal();
        long size = Files.size(wal);
        assertTrue(size > 100, wal + " holds the run's writes (" + size + " bytes)");
        RecoveryTest.cut(wal, size - 3);
        PartitionLog log = open().get(TP);
        assertEquals(before, readAll(log));
        assertFalse(Files.exists(dir.resolve(LogManager.CORRUPT_INDEX_DIR)), "a torn last record is not damage");
    }

    @Test
    void intactIndex_isNotMovedAside() {
        List<String> before = fillAndCrash(20);
        PartitionLog log = open().get(TP);
        assertEquals(before, readAll(log));
        assertFalse(Files.exists(dir.resolve(LogManager.CORRUPT_INDEX_DIR)));
    }

    /**
     * Flushes the crashed index's memtables to table files (as a long-running node would have) and
     * returns each column family's table files; no compaction runs, so the files stay as listed.
     */
    private Map<String, List<Path>> flushIndexToTables() throws RocksDBException {
        Path indexDir = dir.resolve(LogManager.INDEX_DIR);
        Map<String, List<Path>> out = new java.util.TreeMap<>();
        try (Options listOptions = new Options();
             ColumnFamilyOptions cfOptions = new ColumnFamilyOptions().setDisableAutoCompactions(true);
             DBOptions dbOptions = new DBOptions();
             FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
            List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
            for (byte[] name : RocksDB.listColumnFamilies(listOptions, indexDir.toString())) {
                descriptors.add(new ColumnFamilyDescriptor(name, cfOptions));
            }
            List<ColumnFamilyHandle> handles = new ArrayList<>();
            try (RocksDB db = RocksDB.open(dbOptions, indexDir.toString(), descriptors, handles)) {
                db.flush(flush, handles);
                for (LiveFileMetaData f : db.getLiveFilesMetaData()) {
                    out.computeIfAbsent(new String(f.columnFamilyName(), java.nio.charset.StandardCharsets.UTF_8),
                            k -> new ArrayList<>()).add(indexDir.resolve(f.fileName().replace("/", "")));
                }
            } finally {
                handles.forEach(ColumnFamilyHandle::close);
            }
        }
        return out;
    }

    /** Flips a byte inside the first data block of every table file of {@code columnFamily}. */
    private void damageTables(String columnFamily) throws Exception {
        List<Path> tables = flushIndexToTables().get(columnFamily);
        assertNotNull(tables, "no table file for " + columnFamily);
        for (Path t : tables) {
            RecoveryTest.flipByte(t, 20);
        }
    }

    private void assertAppendable() {
        PartitionLog log = manager.get(TP);
        long end = log.logEndOffset();
        log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(9_000, "k", "after"))), 99);
        assertEquals(end + 1, log.logEndOffset());
        String last = readAll(log).get((int) end);
        assertTrue(last.startsWith(end + "=") && last.contains("value=after"), last);
    }

    /**
     * A damaged block in the default column family, which open reads (the partition-id counter):
     * the failed open left the database open, its LOCK held by this process, and the rebuilt index
     * could not be opened ("lock hold by current process").
     */
    @Test
    void damagedBlockReadByOpen_indexRebuilt() throws Exception {
        List<String> before = fillAndCrash(60);
        damageTables("default");
        assertRebuilt(before);
        assertAppendable();
    }

    /**
     * A damaged block in the partition-state table: the state scan stopped there and read it as the
     * end of the data (partition state silently lost). Now the scan throws and the open is retried
     * with a rebuilt index.
     */
    @Test
    void damagedBlockMetWhileLoading_indexRebuilt() throws Exception {
        List<String> before = fillAndCrash(60);
        damageTables("state");
        assertRebuilt(before);
        assertAppendable();
    }

    /**
     * Found by the Jepsen suite (seed 322120149976): a compaction met a damaged block, after which
     * RocksDB failed every write ("index range delete failed: block checksum mismatch") and the
     * node could not start. While running, the damage takes the directory offline (leadership moves
     * elsewhere) and marks the index for rebuild; the next start rebuilds it.
     */
    @Test
    void damagedBlockMetByCompactionWhileRunning_directoryOfflineThenRebuiltOnRestart() throws Exception {
        List<String> before = fillAndCrash(60);
        damageTables("offsets");
        PartitionLog log = open().get(TP);
        assertEquals(before, readAll(log), "lookups that meet the damage scan the segment instead");
        assertThrows(LogStorageException.class, () -> LogTestHooks.compactIndex(manager));
        assertNull(manager.directoryFailure());
        String why = manager.checkDirectory();
        assertNotNull(why);
        assertTrue(why.contains("index is damaged"), why);
        assertTrue(manager.offlinePartitions().containsKey(TP), "the partition is reported offline");
        assertTrue(Files.exists(dir.resolve(LogManager.REBUILD_INDEX_FILE)));
        manager.close();
        manager = null;

        assertRebuilt(before);
        assertFalse(Files.exists(dir.resolve(LogManager.REBUILD_INDEX_FILE)), "the marker goes once the index is set aside");
        assertAppendable();
    }

    // ---- the index lost together with damage to the last segment (found probing a 3-node cluster) ----

    /** One big segment (as in production, where segments are 1 GiB): all data is in the last one. */
    private record OneSegment(List<String> records, Path file, List<IndexStore.OffsetPosition> positions, int writtenBytes) {
    }

    private OneSegment fillOneSegmentAndCrash(int batches) {
        config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, String.valueOf(1 << 20), LogConfig.INDEX_INTERVAL_BYTES, "1"));
        PartitionLog log = open().getOrCreate(TP, config);
        for (int i = 0; i < batches; i++) {
            log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "value-" + i))), 1);
        }
        log.flush();
        OneSegment s = new OneSegment(readAll(log), log.directory().resolve(dev.basalt.log.segment.Segment.fileName(0)),
                LogTestHooks.offsetIndex(manager, TP), LogTestHooks.activeSegment(log).sizeBytes());
        assertEquals(batches, s.positions().size(), "an index entry per batch");
        LogTestHooks.crash(manager);
        manager = null;
        return s;
    }

    private void loseIndex() throws IOException {
        RecoveryTest.cut(indexFile("CURRENT"), 3);
    }

    /** Loses the index, opens: the partition must be offline (damage), not cut. */
    private void assertOfflineAfterLosingTheIndex() throws IOException {
        loseIndex();
        open();
        assertTrue(manager.offlinePartitions().containsKey(TP), "offline: " + manager.offlinePartitions());
    }

    /**
     * A flipped bit inside an acknowledged, fsynced batch while the index (and with it the recovery
     * point) is lost: recovery took the bad batch for a torn write and cut it and every batch after
     * it, so the only copy silently lost 3,000 acknowledged records. A valid batch after the bad one
     * shows it is damage: the partition goes offline (refetched from a replica, or the single-copy
     * procedure) and nothing is cut.
     */
    @Test
    void lostIndexAndFlippedBitMidSegment_partitionOfflineNothingCut() throws IOException {
        OneSegment s = fillOneSegmentAndCrash(60);
        long size = Files.size(s.file());
        RecoveryTest.flipByte(s.file(), s.positions().get(30).position() + RecordBatchHeader.RECORDS + 5);
        assertOfflineAfterLosingTheIndex();
        assertTrue(manager.offlinePartitions().get(TP).contains("not a torn write"), manager.offlinePartitions().get(TP));
        assertEquals(size, Files.size(s.file()), "nothing cut");
    }

    /** As above with the bad batch's length field damaged: the next valid batch is found by its header. */
    @Test
    void lostIndexAndDamagedLengthField_partitionOfflineNothingCut() throws IOException {
        OneSegment s = fillOneSegmentAndCrash(60);
        RecoveryTest.flipByte(s.file(), s.positions().get(20).position() + RecordBatchHeader.LENGTH + 2);
        assertOfflineAfterLosingTheIndex();
    }

    /**
     * A lost index: where tombstones were removed is unknown, taken as anywhere below the log end.
     * The WARN about it is for compacted topics only (only their followers refetch for it); the log
     * loads with the broker defaults and learns its topic's config after, so the warning waits for it.
     */
    @Test
    void lostIndex_tombstoneWarningWaitsForACompactConfig() throws IOException {
        fillAndCrash(30);
        loseIndex();
        PartitionLog log = open().get(TP);
        assertEquals(30, log.tombstonesRemovedEnd(), "unknown: anywhere below the log end");
        assertTrue(log.tombstoneStateLostWarningPending(), "not warned under the delete policy");
        log.updateConfig(config);
        assertTrue(log.tombstoneStateLostWarningPending(), "still a delete-policy topic");
        log.updateConfig(LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "8192", LogConfig.CLEANUP_POLICY, "compact")));
        assertFalse(log.tombstoneStateLostWarningPending(), "warned once the topic is known compacted");
    }

    /** A real torn write (the last batch half on disk, zeros after it) is still cut, and the log comes back. */
    @Test
    void lostIndexAndTornLastBatch_tailCut() throws IOException {
        OneSegment s = fillOneSegmentAndCrash(60);
        int lastStart = s.positions().get(59).position();
        zero(s.file(), lastStart + 20, s.writtenBytes() - lastStart - 20);
        loseIndex();
        PartitionLog log = open().get(TP);
        assertTrue(manager.offlinePartitions().isEmpty(), manager.offlinePartitions().toString());
        assertEquals(s.records().subList(0, 59), readAll(log));
    }

    /** After a clean shutdown everything was flushed: even a bad last batch is damage, not a torn write. */
    @Test
    void lostIndexAfterCleanShutdownAndBadLastBatch_partitionOffline() throws IOException {
        OneSegment s = fillOneSegmentAndCrash(60);
        open().close(); // recovers, then shuts down cleanly
        manager = null;
        RecoveryTest.flipByte(s.file(), s.positions().get(59).position() + RecordBatchHeader.RECORDS + 5);
        assertOfflineAfterLosingTheIndex();
        assertTrue(manager.offlinePartitions().get(TP).contains("clean shutdown"), manager.offlinePartitions().get(TP));
    }

    private void flipInLastBatch(OneSegment s) throws IOException {
        RecoveryTest.flipByte(s.file(), s.positions().get(s.positions().size() - 1).position() + RecordBatchHeader.RECORDS + 5);
    }

    private void zero(Path file, long from, int bytes) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(bytes), from);
        }
    }

    /**
     * Review finding: the retry with a rebuilt index threw away the partition states it had read.
     * A bit flipped in the last, fsynced batch (below the recovery point: corruption) plus a
     * damaged block the load meets elsewhere (the time index) made the retry see the state as lost
     * and cut the batch as a torn write. The states read carry over: the partition goes offline.
     */
    @Test
    void damagedBlockMetWhileLoading_partitionStatesCarryOver() throws Exception {
        OneSegment s = fillOneSegmentAndCrash(60);
        damageTables("times");
        flipInLastBatch(s);
        open();
        assertTrue(Files.isDirectory(dir.resolve(LogManager.CORRUPT_INDEX_DIR)), "rebuilt");
        assertTrue(manager.offlinePartitions().containsKey(TP), "offline: " + manager.offlinePartitions());
        assertTrue(manager.offlinePartitions().get(TP).contains("below recovery point 60"), manager.offlinePartitions().get(TP));
    }

    /** The same when RocksDB's open itself fails on the damage (the default column family): states read read-only. */
    @Test
    void damagedBlockFailsTheOpen_partitionStatesCarryOver() throws Exception {
        OneSegment s = fillOneSegmentAndCrash(60);
        damageTables("default");
        flipInLastBatch(s);
        open();
        assertTrue(Files.isDirectory(dir.resolve(LogManager.CORRUPT_INDEX_DIR)), "rebuilt");
        assertTrue(manager.offlinePartitions().containsKey(TP), "offline: " + manager.offlinePartitions());
    }

    /** With the states carried over and nothing damaged in the segments, the log is whole and its index rebuilt. */
    @Test
    void damagedBlockMetWhileLoading_logWholeAndIndexRebuilt() throws Exception {
        OneSegment s = fillOneSegmentAndCrash(60);
        damageTables("times");
        PartitionLog log = open().get(TP);
        assertEquals(s.records(), readAll(log));
        assertEquals(60, LogTestHooks.offsetIndex(manager, TP).size(), "every offset entry rebuilt");
        assertAppendable();
    }

    /** Review finding: a zeroed page (bad sector) inside the data, index lost, was read as the end of the written data. */
    @Test
    void lostIndexAndZeroedPageMidSegment_partitionOffline() throws IOException {
        OneSegment s = fillOneSegmentAndCrash(300);
        assertTrue(s.writtenBytes() > 3 * 4096, "data spans several pages: " + s.writtenBytes());
        zero(s.file(), 4096, 4096);
        assertOfflineAfterLosingTheIndex();
    }

    /** As above, the zeros starting exactly at a batch boundary (the scan stops at a zero header there). */
    @Test
    void lostIndexAndZerosFromABatchBoundary_partitionOffline() throws IOException {
        OneSegment s = fillOneSegmentAndCrash(120);
        zero(s.file(), s.positions().get(40).position(), 3000);
        assertOfflineAfterLosingTheIndex();
    }

    /**
     * Review finding: with the rebuild marker present but no index directory (a crash after the
     * move, before the marker went), every start failed ("cannot open data directory").
     */
    @Test
    void rebuildMarkerWithoutIndexDirectory_startsAndKeepsTheSetAsideCopy() throws Exception {
        List<String> before = fillAndCrash(30);
        Path index = dir.resolve(LogManager.INDEX_DIR);
        Files.move(index, dir.resolve(LogManager.CORRUPT_INDEX_DIR));
        Files.writeString(dir.resolve(LogManager.REBUILD_INDEX_FILE), "test\n");
        PartitionLog log = open().get(TP);
        assertEquals(before, readAll(log));
        assertTrue(Files.isDirectory(dir.resolve(LogManager.CORRUPT_INDEX_DIR)), "the kept copy stays");
        assertFalse(Files.exists(dir.resolve(LogManager.REBUILD_INDEX_FILE)));
    }

    /**
     * The production path of damage met while running: a background compaction (four level-0 table
     * files of the offset index trigger one at open) reads the damaged blocks, after which RocksDB
     * refuses every write. Either the load meets that refusal (and retries with a rebuilt index) or
     * a later append does (the directory goes offline, the next start rebuilds); both lose nothing.
     */
    @Test
    void damagedBlocksMetByABackgroundCompaction_nothingLost() throws Exception {
        config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, String.valueOf(1 << 20), LogConfig.INDEX_INTERVAL_BYTES, "1"));
        List<String> all = new ArrayList<>();
        for (int round = 0; round < 4; round++) {
            PartitionLog log = open().getOrCreate(TP, config);
            for (int i = 0; i < 20; i++) {
                log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(1000 + i, "k" + i, "r" + round + "-" + i))), 1 + round);
            }
            log.flush();
            all = readAll(log);
            LogTestHooks.crash(manager);
            manager = null;
            flushIndexToTables();
        }
        List<Path> offsetTables = flushIndexToTables().get("offsets");
        assertTrue(offsetTables.size() >= 4, "level-0 files: " + offsetTables);
        for (Path t : offsetTables) {
            RecoveryTest.flipByte(t, 20);
        }
        PartitionLog log = open().get(TP);
        boolean rebuiltAtLoad = Files.isDirectory(dir.resolve(LogManager.CORRUPT_INDEX_DIR));
        String why = null;
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (!rebuiltAtLoad && why == null && System.nanoTime() < deadline) {
            try {
                log.appendAsLeader(TestBatches.batch(List.of(new TestBatches.Rec(9_000, "k", "probe"))), 9);
                all = readAll(log);
            } catch (LogStorageException expected) {
                // the compaction's error refused the index write
            }
            why = manager.checkDirectory();
            Thread.sleep(50);
        }
        assertTrue(rebuiltAtLoad || why != null && why.contains("index is damaged"),
                "the damage was met neither at load nor by a write within 20 s: " + why);
        manager.close();
        manager = null;
        PartitionLog reopened = open().get(TP);
        assertEquals(all, readAll(reopened).subList(0, all.size()));
        assertTrue(Files.isDirectory(dir.resolve(LogManager.CORRUPT_INDEX_DIR)));
    }

    /** Header positions of a record batch, as the segment format lays them out. */
    private static final class RecordBatchHeader {
        static final int LENGTH = dev.basalt.record.RecordBatch.LENGTH_OFFSET;
        static final int RECORDS = dev.basalt.record.RecordBatch.RECORDS_OFFSET;
    }
}

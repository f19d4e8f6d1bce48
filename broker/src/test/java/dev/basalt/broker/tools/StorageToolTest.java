package dev.basalt.broker.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.record.RecordBatchBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code basalt storage}: random-uuid, format/info, and check/repair of a data directory with a
 * flipped byte in flushed data (the single-replica case the running node cannot rebuild).
 */
class StorageToolTest {
    static final TopicPartition TP = new TopicPartition("orders", 0);
    @TempDir
    Path tmp;
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(String... args) {
        out.reset();
        err.reset();
        return new StorageTool(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(args);
    }

    String out() {
        return out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    }

    static ByteBuffer batch(int i) {
        ByteBuffer buf = ByteBuffer.allocate(256);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 1_000 + i);
        b.tryAppend(1_000 + i, ("k" + i).getBytes(StandardCharsets.UTF_8), ("value-" + i).getBytes(StandardCharsets.UTF_8), List.of());
        return b.build().buffer();
    }

    LogManager open(Path dir) {
        return LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
    }

    @Test
    void randomUuidFormatAndInfo() throws IOException {
        assertEquals(0, run("random-uuid"));
        UUID.fromString(out().trim());
        Path config = tmp.resolve("node.properties");
        Files.writeString(config, "node.id=4\nprocess.roles=broker\ncontroller.quorum.voters=1@127.0.0.1:1\n"
                + "listeners=PLAINTEXT://127.0.0.1:2\ndata.dir=" + tmp.resolve("data") + "\ncluster.id=prod-7\n");
        assertEquals(2, run("format", "--config", config.toString()), "--cluster-id is required");
        assertEquals(1, run("format", "--config", config.toString(), "--cluster-id", "other"));
        assertTrue(out().contains("cluster.id=prod-7"), out());
        assertEquals(0, run("format", "--config", config.toString(), "--cluster-id", "prod-7"), out());
        assertEquals(1, run("format", "--config", config.toString(), "--cluster-id", "prod-7"), "only once");
        assertEquals(0, run("info", "--config", config.toString()));
        assertTrue(out().contains("cluster prod-7, node 4"), out());
    }

    @Test
    void checkFindsAFlippedByteInFlushedData_andRepairCutsThere() throws IOException {
        Path dir = tmp.resolve("data");
        try (LogManager m = open(dir)) {
            PartitionLog log = m.getOrCreate(TP, LogConfig.DEFAULT);
            for (int i = 0; i < 20; i++) {
                log.appendAsLeader(batch(i), 1);
            }
            m.getOrCreate(new TopicPartition("fine", 0), LogConfig.DEFAULT).appendAsLeader(batch(0), 1);
        }
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        assertTrue(out().contains("orders-0: ok") && out().contains("20 batches"), out());
        // flip a byte inside the 6th batch (offset 5)
        Path segment = dir.resolve("orders-0").resolve("00000000000000000000.log");
        long pos = 0;
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer h = ByteBuffer.allocate(12);
            for (int i = 0; i < 5; i++) {
                h.clear();
                ch.read(h, pos);
                pos += 12 + h.getInt(8);
            }
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, pos + 70);
            one.put(0, (byte) (one.get(0) ^ 0x21)).rewind();
            ch.write(one, pos + 70);
        }
        assertEquals(1, run("check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("orders-0: CORRUPT at offset 5") && report.contains("byte " + pos), report);
        assertTrue(report.contains("loses 15 batches, 15 records, offsets 5..19"), report);
        assertTrue(report.contains("fine-0: ok"), report);
        assertEquals(0, run("check", "--dir", dir.toString(), "--partition", "fine-0"), out());
        // found probing: a name that matched nothing printed the whole usage, the reason lost above it
        assertEquals(2, run("check", "--dir", dir.toString(), "--partition", "orders-9"), out());
        assertEquals("basalt storage: no partition orders-9 in " + dir + " (it holds fine-0, orders-0)\n", out());
        assertEquals(2, run("check", "--dir", dir.resolve("nope").toString()), out());
        assertTrue(out().startsWith("basalt storage: " + dir.resolve("nope") + " does not exist (--dir names") && !out().contains("Usage"),
                out());
        assertEquals(2, run("check", "--partition", "orders-0"), out());
        assertTrue(out().contains("--dir is required") && out().contains("Usage"), "a malformed command still gets the usage: " + out());

        long segmentBytes = Files.size(segment);
        assertEquals(0, run("repair", "--dir", dir.toString(), "--partition", "orders-0"), out());
        assertTrue(out().contains("now ends at offset 5"), out());
        // The corrupt batch and the 14 intact ones after it are kept for the operator, byte for byte.
        assertTrue(out().contains("the cut bytes are kept in " + dir.resolve("orders-0").resolve("lost-")), out());
        Path kept;
        try (var lost = Files.list(dir.resolve("orders-0")).filter(p -> p.getFileName().toString().startsWith("lost-"))) {
            kept = lost.findFirst().orElseThrow().resolve("00000000000000000000.log.from-byte-" + pos);
        }
        assertEquals(segmentBytes - pos, Files.size(kept), "the cut segment's tail");
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        try (LogManager m = open(dir)) {
            assertEquals(5, m.get(TP).logEndOffset());
            assertEquals(1, m.get(new TopicPartition("fine", 0)).logEndOffset());
            assertEquals(5, m.get(TP).appendAsLeader(batch(99), 1).firstOffset());
        }
    }

    /** Byte position of batch {@code index} in {@code segment} (headers walked). */
    static long batchPosition(Path segment, int index) throws IOException {
        long pos = 0;
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(12);
            for (int i = 0; i < index; i++) {
                h.clear();
                ch.read(h, pos);
                pos += 12 + h.getInt(8);
            }
        }
        return pos;
    }

    static void xor(Path file, long at, int mask) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, at);
            one.put(0, (byte) (one.get(0) ^ mask)).rewind();
            ch.write(one, at);
        }
    }

    /**
     * Found probing: a partition directory removed while the node was stopped was not reported (the
     * check walks the directories it finds), though the node finds it at its start from the index.
     * A deleted topic's directory, renamed for deletion, is not a loss.
     */
    @Test
    void checkReportsAPartitionDirectoryTheIndexKnowsButThatIsGone() throws IOException {
        Path dir = tmp.resolve("data");
        TopicPartition gone = new TopicPartition("gone", 0);
        TopicPartition deleted = new TopicPartition("deleted", 0);
        try (LogManager m = open(dir)) {
            for (TopicPartition tp : List.of(TP, gone, deleted)) {
                PartitionLog log = m.getOrCreate(tp, LogConfig.DEFAULT);
                for (int i = 0; i < 5; i++) {
                    log.appendAsLeader(batch(i), 1);
                }
            }
            m.delete(deleted);
        }
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        try (var walk = Files.walk(dir.resolve(gone.dirName()))) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        assertEquals(1, run("check", "--dir", dir.toString()), out());
        assertTrue(out().contains("gone-0: DIRECTORY MISSING: the index knows this partition (recovery point 5)"), out());
        assertFalse(out().contains("deleted-0"), out());
        assertTrue(out().contains("1 partitions checked, 0 corrupt, 1 directories missing"), out());
        assertEquals(0, run("check", "--dir", dir.toString(), "--partition", TP.toString()), "not asked about: " + out());
        // Asked about by name, it is missing, not a typo (found probing: "no partition gone-0", exit 2).
        assertEquals(1, run("check", "--dir", dir.toString(), "--partition", gone.toString()), out());
        assertTrue(out().contains("gone-0: DIRECTORY MISSING"), out());
        assertEquals(2, run("check", "--dir", dir.toString(), "--partition", "nope-0"), out());

        // Without its index the check says so (found probing: it printed no index line at all).
        try (var walk = Files.walk(dir.resolve(LogManager.INDEX_DIR))) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        assertTrue(out().contains("index: missing: the node rebuilds every partition's stored state"), out());
    }

    /**
     * A batch's base offset and leader epoch are outside its CRC. Found reviewing the read-path
     * checks: `check` passed both kinds of damage (a raised last base offset, a flipped epoch) and
     * `repair`, which reloaded the log without its stored state, kept them, so the node met them
     * again after every repair. With the stored state (no gaps possible, the epochs) both find them.
     */
    @Test
    void checkAndRepair_findADamagedBaseOffsetAndLeaderEpoch() throws IOException {
        Path dir = tmp.resolve("data");
        TopicPartition based = new TopicPartition("based", 0);
        TopicPartition epoch = new TopicPartition("epoch", 0);
        try (LogManager m = open(dir)) {
            for (TopicPartition tp : List.of(based, epoch)) {
                PartitionLog log = m.getOrCreate(tp, LogConfig.DEFAULT);
                for (int i = 0; i < 20; i++) {
                    log.appendAsLeader(batch(i), i < 12 ? 1 : 2);
                }
            }
        }
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        Path basedSegment = dir.resolve("based-0").resolve("00000000000000000000.log");
        xor(basedSegment, batchPosition(basedSegment, 19) + 6, 0x01); // base 19 -> 275: still increasing
        Path epochSegment = dir.resolve("epoch-0").resolve("00000000000000000000.log");
        xor(epochSegment, batchPosition(epochSegment, 10) + 12, 0x01); // epoch 1 -> 16777217

        assertEquals(1, run("check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("based-0: CORRUPT at offset 19") && report.contains("without gaps"), report);
        assertTrue(report.contains("epoch-0: CORRUPT at offset 10") && report.contains("leader epoch 16777217"), report);
        assertFalse(report.contains("not checked"), report);

        assertEquals(0, run("repair", "--dir", dir.toString()), out());
        assertTrue(out().contains("based-0: repaired; the log now ends at offset 19"), out());
        assertTrue(out().contains("epoch-0: repaired; the log now ends at offset 10"), out());
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        try (LogManager m = open(dir)) {
            assertEquals(19, m.get(based).logEndOffset());
            assertEquals(10, m.get(epoch).logEndOffset());
            assertEquals(19, m.get(based).appendAsLeader(batch(99), 3).firstOffset());
        }

        // Without the index the stored states are unknown: check says what it could not check.
        Path index = dir.resolve(LogManager.INDEX_DIR);
        try (var files = Files.walk(index)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        assertTrue(out().contains("base offsets and leader epochs: not checked (no index"), out());
    }

    /**
     * Found probing: a base offset damaged in the middle of a log (it jumped ahead) was reported as
     * "a cut there loses 1 batches, 100 records" while the cut dropped every batch after it (10,511
     * records): the census stopped where the next batch's offset seemed to go back.
     */
    @Test
    void aBaseOffsetDamagedMidLog_countsEveryBatchACutThereLoses() throws IOException {
        Path dir = tmp.resolve("data");
        TopicPartition tp = new TopicPartition("mid", 0);
        try (LogManager m = open(dir)) {
            PartitionLog log = m.getOrCreate(tp, LogConfig.DEFAULT);
            for (int i = 0; i < 20; i++) {
                log.appendAsLeader(batch(i), 1);
            }
        }
        Path segment = dir.resolve("mid-0").resolve("00000000000000000000.log");
        xor(segment, batchPosition(segment, 10) + 6, 0x01); // base 10 -> 266: the next batch (11) seems to go back
        assertEquals(1, run("check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("mid-0: CORRUPT at offset 10"), report);
        // the offsets lost are 10..19: not from the damaged header's 266, nor up to it
        assertTrue(report.contains("loses 10 batches, 10 records, offsets 10..19"), report);
        assertFalse(report.contains("unparsable"), report);
        assertEquals(0, run("repair", "--dir", dir.toString()), out());
        assertTrue(out().contains("mid-0: repaired; the log now ends at offset 10"), out());
    }

    /** A sealed segment cut short (a truncated file): check names the offsets already missing, and repair keeps the rest aside. */
    @Test
    void checkOfATruncatedSegment_namesTheMissingOffsets() throws IOException {
        Path dir = tmp.resolve("data");
        LogConfig small = LogConfig.DEFAULT.withOverrides(java.util.Map.of("segment.bytes", "1024"));
        List<Long> bases;
        try (LogManager m = open(dir)) {
            PartitionLog log = m.getOrCreate(TP, small);
            for (int i = 0; i < 30; i++) {
                log.appendAsLeader(batch(i), 1);
            }
            log.flush();
            bases = log.segmentBaseOffsets();
        }
        assertTrue(bases.size() >= 3, "segments " + bases);
        Path first = dir.resolve("orders-0").resolve(String.format("%020d.log", bases.get(0)));
        long size = Files.size(first);
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.WRITE)) {
            ch.truncate(size / 2);
        }
        assertEquals(1, run("check", "--dir", dir.toString()), out());
        String report = out();
        // 462 bytes = 6 intact batches of 77 bytes; the 7th is cut short, so offsets 6 to the next segment's base are gone
        long next = bases.get(1);
        assertTrue(report.contains("orders-0: CORRUPT at offset 6, 00000000000000000000.log byte 462"), report);
        // the loss runs from the cut (found probing: it was named from the next segment's base)
        assertTrue(report.contains("loses " + (30 - next) + " batches, " + (30 - next) + " records, offsets 6..29"), report);
        assertTrue(report.contains("the file ends inside that batch (it was cut short): offsets 6.." + (next - 1)
                + " are already missing from the files"), report);
        assertEquals(0, run("repair", "--dir", dir.toString()), out());
        assertTrue(out().contains("orders-0: repaired; the log now ends at offset 6; the cut bytes are kept in "), out());
        try (LogManager m = open(dir)) {
            assertEquals(6, m.get(TP).logEndOffset());
        }
    }

    /**
     * Found probing: a compacted log's middle segment file deleted, and check said "ok" (a log
     * with gaps cannot tell it from offsets compaction removed). The index lists the segment:
     * check reports it missing, and repair cuts the log at the end of the segment before it.
     */
    @Test
    void aCompactedLogsMissingMiddleSegment_isCorrupt_andRepairCutsThere() throws IOException {
        Path dir = tmp.resolve("data");
        LogConfig small = LogConfig.DEFAULT.withOverrides(java.util.Map.of("segment.bytes", "1024", "cleanup.policy", "compact"));
        List<Long> bases;
        try (LogManager m = open(dir)) {
            PartitionLog log = m.getOrCreate(TP, small);
            for (int i = 0; i < 30; i++) {
                log.appendAsLeader(batch(i), 1);
            }
            log.flush();
            bases = log.segmentBaseOffsets();
        }
        assertTrue(bases.size() >= 3, "segments " + bases);
        Files.delete(dir.resolve("orders-0").resolve(String.format("%020d.log", bases.get(1))));
        assertEquals(1, run("check", "--dir", dir.toString()), out());
        assertTrue(out().contains("orders-0: CORRUPT: segment " + String.format("%020d.log", bases.get(1)) + " is missing: the index"
                + " lists it between " + String.format("%020d.log", bases.get(0)) + " and " + String.format("%020d.log", bases.get(2))),
                out());
        assertEquals(0, run("repair", "--dir", dir.toString()), out());
        assertTrue(out().contains("orders-0: repaired; the log now ends at offset " + bases.get(1)), out());
        assertEquals(0, run("check", "--dir", dir.toString()), out());
    }

    /**
     * Found probing: the last segment's flushed tail gone at a batch boundary (zeroed or cut
     * there) left only intact batches, and check said "ok" (exit 0) while the node, at its start,
     * found offsets below its recovery point missing. Check compares with the stored recovery point.
     */
    @Test
    void flushedTailGoneAtABatchBoundary_isNotOk() throws IOException {
        Path dir = tmp.resolve("data");
        LogConfig small = LogConfig.DEFAULT.withOverrides(java.util.Map.of("segment.bytes", "1024"));
        List<Long> bases;
        try (LogManager m = open(dir)) {
            PartitionLog log = m.getOrCreate(TP, small);
            for (int i = 0; i < 30; i++) {
                log.appendAsLeader(batch(i), 1);
            }
            log.flush();
            bases = log.segmentBaseOffsets();
        }
        long lastBase = bases.get(bases.size() - 1);
        assertTrue(30 - lastBase >= 2, "the last segment holds at least two batches: " + bases);
        Path last = dir.resolve("orders-0").resolve(String.format("%020d.log", lastBase));
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer length = java.nio.ByteBuffer.allocate(4);
            ch.read(length, dev.basalt.record.RecordBatch.LENGTH_OFFSET);
            ch.truncate(length.flip().getInt() + dev.basalt.record.RecordBatch.LOG_OVERHEAD_BYTES); // its first batch left
        }
        assertEquals(1, run("check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("orders-0: FLUSHED DATA MISSING: the log ends at offset " + (lastBase + 1)
                + ", below its recovery point 30: offsets " + (lastBase + 1) + "..29"), report);
        assertTrue(report.contains("1 partitions checked, 0 corrupt, 1 missing flushed data"), report);
    }

    @Test
    void repairIsRefusedWhileTheDirectoryIsInUse() throws IOException {
        Path dir = tmp.resolve("busy");
        try (LogManager m = open(dir)) {
            m.getOrCreate(TP, LogConfig.DEFAULT).appendAsLeader(batch(1), 1);
            m.get(TP).flush();
            Path segment = dir.resolve("orders-0").resolve("00000000000000000000.log");
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {0x7f}), 40);
            }
            assertEquals(1, run("repair", "--dir", dir.toString()), out());
            assertTrue(out().contains("in use"), out());
        }
    }

    /** Flushes the index's memtables (a stopped node's index may hold everything in its WAL) and returns a table file of {@code cf}. */
    private static Path flushIndexToOneTable(Path indexDir, String cf) {
        try (org.rocksdb.Options list = new org.rocksdb.Options();
             org.rocksdb.ColumnFamilyOptions cfOptions = new org.rocksdb.ColumnFamilyOptions().setDisableAutoCompactions(true);
             org.rocksdb.DBOptions dbOptions = new org.rocksdb.DBOptions();
             org.rocksdb.FlushOptions flush = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
            List<org.rocksdb.ColumnFamilyDescriptor> descriptors = new java.util.ArrayList<>();
            for (byte[] name : org.rocksdb.RocksDB.listColumnFamilies(list, indexDir.toString())) {
                descriptors.add(new org.rocksdb.ColumnFamilyDescriptor(name, cfOptions));
            }
            List<org.rocksdb.ColumnFamilyHandle> handles = new java.util.ArrayList<>();
            try (org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(dbOptions, indexDir.toString(), descriptors, handles)) {
                db.flush(flush, handles);
                for (org.rocksdb.LiveFileMetaData f : db.getLiveFilesMetaData()) {
                    if (new String(f.columnFamilyName(), StandardCharsets.UTF_8).equals(cf)) {
                        return indexDir.resolve(f.fileName().replace("/", ""));
                    }
                }
                throw new AssertionError("no table file of " + cf);
            } finally {
                handles.forEach(org.rocksdb.ColumnFamilyHandle::close);
            }
        } catch (org.rocksdb.RocksDBException e) {
            throw new AssertionError(e);
        }
    }

    /** Found probing a cluster: a repair of a running node's clean directory said "0 repaired", exit 0. */
    @Test
    void repairOfACleanDirectoryInUse_refusedUpFront() throws IOException {
        Path dir = tmp.resolve("busy-clean");
        try (LogManager m = open(dir)) {
            m.getOrCreate(TP, LogConfig.DEFAULT).appendAsLeader(batch(1), 1);
            assertEquals(1, run("repair", "--dir", dir.toString()), out());
            assertTrue(out().contains("in use by a running node"), out());
            assertEquals(0, run("check", "--dir", dir.toString()), out());
            assertTrue(out().contains("index: not checked (a node is running"), out());
        }
    }

    /**
     * Found probing a cluster: a topic the running node deleted between the check's listing and its
     * read of that partition ended the check with a raw NoSuchFileException and exit 1, the other
     * partitions unchecked. Beside a running node it is reported gone and the check goes on; with
     * no node running nothing deletes directories, so a directory that vanishes is still an error.
     */
    @Test
    void checkBesideARunningNode_aPartitionDeletedDuringTheCheck_isReportedGone() throws IOException {
        Path dir = tmp.resolve("deleting");
        TopicPartition doomed = new TopicPartition("doomed", 0);
        StorageTool tool = new StorageTool(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        tool.beforeVerify = tp -> {
            if (tp.equals(doomed)) {
                deleteTree(dir.resolve(tp.dirName()));
            }
        };
        try (LogManager m = open(dir)) {
            for (int i = 0; i < 5; i++) {
                m.getOrCreate(TP, LogConfig.DEFAULT).appendAsLeader(batch(i), 1);
                m.getOrCreate(doomed, LogConfig.DEFAULT).appendAsLeader(batch(i), 1);
            }
            m.getOrCreate(TP, LogConfig.DEFAULT).flush();
            m.getOrCreate(doomed, LogConfig.DEFAULT).flush();
            out.reset();
            err.reset();
            assertEquals(0, tool.run(new String[] {"check", "--dir", dir.toString()}), out());
            assertTrue(out().contains("doomed-0: gone (deleted by the running node during the check)"), out());
            assertTrue(out().contains("orders-0: ok") && out().contains("5 batches"), "the check went on: " + out());
        }
        // stopped: the index still knows doomed-0, but no node deletes directories now
        Files.createDirectories(dir.resolve(doomed.dirName()));
        out.reset();
        err.reset();
        assertEquals(StorageTool.EXIT_REFUSED, tool.run(new String[] {"check", "--dir", dir.toString()}), out());
        assertTrue(out().contains("NoSuchFileException") && !out().contains("gone (deleted by the running node"), out());
    }

    private static void deleteTree(Path root) {
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** check reads the RocksDB index too (it reported a damaged index as "0 corrupt"); repair marks it for rebuild. */
    @Test
    void checkFindsADamagedIndex_repairMarksItForRebuild() throws IOException {
        Path dir = tmp.resolve("idx");
        try (LogManager m = open(dir)) {
            for (int i = 0; i < 20; i++) {
                m.getOrCreate(TP, LogConfig.DEFAULT).appendAsLeader(batch(i), 1);
            }
        }
        Path table = flushIndexToOneTable(dir.resolve(LogManager.INDEX_DIR), "offsets");
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        assertTrue(out().contains("index: ok"), out());
        // a bit flipped inside a data block: RocksDB opens the index without reading it; only the check does
        try (FileChannel ch = FileChannel.open(table, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, 20);
            one.put(0, (byte) (one.get(0) ^ 0x5a)).rewind();
            ch.write(one, 20);
        }
        assertEquals(1, run("check", "--dir", dir.toString()), out());
        assertTrue(out().contains("index: DAMAGED") && out().contains("0 corrupt, index damaged"), out());
        assertEquals(0, run("repair", "--dir", dir.toString()), out());
        assertTrue(out().contains("index: marked for rebuild"), out());
        assertTrue(Files.exists(dir.resolve(LogManager.REBUILD_INDEX_FILE)));
        try (LogManager m = open(dir)) {
            assertEquals(20, m.get(TP).logEndOffset());
        }
        assertTrue(Files.isDirectory(dir.resolve(LogManager.CORRUPT_INDEX_DIR)), "set aside at the next open");
        assertEquals(0, run("check", "--dir", dir.toString()), out());
    }

    // ---- the metadata Raft log (DATA/raft), checked read-only with the store's own recovery rules ----

    static final dev.basalt.raft.log.FileRaftStore.Config SMALL_RAFT = new dev.basalt.raft.log.FileRaftStore.Config(300, 1024, 1 << 20);

    static dev.basalt.raft.log.LogEntry raftEntry(long index) {
        return new dev.basalt.raft.log.LogEntry(2, index, dev.basalt.raft.log.LogEntry.EntryType.DATA,
                ("entry-" + index).getBytes(StandardCharsets.UTF_8));
    }

    /** A data directory with one partition and a metadata log of 30 entries (several segments), all committed. */
    Path dataDirWithMetadataLog() {
        Path dir = tmp.resolve("data");
        try (LogManager m = open(dir)) {
            m.getOrCreate(TP, LogConfig.DEFAULT).appendAsLeader(batch(0), 1);
        }
        try (dev.basalt.raft.log.FileRaftStore store = dev.basalt.raft.log.FileRaftStore.open(dir.resolve("raft"), SMALL_RAFT)) {
            List<dev.basalt.raft.log.LogEntry> entries = new java.util.ArrayList<>();
            for (int i = 1; i <= 30; i++) {
                entries.add(raftEntry(i));
            }
            store.appendAndFlush(entries);
            store.persistAndFlushHardState(new dev.basalt.raft.log.HardState(2, 1, 30));
        }
        return dir;
    }

    static List<Path> raftSegments(Path dir) throws IOException {
        try (var files = Files.list(dir.resolve("raft"))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    /** Every file under {@code root}, by relative path, with its bytes. */
    static java.util.Map<String, byte[]> snapshotOf(Path root) throws IOException {
        java.util.Map<String, byte[]> all = new java.util.TreeMap<>();
        try (var walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                all.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return all;
    }

    /** Runs {@code args} and asserts the metadata log's files are byte for byte as before. */
    int runLeavingTheMetadataLogAsItWas(Path dir, String... args) throws IOException {
        java.util.Map<String, byte[]> before = snapshotOf(dir.resolve("raft"));
        int code = run(args);
        java.util.Map<String, byte[]> after = snapshotOf(dir.resolve("raft"));
        assertEquals(before.keySet(), after.keySet(), "the same metadata log files: " + out());
        for (String name : before.keySet()) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(before.get(name), after.get(name), name + " unchanged");
        }
        return code;
    }

    static long lastRaftFramePosition(Path segment, long index) throws IOException {
        return Files.size(segment) - (8 + 17 + raftEntry(index).data().length);
    }

    @Test
    void checkOfAnIntactMetadataLog_saysOkPerFile() throws IOException {
        Path dir = dataDirWithMetadataLog();
        List<Path> segments = raftSegments(dir);
        assertTrue(segments.size() >= 3, "segments " + segments);
        assertEquals(0, runLeavingTheMetadataLogAsItWas(dir, "check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("metadata log 00000000000000000001.log: ok ("), report);
        assertTrue(report.contains("metadata log " + segments.get(segments.size() - 1).getFileName() + ": ok ("), report);
        assertTrue(report.contains("metadata log hardstate: ok (term 2, voted for 1, commit index 30, 28 bytes)"), report);
        assertTrue(report.contains("metadata log: ok (indexes 1..30, commit index 30)"), report);
        assertTrue(report.contains("orders-0: ok") && report.contains("1 partitions checked, 0 corrupt\n"), report);
        assertFalse(report.contains("DAMAGED") || report.contains("TORN"), report);
    }

    /** A last segment cut short (a crash mid-write): a torn tail the node cuts, never acknowledged; not an error. */
    @Test
    void checkOfAMetadataLogWithATornTail_saysWhatTheNodeCuts_exit0() throws IOException {
        Path dir = dataDirWithMetadataLog();
        List<Path> segments = raftSegments(dir);
        Path last = segments.get(segments.size() - 1);
        long lastFrame = lastRaftFramePosition(last, 30);
        long size = Files.size(last);
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE)) {
            ch.truncate(size - 5);
        }
        // the commit index must not cover the torn entry, or the open refuses the log as ending below it
        Files.copy(dataDirHardState(29), dir.resolve("raft").resolve("hardstate"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertEquals(0, runLeavingTheMetadataLogAsItWas(dir, "check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("metadata log " + last.getFileName() + ": TORN TAIL: " + (size - 5 - lastFrame) + " bytes from byte "
                + lastFrame + " ("), report);
        assertTrue(report.contains("never acknowledged") && report.contains("the node cuts it at its start"), report);
        assertTrue(report.contains("metadata log: ok (indexes 1..29, commit index 29; the torn tail above is cut at the node's start)"),
                report);
        assertFalse(report.contains("metadata log damaged"), report);
    }

    /** A hardstate file holding term 2, vote 1 and {@code commitIndex}, written by a store of its own. */
    Path dataDirHardState(long commitIndex) {
        Path scratch = tmp.resolve("hs-" + commitIndex);
        try (dev.basalt.raft.log.FileRaftStore store = dev.basalt.raft.log.FileRaftStore.open(scratch, SMALL_RAFT)) {
            List<dev.basalt.raft.log.LogEntry> entries = new java.util.ArrayList<>();
            for (int i = 1; i <= commitIndex; i++) {
                entries.add(raftEntry(i));
            }
            store.appendAndFlush(entries);
            store.persistAndFlushHardState(new dev.basalt.raft.log.HardState(2, 1, commitIndex));
        }
        return scratch.resolve("hardstate");
    }

    /**
     * One flipped byte in the payload of the last entry (whole and fsynced, so possibly acknowledged):
     * the node refuses it as damage, so check must too: exit 1, file, byte, what, and the way back.
     */
    @Test
    void checkOfAMetadataLogWithADamagedLastEntry_isDamage_exit1() throws IOException {
        Path dir = dataDirWithMetadataLog();
        List<Path> segments = raftSegments(dir);
        Path last = segments.get(segments.size() - 1);
        long lastFrame = lastRaftFramePosition(last, 30);
        xor(last, Files.size(last) - 2, 0x10);
        assertEquals(1, runLeavingTheMetadataLogAsItWas(dir, "check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("metadata log " + last.getFileName() + ": DAMAGED at byte " + lastFrame + " (entry 30): CRC32C mismatch"),
                report);
        assertTrue(report.contains("move " + dir.resolve("raft") + " aside and rejoin the quorum") && report.contains("A lost metadata log"),
                report);
        assertTrue(report.contains("metadata log: DAMAGED") && report.contains("1 partitions checked, 0 corrupt, metadata log damaged"),
                report);
        // repair leaves the metadata log alone and says the node will not start on it
        assertEquals(1, runLeavingTheMetadataLogAsItWas(dir, "repair", "--dir", dir.toString()), out());
        assertTrue(out().contains("metadata log damaged"), out());
        // the node's own open agrees
        assertThrows(dev.basalt.raft.log.RaftStorageException.class,
                () -> dev.basalt.raft.log.FileRaftStore.open(dir.resolve("raft"), dev.basalt.raft.log.FileRaftStore.Config.DEFAULT).close());
    }

    /** Damage in an older segment: named with its byte; the segments after it are still reported one by one. */
    @Test
    void checkOfAMetadataLogDamagedMidLog_namesFileAndByte_exit1() throws IOException {
        Path dir = dataDirWithMetadataLog();
        List<Path> segments = raftSegments(dir);
        Path second = segments.get(1);
        long base = Long.parseLong(second.getFileName().toString().replace(".log", ""));
        long secondFrame = 8 + 17 + raftEntry(base).data().length;
        xor(second, secondFrame + 8 + 17, 0x01); // the first payload byte of its second entry
        assertEquals(1, runLeavingTheMetadataLogAsItWas(dir, "check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("metadata log " + second.getFileName() + ": DAMAGED at byte " + secondFrame + " (entry " + (base + 1)
                + "): CRC32C mismatch"), report);
        assertTrue(report.contains("in a segment that was fully fsynced"), report);
        assertTrue(report.contains("metadata log 00000000000000000001.log: ok ("), report);
        assertTrue(report.contains("metadata log " + segments.get(2).getFileName() + ": ok ("), "checked on its own: " + report);
        assertTrue(report.contains("metadata log damaged"), report);
    }

    @Test
    void checkOfAMetadataLogWithABadHardState_isDamage_exit1() throws IOException {
        Path dir = dataDirWithMetadataLog();
        xor(dir.resolve("raft").resolve("hardstate"), 10, 0x04); // inside the term
        assertEquals(1, runLeavingTheMetadataLogAsItWas(dir, "check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("metadata log hardstate: DAMAGED: corrupt hard state file"), report);
        assertTrue(report.contains("metadata log 00000000000000000001.log: ok ("), report);
        assertTrue(report.contains("metadata log damaged"), report);
    }

    /** Whole entries gone from the end (cut at an entry boundary): every frame checks out, but committed entries are missing. */
    @Test
    void checkOfAMetadataLogEndingBelowItsCommitIndex_isDamage_exit1() throws IOException {
        Path dir = dataDirWithMetadataLog();
        List<Path> segments = raftSegments(dir);
        Path last = segments.get(segments.size() - 1);
        try (FileChannel ch = FileChannel.open(last, StandardOpenOption.WRITE)) {
            ch.truncate(lastRaftFramePosition(last, 30));
        }
        assertEquals(1, runLeavingTheMetadataLogAsItWas(dir, "check", "--dir", dir.toString()), out());
        String report = out();
        assertTrue(report.contains("metadata log: DAMAGED: log in " + dir.resolve("raft") + " ends at index 29, below the persisted"
                + " commit index 30"), report);
        assertTrue(report.contains("metadata log damaged"), report);
    }

    /** A broker-only node has no metadata log: said, and no error. */
    @Test
    void checkWithoutARaftDirectory_saysSo_exit0() throws IOException {
        Path dir = tmp.resolve("data");
        try (LogManager m = open(dir)) {
            m.getOrCreate(TP, LogConfig.DEFAULT).appendAsLeader(batch(0), 1);
        }
        assertEquals(0, run("check", "--dir", dir.toString()), out());
        assertTrue(out().contains("metadata log: none (no " + dir.resolve("raft") + "; a broker-only node keeps no metadata log)"), out());
        assertFalse(Files.exists(dir.resolve("raft")), "the check created nothing");
        // with --partition only that partition is checked
        Files.createDirectories(dir.resolve("raft"));
        Files.write(dir.resolve("raft").resolve("hardstate"), new byte[] {1});
        assertEquals(0, run("check", "--dir", dir.toString(), "--partition", TP.toString()), out());
        assertFalse(out().contains("metadata log"), out());
        assertEquals(1, run("check", "--dir", dir.toString()), out());
    }
}

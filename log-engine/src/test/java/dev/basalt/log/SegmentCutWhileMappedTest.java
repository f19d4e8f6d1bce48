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
import java.nio.MappedByteBuffer;
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
 * A segment file cut short (an outside {@code truncate}) while the running log has it mapped.
 * Found probing a cluster: reading the mapping past the new end raises SIGBUS; in the CRC32C
 * intrinsic the scrubber ran over the mapping it ended the whole node (exit 134, every partition
 * and its controller role gone), and in a consumer's read it killed request threads with an
 * InternalError. Now the scrubber finds the cut before reading there, a read that meets it fails
 * with the typed corruption error at the first batch past the cut, and the offsets before it are
 * still served. If this test's JVM dies, the guard is gone.
 */
class SegmentCutWhileMappedTest {
    static final TopicPartition TP = new TopicPartition("cut", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(1_000_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "65536"));
    LogManager manager;

    @AfterEach
    void close() {
        if (manager != null) {
            manager.close();
        }
    }

    PartitionLog fill(int batches) {
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        return LogTestSupport.fillOneRecordBatches(manager, TP, config, batches, 300);
    }

    /**
     * Reads the whole log once (mapping every segment), then cuts {@code file} just past the
     * header of a batch whose body runs into the next memory page: that page is then wholly past
     * the file's end, and touching it faults (SIGBUS), where a cut within one page reads zeros.
     * The probe's cut was like this ({@code truncate -s 20000}).
     */
    static long[] mapThenCut(PartitionLog log, Path file) throws IOException {
        long next = 0;
        while (next < log.logEndOffset()) {
            try (FetchSlice slice = log.read(next, 1 << 20, Long.MAX_VALUE)) {
                next = slice.nextOffset();
            }
        }
        long page = 4096;
        long[] victim = null;
        for (long[] b : LogTestSupport.batchPositions(file)) {
            long nextPage = (b[0] / page + 1) * page;
            if (b[0] >= page && b[0] + 100 < nextPage && b[2] > nextPage) {
                victim = b;
                break;
            }
        }
        assertTrue(victim != null, "a batch crossing a page boundary with room for its header before it");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(victim[0] + 70);
        }
        assertEquals(victim[0] + 70, Files.size(file));
        return victim;
    }

    record Finding(long offset, CorruptLogException e) {
    }

    @Test
    void theScrubberFindsTheCut_andTheNodeLives() throws IOException {
        PartitionLog log = fill(600);
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 3, "several segments: " + bases);
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        long[] victim = mapThenCut(log, sealed);

        List<Finding> found = new ArrayList<>();
        for (int i = 0; i < 1000 && found.isEmpty(); i++) {
            manager.scrubNow(1 << 20, 512, (l, offset, e) -> {
                found.add(new Finding(offset, e));
                l.markCorruptFrom(offset, e);
            });
        }
        assertEquals(1, found.size());
        assertEquals(victim[1], found.get(0).offset(), "the first batch not wholly in the file");
        assertEquals(sealed, found.get(0).e().file());
        assertEquals(victim[0] + 70, found.get(0).e().position(), "where the file now ends");
        assertTrue(found.get(0).e().getMessage().contains("cut short while the node ran"), found.get(0).e().getMessage());
        // the offsets before the cut are served; from it on, the typed error
        long next = 0;
        while (next < victim[1]) {
            try (FetchSlice slice = log.read(next, 1 << 20, Long.MAX_VALUE)) {
                next = slice.nextOffset();
            }
        }
        assertEquals(victim[1], next);
        assertThrows(CorruptLogException.class, () -> log.read(victim[1], 1 << 20, Long.MAX_VALUE));
    }

    @Test
    void aReadThatMeetsTheCut_failsWithTheTypedError_atTheFirstBatchPastIt() throws IOException {
        PartitionLog log = fill(600);
        List<Long> bases = log.segmentBaseOffsets();
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        long[] victim = mapThenCut(log, sealed);
        List<Long> reported = new ArrayList<>();
        log.corruptReadListener((offset, e) -> {
            reported.add(offset);
            log.markCorruptFrom(offset, e);
        });

        CorruptLogException e = assertThrows(CorruptLogException.class, () -> log.read(victim[1], 1 << 20, Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("cut short while the node ran") && e.getMessage().contains(TP.toString()), e.getMessage());
        assertEquals(List.of(victim[1]), reported, "reported once, at the first batch past the cut");
        // what lies before the cut is still served, up to it
        try (FetchSlice slice = log.read(bases.get(1), 1 << 20, Long.MAX_VALUE)) {
            assertEquals(victim[1], slice.nextOffset());
            assertEquals(victim[1] - bases.get(1), TestBatches.decode(slice.records()).size());
        }
    }

    /**
     * Not a cut: a compaction swap renames a smaller copy over the segment's path while readers
     * still hold the old one (its mapped file lives on, whole), and retention deletes a file a
     * reader still maps. Neither may read as a cut file (that would report corruption).
     */
    @Test
    void aSwappedOrDeletedPath_isNotACut() throws IOException {
        Path file = dir.resolve(Segment.fileName(0));
        ByteBuffer batch = TestBatches.batch(List.of(new TestBatches.Rec(1, "k", "v".repeat(10_000))));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(batch.duplicate(), 0);
        }
        Segment seg = Segment.openSealed(FileLayer.DEFAULT, file, 0, batch.remaining());
        try {
            assertEquals(Long.MAX_VALUE, seg.onDiskSizeBytes(), "not mapped yet: nothing can fault");
            seg.mapping();
            assertEquals(batch.remaining(), seg.onDiskSizeBytes());
            Path copy = dir.resolve("copy");
            Files.write(copy, new byte[100]);
            Files.move(copy, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            assertEquals(Long.MAX_VALUE, seg.onDiskSizeBytes(), "another file at the path now");
            Segment.validateChecksum(seg.mapping(), 0, batch.remaining()); // the old file, whole
            Files.delete(file);
            assertEquals(Long.MAX_VALUE, seg.onDiskSizeBytes(), "deleted: the mapped file outlives its name");
        } finally {
            seg.close();
        }
    }

    /** The guard itself: the checksum reads a cut mapping through a copy the JVM guards (an error, not a crash). */
    @Test
    void theChecksumOfACutMapping_isAnError_notACrash() throws IOException {
        Path file = dir.resolve("loose.log");
        ByteBuffer batch = TestBatches.batch(List.of(new TestBatches.Rec(1, "k", "v".repeat(20_000))));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(batch.duplicate(), 0);
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, batch.remaining());
            Segment.validateChecksum(map, 0, batch.remaining()); // intact
            ch.truncate(100);
            assertThrows(InternalError.class, () -> Segment.validateChecksum(map, 0, batch.remaining()));
        }
    }
}

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Background scrubbing: a bit flipped on disk in a sealed segment of a running log is found by a
 * scrub pass (bounded by its byte budget), reported with partition, offset, file and byte; a log
 * that is its own only copy keeps serving the offsets before the corrupt batch and refuses the rest
 * with a typed error; a clean log scrubs without findings.
 */
class ScrubberTest {
    static final TopicPartition TP = new TopicPartition("scrubbed", 0);
    @TempDir
    Path dir;
    ManualClock clock = new ManualClock(1_000_000);
    LogConfig config = LogConfig.parse(Map.of(LogConfig.SEGMENT_BYTES, "4096"));
    LogManager manager;

    @AfterEach
    void close() {
        manager.close();
    }

    PartitionLog fill(int batches) {
        manager = LogManager.open(dir, config, clock, LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        return LogTestSupport.fillOneRecordBatches(manager, TP, config, batches, 60);
    }

    record Finding(long offset, CorruptLogException e) {
    }

    @Test
    void aCleanLogScrubsWithoutFindings_andPassesComplete() {
        fill(200);
        List<Finding> found = new ArrayList<>();
        manager.scrubNow(1 << 20, 1 << 20, (log, offset, e) -> found.add(new Finding(offset, e)));
        manager.scrubNow(1 << 20, 1, (log, offset, e) -> found.add(new Finding(offset, e)));
        assertTrue(found.isEmpty());
        assertTrue(manager.scrubProgress()[0] >= manager.get(TP).sizeBytes(), "every byte verified");
        assertTrue(manager.scrubProgress()[1] >= 1, "a pass completed");
    }

    @Test
    void aFlippedByteInASealedSegmentIsFound_andOnlyTheOffsetsBeforeItAreServed() throws IOException {
        PartitionLog log = fill(200);
        List<Long> bases = log.segmentBaseOffsets();
        assertTrue(bases.size() >= 3, "several segments: " + bases);
        Path sealed = log.directory().resolve(Segment.fileName(bases.get(1)));
        List<long[]> batches = LogTestSupport.batchPositions(sealed);
        long[] victim = batches.get(3);
        try (FileChannel ch = FileChannel.open(sealed, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, victim[2] - 5);
            b.put(0, (byte) (b.get(0) ^ 0x04)).rewind(); // one bit
            ch.write(b, victim[2] - 5);
        }
        List<Finding> found = new ArrayList<>();
        // a small budget per call: the scrubber resumes where it stopped
        for (int i = 0; i < 1000 && found.isEmpty(); i++) {
            manager.scrubNow(1 << 20, 512, (l, offset, e) -> {
                found.add(new Finding(offset, e));
                l.markCorruptFrom(offset, e);
            });
        }
        assertEquals(1, found.size());
        assertEquals(victim[1], found.get(0).offset());
        assertEquals(sealed, found.get(0).e().file());
        assertEquals(victim[0], found.get(0).e().position());
        assertEquals(1, manager.scrubProgress()[2]);
        // before the corrupt batch: served; at or after it: a typed error naming partition, offset, file and byte
        long next = 0;
        int served = 0;
        while (next < victim[1]) {
            try (FetchSlice slice = log.read(next, 1 << 20, Long.MAX_VALUE)) {
                served += TestBatches.decode(slice.records()).size();
                next = slice.nextOffset();
            }
        }
        assertEquals(victim[1], served);
        assertEquals(victim[1], next, "the last read stops right before the corrupt batch");
        CorruptLogException e = assertThrows(CorruptLogException.class, () -> log.read(victim[1], 1 << 20, Long.MAX_VALUE));
        assertTrue(e.getMessage().contains(TP.toString()) && e.getMessage().contains("from " + victim[1])
                && e.getMessage().contains(sealed.toString()) && e.getMessage().contains("byte " + victim[0]), e.getMessage());
        assertThrows(CorruptLogException.class, () -> log.read(victim[1] + 10, 1 << 20, Long.MAX_VALUE));
    }

    @Test
    void quarantineTakesTheLogOutUntilRepairedFully() throws IOException {
        PartitionLog log = fill(100);
        List<Long> bases = log.segmentBaseOffsets();
        Path first = log.directory().resolve(Segment.fileName(bases.get(0)));
        long[] victim = LogTestSupport.batchPositions(first).get(2);
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xee}), victim[2] - 3);
        }
        manager.scrubNow(1 << 20, 1 << 20, (l, offset, e) -> manager.quarantine(l.topicPartition(), e));
        assertEquals(java.util.Set.of(TP), manager.corruptPartitions());
        assertTrue(manager.offlinePartitions().containsKey(TP));
        PartitionLog repaired = manager.repairFully(TP, config);
        assertEquals(victim[1], repaired.logEndOffset());
        assertTrue(manager.offlinePartitions().isEmpty());
    }
}

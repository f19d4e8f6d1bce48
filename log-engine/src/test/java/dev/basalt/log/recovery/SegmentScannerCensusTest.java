package dev.basalt.log.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.testkit.TestBatches;
import dev.basalt.record.RecordBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link SegmentScanner#census} reports a cut drops when the header at the cut is damaged.
 * Reproduce with {@code ./mvnw -B -ntp -pl log-engine -am verify -Dtest=SegmentScannerCensusTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class SegmentScannerCensusTest {
    private static final int CAPACITY_BYTES = 64 << 20;

    @TempDir
    Path dir;

    /**
     * Found probing: a flipped magic byte in an active segment, mapped at its capacity, was
     * reported as "0 batches, 0 records, 1073674222 unparsable bytes": the whole preallocated file.
     * The unparsable bytes now end where the written data does.
     */
    @Test
    void aDamagedHeaderInAPreallocatedSegment_countsOnlyTheWrittenBytesAsUnparsable() throws IOException {
        Segment seg = Segment.createActive(FileLayer.DEFAULT, dir, 0, CAPACITY_BYTES);
        try {
            List<Integer> positions = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                ByteBuffer b = TestBatches.batch(List.of(new TestBatches.Rec(1, "k" + i, "value-".repeat(50) + i)));
                b.putLong(0, i); // base offset (outside the CRC)
                positions.add(seg.append(b));
            }
            int dataEnd = seg.sizeBytes();
            ByteBuffer map = seg.mapping(); // maps, and so grows the file to, the capacity
            assertEquals(CAPACITY_BYTES, map.capacity());
            int damaged = positions.get(10);
            try (FileChannel ch = FileChannel.open(seg.path(), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {(byte) (RecordBatch.MAGIC ^ 0x40)}), damaged + RecordBatch.MAGIC_OFFSET);
            }

            SegmentScanner.Census c = SegmentScanner.census(seg, damaged, CAPACITY_BYTES, 10);
            assertEquals(0, c.batches(), c.toString());
            assertTrue(c.unparsableBytes() >= dataEnd - damaged && c.unparsableBytes() < dataEnd - damaged + 4096,
                    "written bytes after the damage: " + (dataEnd - damaged) + ", reported: " + c);

            // Found probing: the loss was reported from the next segment's base (here 50) when the
            // cut's own header could not be walked; it starts at the cut's offset.
            assertEquals(10, c.firstOffset(), c.toString());
            assertTrue(c.toString().endsWith("unparsable bytes from offset 10"), c.toString());
            SegmentScanner.Census withLater = SegmentScanner.combine(c, new SegmentScanner.Census(5, 5, 50, 54, 0));
            assertEquals(10, withLater.firstOffset(), withLater.toString());
            assertEquals(54, withLater.lastOffset(), withLater.toString());
            assertTrue(withLater.toString().contains("offsets 10..54"), withLater.toString());

            // an undamaged cut counts the batches it drops and nothing unparsable
            SegmentScanner.Census whole = SegmentScanner.census(seg, positions.get(20), CAPACITY_BYTES, 20);
            assertEquals(20, whole.batches(), whole.toString());
            assertEquals(0, whole.unparsableBytes(), whole.toString());
        } finally {
            seg.close();
        }
    }
}

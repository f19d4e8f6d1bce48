package dev.basalt.log.recovery;

import dev.basalt.log.segment.Segment;
import dev.basalt.record.CorruptRecordException;
import dev.basalt.record.RecordBatch;
import java.nio.ByteBuffer;

/**
 * Walks the batches of one segment from a position, checking each fully (structure, magic,
 * CRC32C, offsets increasing from the previous batch) and stops at the first that fails: the end
 * of valid data. A zero header (preallocated space) ends the segment as well.
 *
 * <p>Thread-safety: not thread-safe; one scanner per recovering segment. No I/O beyond reading
 * the segment's mapping.
 */
public final class SegmentScanner {
    /** Receives every valid batch in order. */
    public interface BatchVisitor {
        void onBatch(RecordBatch batch, int position);
    }

    /** Where valid data ended and why. */
    public record ScanResult(int validBytes, long nextOffset, long maxTimestamp, String stopReason) {
        public boolean clean() {
            return stopReason == null;
        }
    }

    private SegmentScanner() {
    }

    /**
     * Scans [0, {@code limitBytes}) of {@code segment}.
     *
     * @param expectedNextOffset the lowest base offset the first batch may have
     */
    public static ScanResult scan(Segment segment, int limitBytes, long expectedNextOffset, BatchVisitor visitor) {
        ByteBuffer map = segment.mapping();
        int pos = 0;
        long next = Math.max(expectedNextOffset, segment.baseOffset());
        long maxTimestamp = Segment.UNKNOWN_TIMESTAMP;
        while (pos < limitBytes) {
            if (limitBytes - pos < RecordBatch.LOG_OVERHEAD_BYTES) {
                if (allZero(map, pos, limitBytes)) {
                    return new ScanResult(pos, next, maxTimestamp, "zero header (end of written data)");
                }
                return new ScanResult(pos, next, maxTimestamp, "truncated header, " + (limitBytes - pos) + " bytes left");
            }
            if (map.getLong(pos) == 0 && map.getInt(pos + RecordBatch.LENGTH_OFFSET) == 0) {
                return new ScanResult(pos, next, maxTimestamp, "zero header (end of written data)");
            }
            RecordBatch batch;
            try {
                batch = RecordBatch.wrap(map.slice(pos, limitBytes - pos));
                batch.validateChecksum();
            } catch (CorruptRecordException e) {
                return new ScanResult(pos, next, maxTimestamp, e.getMessage());
            }
            if (batch.baseOffset() < next || batch.lastOffsetDelta() < 0) {
                return new ScanResult(pos, next, maxTimestamp, "batch offsets [" + batch.baseOffset() + ", "
                        + batch.lastOffset() + "] do not follow offset " + next);
            }
            visitor.onBatch(batch, pos);
            maxTimestamp = Math.max(maxTimestamp, batch.maxTimestamp());
            next = batch.nextOffset();
            pos += batch.sizeInBytes();
        }
        return new ScanResult(pos, next, maxTimestamp, null);
    }

    private static boolean allZero(ByteBuffer map, int from, int to) {
        for (int i = from; i < to; i++) {
            if (map.get(i) != 0) {
                return false;
            }
        }
        return true;
    }
}

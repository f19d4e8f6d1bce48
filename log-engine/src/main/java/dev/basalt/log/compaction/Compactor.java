package dev.basalt.log.compaction;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.segment.SegmentFile;
import dev.basalt.record.Batches;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import dev.basalt.record.TimestampType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Log compaction's two pure steps (no locks, no threads; the log orchestrates and swaps):
 * <ol>
 * <li>{@link #buildOffsetMap}: the latest offset of every key over a run of sealed segments,
 *     bounded by a key count (a segment is covered only if all its keys fit, as in Kafka's
 *     cleaner, so a bounded map never drops a record it has not seen superseded);</li>
 * <li>{@link #rewrite}: copies a segment keeping records that are the latest for their key
 *     (records without a key and control batches are kept), dropping tombstones whose
 *     timestamp is more than delete.retention.ms before now. Each batch keeps its base offset,
 *     last offset delta, epoch, producer fields and attributes; surviving records keep their
 *     offsets (gaps inside and between batches). Batches with no survivor disappear.</li>
 * </ol>
 *
 * <p>Thread-safety: stateless; callers hold a reference on the segments they pass.
 */
public final class Compactor {
    private Compactor() {
    }

    /** Latest offset per key, and how many of the given segments (a prefix) it fully covers. */
    public record OffsetMap(Map<ByteBuffer, Long> latest, int segmentsCovered) {
        boolean isLatest(Record r) {
            Long off = latest.get(r.key());
            return off == null || off == r.offset();
        }
    }

    public static OffsetMap buildOffsetMap(List<Segment> segments, int keyCountMax) {
        Map<ByteBuffer, Long> latest = new HashMap<>();
        int covered = 0;
        for (Segment s : segments) {
            Map<ByteBuffer, Long> segmentKeys = new HashMap<>();
            ByteBuffer data = s.slice(0, s.sizeBytes());
            for (RecordBatch b : Batches.iterate(data)) {
                if (b.isControl()) {
                    continue;
                }
                for (Record r : b.records()) {
                    if (r.hasKey()) {
                        segmentKeys.put(ByteBuffer.wrap(r.keyBytes()), r.offset());
                    }
                }
            }
            int added = 0;
            for (ByteBuffer k : segmentKeys.keySet()) {
                if (!latest.containsKey(k)) {
                    added++;
                }
            }
            if (latest.size() + added > keyCountMax) {
                break;
            }
            latest.putAll(segmentKeys);
            covered++;
        }
        return new OffsetMap(latest, covered);
    }

    /**
     * Writes the compacted copy of {@code segment} to {@code out} and fsyncs it.
     *
     * @return the copy's size, or -1 (and no file) if compaction would remove nothing
     */
    public static int rewrite(Segment segment, OffsetMap map, long nowMs, long deleteRetentionMs, FileLayer files, Path out)
            throws IOException {
        ByteBuffer data = segment.slice(0, segment.sizeBytes());
        if (!removesAnything(data, map, nowMs, deleteRetentionMs)) {
            return -1;
        }
        int written = 0;
        try (SegmentFile f = files.open(out, true, true)) {
            f.truncate(0);
            for (RecordBatch b : Batches.iterate(data)) {
                ByteBuffer kept = compactBatch(b, map, nowMs, deleteRetentionMs);
                if (kept != null) {
                    int n = kept.remaining();
                    f.writeFully(kept, written);
                    written += n;
                }
            }
            f.force();
        }
        return written;
    }

    private static boolean removesAnything(ByteBuffer data, OffsetMap map, long nowMs, long deleteRetentionMs) {
        for (RecordBatch b : Batches.iterate(data)) {
            if (b.isControl()) {
                continue;
            }
            for (Record r : b.records()) {
                if (!keep(b, r, map, nowMs, deleteRetentionMs)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean keep(RecordBatch b, Record r, OffsetMap map, long nowMs, long deleteRetentionMs) {
        if (!r.hasKey()) {
            return true;
        }
        if (!map.isLatest(r)) {
            return false;
        }
        if (r.isTombstone()) {
            long ts = b.timestampType() == TimestampType.LOG_APPEND_TIME ? b.maxTimestamp() : r.timestamp();
            return nowMs - ts <= deleteRetentionMs;
        }
        return true;
    }

    /** The batch with only its surviving records, or the batch itself if all survive, or null if none. */
    static ByteBuffer compactBatch(RecordBatch b, OffsetMap map, long nowMs, long deleteRetentionMs) {
        if (b.isControl()) {
            return b.buffer();
        }
        int kept = 0;
        for (Record r : b.records()) {
            if (keep(b, r, map, nowMs, deleteRetentionMs)) {
                kept++;
            }
        }
        if (kept == b.recordCount()) {
            return b.buffer();
        }
        if (kept == 0) {
            return null;
        }
        ByteBuffer buf = ByteBuffer.allocate(b.sizeInBytes());
        RecordBatchBuilder builder = new RecordBatchBuilder(buf, b.firstTimestamp())
                .baseOffset(b.baseOffset())
                .partitionLeaderEpoch(b.partitionLeaderEpoch())
                .producer(b.producerId(), b.producerEpoch(), b.baseSequence())
                .timestampType(b.timestampType());
        for (Record r : b.records()) {
            if (keep(b, r, map, nowMs, deleteRetentionMs)) {
                builder.appendWithOffset(r.offset(), r.timestamp(), r.keyBytes(), r.valueBytes(), r.headers());
            }
        }
        ByteBuffer out = builder.build().buffer();
        // Keep the original attributes, last offset delta and max timestamp so the batch still
        // spans the same offsets (the next batch starts where it always did); then re-seal the CRC.
        out.putShort(RecordBatch.ATTRIBUTES_OFFSET, b.attributes());
        out.putInt(RecordBatch.LAST_OFFSET_DELTA_OFFSET, b.lastOffsetDelta());
        out.putLong(RecordBatch.MAX_TIMESTAMP_OFFSET, b.maxTimestamp());
        CRC32C crc = new CRC32C();
        crc.update(out.duplicate().position(RecordBatch.ATTRIBUTES_OFFSET));
        out.putInt(RecordBatch.CRC_OFFSET, (int) crc.getValue());
        return out;
    }
}

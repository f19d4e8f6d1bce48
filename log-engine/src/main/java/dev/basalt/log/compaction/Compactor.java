package dev.basalt.log.compaction;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.log.segment.SegmentFile;
import dev.basalt.record.Batches;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.Varint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Log compaction's two pure steps (no locks, no threads; the log orchestrates and swaps):
 * <ol>
 * <li>{@link #buildOffsetMap}: the latest offset of every key over a run of sealed segments,
 *     bounded by a key count (a segment is covered only if all its keys fit, as in Kafka's
 *     cleaner, so a bounded map never drops a record it has not seen superseded);</li>
 * <li>{@link #rewrite}: copies a segment keeping records that are the latest for their key
 *     (records without a key and control batches are kept). A tombstone that is the latest for
 *     its key is kept until its batch's delete horizon; the first pass that keeps it sets that
 *     horizon to the pass's time plus delete.retention.ms (as in Kafka's KIP-534: the countdown
 *     starts when the cleaner first meets the tombstone, not at the tombstone's own timestamp,
 *     which a producer's clock may have set far in the past), and only below the offset every
 *     replica of the partition holds (the replication layer tells the log). Each batch keeps its base offset,
 *     last offset delta, epoch, producer fields and attributes; surviving records keep their
 *     offsets (gaps inside and between batches). Batches with no survivor disappear.</li>
 * </ol>
 *
 * <p>Thread-safety: stateless; callers hold a reference on the segments they pass.
 */
public final class Compactor {
    /** The longest a zig-zag varlong can be. */
    private static final int VARLONG_SIZE_MAX_BYTES = 10;

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
     * A compacted copy of a segment.
     *
     * @param sizeBytes            its size
     * @param tombstonesRemovedEnd one past the highest offset of a tombstone it removed (a deletion
     *                             that a replica which has not fetched it can no longer learn); 0 if none
     */
    public record Rewritten(int sizeBytes, long tombstonesRemovedEnd) {
    }

    /**
     * What the tombstones one pass keeps ask of the passes after it (see {@link CleaningGate}):
     * the earliest delete horizon still ahead, and the lowest offset of a tombstone past its
     * horizon that was kept only because not every replica held it. Accumulated over the
     * segments of one pass; not thread-safe.
     */
    public static final class TombstoneSchedule {
        private long dueMs = Long.MAX_VALUE;
        private long heldFromOffset = Long.MAX_VALUE;

        public long dueMs() {
            return dueMs;
        }

        public long heldFromOffset() {
            return heldFromOffset;
        }

        /** A tombstone at or above {@code offset} is still to be removed once every replica holds it. */
        public void hold(long offset) {
            heldFromOffset = Math.min(heldFromOffset, offset);
        }

        void due(long horizonMs) {
            dueMs = Math.min(dueMs, horizonMs);
        }
    }

    /**
     * Writes the compacted copy of {@code segment} to {@code out} and fsyncs it.
     *
     * @return the copy, or null (and no file) if compaction would change nothing: no record to
     *         remove and no tombstone whose delete horizon is still to be set
     */
    public static Rewritten rewrite(Segment segment, OffsetMap map, long nowMs, long deleteRetentionMs,
                                    long tombstoneBoundOffset, FileLayer files, Path out) throws IOException {
        return rewrite(segment, map, nowMs, deleteRetentionMs, tombstoneBoundOffset, files, out, new TombstoneSchedule());
    }

    /** As above, adding what the tombstones it keeps ask of later passes to {@code schedule}. */
    public static Rewritten rewrite(Segment segment, OffsetMap map, long nowMs, long deleteRetentionMs,
                                    long tombstoneBoundOffset, FileLayer files, Path out, TombstoneSchedule schedule)
            throws IOException {
        Rules rules = new Rules(map, nowMs, tombstoneBoundOffset);
        ByteBuffer data = segment.slice(0, segment.sizeBytes());
        if (!scan(data, rules, deleteRetentionMs, schedule)) {
            return null;
        }
        long written = 0;
        long[] removedEnd = {0};
        try (SegmentFile f = files.open(out, true, true)) {
            f.truncate(0);
            for (RecordBatch b : Batches.iterate(data)) {
                ByteBuffer kept = compactBatch(b, rules, deleteRetentionMs, removedEnd);
                if (kept != null) {
                    int n = kept.remaining();
                    if (written + n > Integer.MAX_VALUE) {
                        // setting horizons re-encodes timestamp deltas, which can grow a segment
                        throw new IOException("the compacted copy of " + segment.path() + " would pass 2 GiB (a segment of"
                                + " tiny tombstones near that size); lower segment.bytes");
                    }
                    f.writeFully(kept, written);
                    written += n;
                }
            }
            f.force();
        }
        return new Rewritten((int) written, removedEnd[0]);
    }

    /**
     * Whether the pass changes anything in {@code data}; adds when each tombstone it keeps is due
     * to {@code schedule}: its batch's horizon (the one this pass sets if it has none), or, past
     * it, its offset as held for a replica that lacks it.
     */
    private static boolean scan(ByteBuffer data, Rules rules, long deleteRetentionMs, TombstoneSchedule schedule) {
        boolean changes = false;
        for (RecordBatch b : Batches.iterate(data)) {
            if (b.isControl()) {
                continue;
            }
            changes |= changes(b, rules);
            for (Record r : b.records()) {
                if (!isTombstone(r) || !rules.keep(b, r)) {
                    continue;
                }
                if (!b.hasDeleteHorizon()) {
                    schedule.due(deleteHorizonMs(rules.nowMs(), deleteRetentionMs));
                } else if (rules.nowMs() < b.deleteHorizonMs()) {
                    schedule.due(b.deleteHorizonMs());
                } else {
                    schedule.hold(r.offset());
                }
            }
        }
        return changes;
    }

    /** Whether the pass removes a record of {@code b} or must set its delete horizon. */
    private static boolean changes(RecordBatch b, Rules rules) {
        for (Record r : b.records()) {
            if (!rules.keep(b, r) || (isTombstone(r) && !b.hasDeleteHorizon())) {
                return true;
            }
        }
        return false;
    }

    /** A keyed record with a null value: it deletes its key. A null value without a key deletes nothing. */
    private static boolean isTombstone(Record r) {
        return r.hasKey() && r.isTombstone();
    }

    /**
     * What one pass keeps. Keyless records, and the latest record of each key; a latest record
     * that is a tombstone is kept until its batch's delete horizon, which the first pass that
     * keeps it sets (so a tombstone lives at least delete.retention.ms after the cleaner first met
     * it, whatever its own timestamp says: a producer's skewed clock cannot make it vanish at
     * once), and while it is at or above {@code tombstoneBoundOffset}: not yet held by every
     * replica of the partition (a replica that was away would never see the deletion, and would
     * keep the deleted value for good).
     *
     * @param tombstoneBoundOffset every replica holds the offsets below this (Long.MAX_VALUE: no bound)
     */
    record Rules(OffsetMap map, long nowMs, long tombstoneBoundOffset) {
        /** Whether dropping {@code r} removes a deletion: it is the latest record of its key, and a tombstone. */
        boolean isLatestTombstone(Record r) {
            return isTombstone(r) && map.isLatest(r);
        }

        boolean keep(RecordBatch b, Record r) {
            if (!r.hasKey()) {
                return true;
            }
            if (!map.isLatest(r)) {
                return false;
            }
            return !r.isTombstone() || nowMs < b.deleteHorizonMs() || r.offset() >= tombstoneBoundOffset;
        }
    }

    /** The horizon a pass at {@code nowMs} sets: now + delete.retention.ms, saturating. */
    static long deleteHorizonMs(long nowMs, long deleteRetentionMs) {
        long h = nowMs + deleteRetentionMs;
        return ((nowMs ^ h) & (deleteRetentionMs ^ h)) < 0 ? Long.MAX_VALUE : h;
    }

    /**
     * The batch with only its surviving records (and its delete horizon set if a tombstone
     * survives and it had none), or the batch itself if nothing changes, or null if no record
     * survives.
     *
     * <p>The copy is byte for byte: the header keeps every field (base offset, epoch, last offset
     * delta, max timestamp, producer fields, attributes, plus the horizon bit), and each kept
     * record keeps its bytes from the offset delta on (key, value and headers exactly as the
     * producer wrote them, even a header key that is not valid UTF-8); only its length and, when
     * the horizon is set, its timestamp delta (now relative to the horizon, so its timestamp is
     * unchanged) are written anew. Then the CRC is sealed again.
     */
    static ByteBuffer compactBatch(RecordBatch b, Rules rules, long deleteRetentionMs) {
        return compactBatch(b, rules, deleteRetentionMs, new long[1]);
    }

    /** As above; raises {@code removedEnd[0]} to one past each latest tombstone it drops. */
    static ByteBuffer compactBatch(RecordBatch b, Rules rules, long deleteRetentionMs, long[] removedEnd) {
        if (b.isControl()) {
            return b.buffer();
        }
        int recordCount = b.recordCount();
        boolean[] keep = new boolean[recordCount];
        int kept = 0;
        boolean keptTombstone = false;
        int i = 0;
        for (Record r : b.records()) {
            if (rules.keep(b, r)) {
                keep[i] = true;
                kept++;
                keptTombstone |= isTombstone(r);
            } else if (rules.isLatestTombstone(r)) {
                removedEnd[0] = Math.max(removedEnd[0], r.offset() + 1);
            }
            i++;
        }
        boolean setHorizon = keptTombstone && !b.hasDeleteHorizon();
        if (kept == recordCount && !setHorizon) {
            return b.buffer();
        }
        if (kept == 0) {
            return null;
        }
        long oldBase = b.firstTimestamp();
        long newBase = setHorizon ? deleteHorizonMs(rules.nowMs(), deleteRetentionMs) : oldBase;
        // A timestamp delta may grow to a 10-byte varlong, and its record's length varint by a byte.
        ByteBuffer out = ByteBuffer.allocate(b.sizeInBytes() + (setHorizon ? kept * (VARLONG_SIZE_MAX_BYTES + 1) : 0));
        ByteBuffer in = b.buffer();
        out.put(in.duplicate().limit(RecordBatch.RECORDS_OFFSET));
        in.position(RecordBatch.RECORDS_OFFSET);
        for (i = 0; i < recordCount; i++) {
            int length = Varint.readInt(in);
            int end = in.position() + length;
            byte attributes = in.get();
            long timestampDelta = Varint.readLong(in);
            int restPos = in.position();
            in.position(end);
            if (!keep[i]) {
                continue;
            }
            long newDelta = oldBase + timestampDelta - newBase; // wraps like the reader's addition: exact
            int restLen = end - restPos;
            Varint.writeInt(1 + Varint.sizeOfLong(newDelta) + restLen, out);
            out.put(attributes);
            Varint.writeLong(newDelta, out);
            out.put(in.duplicate().position(restPos).limit(end));
        }
        out.flip();
        out.putInt(RecordBatch.LENGTH_OFFSET, out.limit() - RecordBatch.LOG_OVERHEAD_BYTES);
        out.putShort(RecordBatch.ATTRIBUTES_OFFSET,
                setHorizon ? (short) (b.attributes() | RecordBatch.DELETE_HORIZON_MASK) : b.attributes());
        out.putLong(RecordBatch.FIRST_TIMESTAMP_OFFSET, newBase);
        out.putInt(RecordBatch.RECORD_COUNT_OFFSET, kept);
        out.putInt(RecordBatch.CRC_OFFSET, (int) RecordBatch.wrap(out).computeCrc());
        return out;
    }
}

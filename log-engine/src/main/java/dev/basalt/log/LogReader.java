package dev.basalt.log;

import dev.basalt.log.index.IndexStore;
import dev.basalt.log.segment.Segment;
import dev.basalt.record.Batches;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.TimestampType;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The read path of one partition log: finds the batch holding an offset (read hints, then the
 * RocksDB offset index, then a header scan), hands out whole batches as a view of one segment's
 * mapping, and answers reads by timestamp.
 *
 * <p>Thread-safety: thread-safe and lock-free. Each read works on a snapshot of the log's bounds
 * (start, end, high watermark) and pins the segment it returns a view of; if a truncation or a
 * segment swap races it, the attempt is retried on the newer list. The owner calls
 * {@link #truncated()} under its append lock once a truncation is done, which voids every read
 * hint taken by a read that began before it.
 */
final class LogReader {
    /** A read retries this often if segments are swapped under it (each retry sees a newer list). */
    private static final int READ_ATTEMPTS_MAX = 16;
    /** Read ends remembered for sequential readers (a consumer, a follower, a few of each). */
    static final int READ_HINTS = 8;

    /** What the reader needs to know of the log it reads; every call is a volatile read. */
    interface Bounds {
        long logStartOffset();

        long logEndOffset();

        long highWatermark();

        boolean isClosed();

        /** The log has no gaps: each batch must start where the previous one ended (see PartitionLog#gapsPossible). */
        default boolean contiguous() {
            return false;
        }

        /** The leader epoch the log's epoch cache names for {@code offset}, -1 if none (lock-free). */
        default int epochAt(long offset) {
            return -1;
        }

        /**
         * Under the log's lock: whether a batch of {@code seg} at {@code baseOffset} whose epoch field
         * reads {@code batchEpoch} contradicts the epoch cache, with no truncation since the read
         * began ({@code truncationsAtStart} of this reader) and {@code seg} still in the log. False
         * means the log changed under the read (or an append had not yet recorded its epoch).
         */
        default boolean epochContradicts(Segment seg, long baseOffset, int batchEpoch, long truncationsAtStart) {
            return false;
        }

        /**
         * Under the log's lock (so a truncation in progress has finished): whether no truncation
         * completed since this reader's count was {@code truncationsAtStart} and the log is open.
         * A read that met damaged bytes reports them only then: a truncation zeroes the bytes it
         * cuts before it publishes the new end, and a read in between meets zeros.
         */
        default boolean unchangedSince(long truncationsAtStart) {
            return true;
        }

        /**
         * Under the log's lock: whether {@code offset} is missing from a log without gaps (a read
         * found no segment holding it, the next one starting past it), with no truncation since the
         * read began, the log still starting at or below it and ending after it, and {@code next}
         * (the segment found instead) still in the log. False: the log changed under the read.
         */
        default boolean offsetMissing(long offset, Segment next, long truncationsAtStart) {
            return false;
        }
    }

    private final TopicPartition tp;
    private final LogSegments segments;
    private final IndexStore index;
    private final long partitionId;
    private final Bounds bounds;
    /**
     * Where recent reads ended: the next read of a sequential reader starts there without an
     * index lookup (a RocksDB seek per partition per fetch otherwise). Hints are only hints: a
     * hint is used when it names the very segment object being read and the bytes at its
     * position still hold a batch starting at its offset, so a truncation, compaction or segment
     * swap since it was taken makes it miss, never mislead.
     */
    private final AtomicReferenceArray<ReadHint> readHints = new AtomicReferenceArray<>(READ_HINTS);
    private final AtomicInteger readHintNext = new AtomicInteger();
    /** Counts truncations, bumped once one is done: a hint taken by a read that began before is void. */
    private volatile long truncations;

    /** The next batch of {@code segment} at or after {@code offset} starts at {@code position}. */
    private record ReadHint(Segment segment, long offset, int position, long truncations) {
    }

    LogReader(TopicPartition tp, LogSegments segments, IndexStore index, long partitionId, Bounds bounds) {
        this.tp = tp;
        this.segments = segments;
        this.index = index;
        this.partitionId = partitionId;
        this.bounds = bounds;
    }

    /** A truncation is complete; only the log's append lock holder calls this. */
    void truncated() {
        truncations++; // single writer (the append lock); volatile for the readers
    }

    /** Truncations completed so far (see {@link Bounds#epochContradicts}). */
    long truncations() {
        return truncations;
    }

    /** See {@link PartitionLog#read}. */
    FetchSlice read(long startOffset, int maxBytes, long maxOffsetExclusive) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes " + maxBytes + " < 0");
        }
        for (int attempt = 0; attempt < READ_ATTEMPTS_MAX; attempt++) {
            ensureOpen();
            long end = bounds.logEndOffset();
            long start = bounds.logStartOffset();
            long hw = bounds.highWatermark();
            if (startOffset < start || startOffset > end) {
                throw new OffsetOutOfRangeException(tp, startOffset, start, end);
            }
            long limit = Math.min(end, maxOffsetExclusive);
            if (startOffset >= limit) {
                return FetchSlice.empty(startOffset, start, end, hw);
            }
            FetchSlice slice;
            long truncationsBefore = truncations;
            try {
                slice = tryRead(startOffset, maxBytes, limit, start, end, hw);
            } catch (CorruptLogException e) {
                if (bounds.logEndOffset() == end && bounds.logStartOffset() == start && !bounds.isClosed()
                        && bounds.unchangedSince(truncationsBefore)) {
                    throw e;
                }
                continue; // a truncation zeroed bytes under this read: retry on the new log
            }
            if (slice != null) {
                return slice;
            }
        }
        throw new IllegalStateException("read of " + tp + " at " + startOffset + " kept racing segment swaps");
    }

    /**
     * A fault reading {@code seg}'s mapping (the JVM's InternalError for SIGBUS) where the file is
     * now shorter than its batches: it was cut while the node ran, and the offsets from the first
     * batch past the cut are corrupt (reported like any corrupt batch, so only this partition
     * stops serving them). Found probing: the error escaped and killed request threads. Any other
     * InternalError is rethrown.
     */
    static CorruptBatchException cutUnderRead(TopicPartition tp, Segment seg, InternalError e) {
        long onDisk = seg.onDiskSizeBytes();
        if (onDisk >= seg.sizeBytes()) {
            throw e;
        }
        CorruptBatchException c = cutShort(tp, seg, onDisk, seg.firstOffsetPast(onDisk));
        c.addSuppressed(e);
        return c;
    }

    private static CorruptBatchException cutShort(TopicPartition tp, Segment seg, long onDisk, long cutAt) {
        return new CorruptBatchException(tp, cutAt, seg.path(), onDisk, seg.cutWhileRunning(onDisk));
    }

    private void ensureOpen() {
        if (bounds.isClosed()) {
            throw new UnknownPartitionException(tp);
        }
    }

    /** One attempt; null if a segment was destroyed under it (the caller retries with a fresh view). */
    private FetchSlice tryRead(long startOffset, int maxBytes, long limit, long start, long end, long hw) {
        long truncationsAtStart = truncations;
        Map.Entry<Long, Segment> entry = segments.floorEntry(startOffset);
        if (entry == null) {
            entry = segments.firstEntry();
        }
        while (entry != null && entry.getKey() < limit) {
            Segment seg = entry.getValue();
            if (seg.baseOffset() > startOffset && bounds.contiguous() && bounds.offsetMissing(startOffset, seg, truncationsAtStart)) {
                // No segment holds the offset and the next starts past it: in a log without gaps a
                // segment file is missing, or one was cut short (the files changed while the node
                // was stopped). Not served as if the later offsets followed.
                throw new CorruptBatchException(tp, startOffset, seg.path(), 0, "offsets " + startOffset + ".."
                        + (seg.baseOffset() - 1) + " are in no segment of a log without gaps (a segment file missing or cut short)");
            }
            if (!seg.retain()) {
                return null;
            }
            boolean handedOut = false;
            try {
                int size = seg.sizeBytes();
                long readLimit = limit;
                // One size query per read: bytes past the end of a file cut under the running node
                // (an outside truncate) fault whoever touches them, here or on a transport thread
                // copying the slice. The read stops before the first batch not wholly in the file,
                // and a read from there fails with the typed error (reported as corruption).
                long onDisk = seg.onDiskSizeBytes();
                if (onDisk < size) {
                    long cutAt = seg.firstOffsetPast(onDisk);
                    if (startOffset >= cutAt) {
                        throw cutShort(tp, seg, onDisk, cutAt);
                    }
                    size = (int) onDisk;
                    readLimit = Math.min(limit, cutAt);
                }
                int pos = locate(seg, size, startOffset);
                if (pos >= 0) {
                    FetchSlice s = collect(seg, size, pos, maxBytes, readLimit, startOffset, start, end, hw, truncationsAtStart);
                    handedOut = !s.isEmpty();
                    return s;
                }
            } catch (InternalError e) {
                throw cutUnderRead(tp, seg, e);
            } finally {
                if (!handedOut) {
                    seg.release();
                }
            }
            Map.Entry<Long, Segment> following = segments.higherEntry(entry.getKey());
            if (segments.get(seg.baseOffset()) != seg) {
                // The list changed under the read: a merge (PartitionLog.mergeGroup) puts the merged
                // segment in this one's place, then removes the segments it took in, so the entry
                // after an old view of it may already lie past records the merged one holds.
                // Checked after the lookup (the merge's put comes before its removals): look again.
                return null;
            }
            entry = following;
        }
        return FetchSlice.empty(startOffset, start, end, hw);
    }

    private FetchSlice collect(Segment seg, int size, int pos, int maxBytes, long limit, long startOffset, long start,
                               long end, long hw, long truncationsAtStart) {
        ByteBuffer map = seg.mapping();
        int cursor = pos;
        long next = startOffset;
        int prev = -1; // the batch before cursor, and where the offsets stood before it
        long prevNext = startOffset;
        boolean contiguous = bounds.contiguous();
        while (cursor < size) {
            String badHeader = null;
            try {
                checkHeader(seg, map, cursor, size);
                if (map.get(cursor + RecordBatch.MAGIC_OFFSET) != RecordBatch.MAGIC) {
                    badHeader = "batch magic " + map.get(cursor + RecordBatch.MAGIC_OFFSET) + " is not " + RecordBatch.MAGIC;
                }
            } catch (CorruptLogException e) {
                badHeader = e.getMessage();
            }
            if (badHeader != null) {
                if (cursor > pos) {
                    // serve the good batches before it; the next read, starting there, fails
                    cursor = endBeforeBadHeader(seg, map, pos, prev, cursor);
                    next = cursor == prev ? prevNext : next;
                    break;
                }
                throw new CorruptBatchException(tp, startOffset, seg.path(), cursor, badHeader);
            }
            long base = Segment.baseOffsetAt(map, cursor);
            if (cursor > pos && base < next) {
                // Offsets never go back, gaps or not (a damaged base offset: the CRC does not cover
                // it). Serve the batches before it; the next read, starting at `next`, meets it in locate.
                cursor = endBeforeBadHeader(seg, map, pos, prev, cursor);
                next = cursor == prev ? prevNext : next;
                break;
            }
            if (contiguous && (cursor == pos ? seg.baseOffset() <= startOffset && base > startOffset : base != next)) {
                // Without gaps the batch holding the asked offset starts at or before it, and each
                // later one where the previous ended: a base offset is outside the CRC. (A read
                // that moved on to a later segment is judged in tryRead, under the lock.)
                long expected = cursor == pos ? startOffset : next;
                if (truncations != truncationsAtStart) {
                    break; // truncated under the read: not corruption
                }
                if (cursor > pos) {
                    // serve the good batches before it; the next read, starting there, fails
                    cursor = endBeforeBadHeader(seg, map, pos, prev, cursor);
                    next = cursor == prev ? prevNext : next;
                    break;
                }
                throw new CorruptBatchException(tp, expected, seg.path(), cursor, "batch base offset " + base + " where offset "
                        + expected + " was expected in a log without gaps (a damaged base offset: the CRC does not cover it)");
            }
            if (base >= limit || Segment.lastOffsetAt(map, cursor) >= limit) {
                break;
            }
            int batchBytes = Segment.batchSizeAt(map, cursor);
            if (cursor > pos && cursor + batchBytes - pos > maxBytes) {
                break;
            }
            if (cursor + batchBytes > seg.verifiedBytes()) {
                CorruptBatchException bad = verify(seg, map, cursor, batchBytes, truncationsAtStart);
                if (bad == CHANGED_UNDER_READ) {
                    break; // serve what came before; the next read judges afresh
                }
                if (bad != null) {
                    if (cursor > pos) {
                        break; // serve the good batches before it; the next read, starting at it, fails
                    }
                    throw bad;
                }
            }
            prev = cursor;
            prevNext = next;
            next = Segment.lastOffsetAt(map, cursor) + 1;
            cursor += batchBytes;
        }
        if (cursor == pos) {
            return FetchSlice.empty(startOffset, start, end, hw);
        }
        rememberReadEnd(seg, startOffset, next, cursor, truncationsAtStart);
        return new FetchSlice(seg.slice(pos, cursor - pos), next, start, end, hw, seg);
    }

    /**
     * The header at {@code cursor} is wrong, after the batch at {@code prev} (verified earlier, so
     * served without a CRC check): that batch's own length field, which led here, may be what was
     * damaged since (found probing: a length flipped under a running leader was served to every
     * consumer, which failed on its CRC, and nothing on the broker noticed). Its CRC is checked
     * now: intact, the read ends at {@code cursor}; damaged, it ends before that batch, or, when it
     * is the read's first batch, the damage is thrown (and reported, like any finding).
     */
    private int endBeforeBadHeader(Segment seg, ByteBuffer map, int pos, int prev, int cursor) {
        if (prev < 0) {
            return cursor;
        }
        try {
            Segment.validateChecksum(map, prev, cursor - prev);
            return cursor;
        } catch (dev.basalt.record.CorruptRecordException e) {
            if (prev == pos) {
                throw new CorruptBatchException(tp, Segment.baseOffsetAt(map, prev), seg.path(), prev, e.getMessage()
                        + " (its length field leads to no batch: damaged after it was first verified)");
            }
            return prev;
        }
    }

    /**
     * The position of the closest remembered batch start at or below {@code target} in this
     * segment, or -1. Scanning forward from there finds the target: every batch before it ends
     * below its base offset, which is at most the target.
     */
    private int hintedPosition(Segment seg, ByteBuffer map, int size, long target) {
        int best = -1;
        long bestOffset = Long.MIN_VALUE;
        for (int i = 0; i < READ_HINTS; i++) {
            ReadHint h = readHints.get(i);
            if (h != null && h.segment() == seg && h.truncations() == truncations && h.offset() <= target && h.offset() > bestOffset
                    && batchStartsAt(map, size, h.position(), h.offset())) {
                best = h.position();
                bestOffset = h.offset();
            }
        }
        return best;
    }

    /** True if a batch header fits at {@code position} of a segment of {@code size} bytes and its base offset is {@code offset}. */
    private static boolean batchStartsAt(ByteBuffer map, int size, int position, long offset) {
        return position >= 0 && position <= size - RecordBatch.HEADER_SIZE_BYTES && Segment.baseOffsetAt(map, position) == offset;
    }

    /**
     * Remembers where a read from {@code from} ended: the batch starting at {@code nextOffset} is
     * (or, at the end of the log, will be) at {@code position}. Replaces the hint that read
     * started from, so that one sequential reader keeps one slot.
     */
    private void rememberReadEnd(Segment seg, long from, long nextOffset, int position, long truncationsAtStart) {
        ReadHint hint = new ReadHint(seg, nextOffset, position, truncationsAtStart);
        for (int i = 0; i < READ_HINTS; i++) {
            ReadHint h = readHints.get(i);
            if (h != null && h.segment() == seg && h.offset() == from) {
                readHints.compareAndSet(i, h, hint);
                return;
            }
        }
        readHints.set(Math.floorMod(readHintNext.getAndIncrement(), READ_HINTS), hint);
    }

    /**
     * A batch the log holds fails its CRC (or its checks) on a read: nothing from it on is served.
     * Names the partition, the batch's offset, the file and the byte position.
     */
    static final class CorruptBatchException extends CorruptLogException {
        private static final long serialVersionUID = 1L;
        private final long offset;

        CorruptBatchException(TopicPartition tp, long offset, java.nio.file.Path file, long position, String why) {
            super(file, position, tp + " batch at offset " + offset + " is corrupt (" + why + "); it and what follows are not served");
            this.offset = offset;
        }

        long offset() {
            return offset;
        }
    }

    /** What {@link #verify} answers when the log changed under the read: neither good nor corrupt. */
    private static final CorruptBatchException CHANGED_UNDER_READ =
            new CorruptBatchException(new TopicPartition("-", 0), -1, java.nio.file.Path.of("-"), -1, "changed under the read");

    /**
     * Verifies the batch at {@code pos} (extending the segment's verified prefix): its CRC, and its
     * leader epoch against the log's epoch cache (the epoch field is outside the CRC; a damaged one
     * passed on to a follower would put a false epoch in its cache, and one older than the truth
     * makes it refuse every later batch). The failure, {@link #CHANGED_UNDER_READ}, or null.
     */
    private CorruptBatchException verify(Segment seg, ByteBuffer map, int pos, int batchBytes, long truncationsAtStart) {
        long base = Segment.baseOffsetAt(map, pos);
        try {
            Segment.validateChecksum(map, pos, batchBytes);
        } catch (dev.basalt.record.CorruptRecordException e) {
            return new CorruptBatchException(tp, base, seg.path(), pos, e.getMessage());
        }
        int batchEpoch = map.getInt(pos + RecordBatch.PARTITION_LEADER_EPOCH_OFFSET);
        int logEpoch = batchEpoch < 0 ? -1 : bounds.epochAt(base);
        if (logEpoch >= 0 && logEpoch != batchEpoch) {
            if (!bounds.epochContradicts(seg, base, batchEpoch, truncationsAtStart)) {
                return CHANGED_UNDER_READ;
            }
            return new CorruptBatchException(tp, base, seg.path(), pos, "leader epoch " + batchEpoch + " where the log's epoch for"
                    + " offset " + base + " is " + logEpoch + " (a damaged epoch field: the CRC does not cover it)");
        }
        seg.verified(pos, pos + batchBytes);
        return null;
    }

    /** Checks that a whole batch header, and a length that fits the segment, start at {@code pos}. */
    static void checkHeader(Segment seg, ByteBuffer map, int pos, int size) {
        if (size - pos < RecordBatch.HEADER_SIZE_BYTES) {
            throw new CorruptLogException(seg.path(), pos, "batch header truncated at segment end " + size);
        }
        int batchBytes = Segment.batchSizeAt(map, pos);
        if (batchBytes < RecordBatch.HEADER_SIZE_BYTES || batchBytes > size - pos) {
            throw new CorruptLogException(seg.path(), pos, "batch length " + batchBytes + " impossible before segment end " + size);
        }
    }

    /**
     * Position of the first batch of {@code seg} whose last offset is ≥ {@code target}, or -1.
     * Seeks the floor index entry (checking it really names a batch of this segment at that
     * offset: the pair assertion of STYLE §4), then scans headers forward. The caller has
     * retained {@code seg}.
     */
    int locate(Segment seg, int size, long target) {
        ByteBuffer map = seg.mapping();
        int pos = hintedPosition(seg, map, size, target);
        long known; // the first offset the batch at pos may hold: where the one before it ended
        if (pos >= 0) {
            known = Segment.baseOffsetAt(map, pos);
        } else {
            pos = 0;
            known = seg.baseOffset();
            IndexStore.OffsetPosition e = index.floorOffset(partitionId, target);
            if (e != null && e.segmentBase() == seg.baseOffset() && batchStartsAt(map, size, e.position(), e.offset())) {
                pos = e.position();
                known = e.offset();
            }
        }
        while (pos < size) {
            try {
                checkHeader(seg, map, pos, size);
            } catch (CorruptLogException e) {
                // An impossible length or a header cut off by the file's end: nothing from here on
                // can be found. Reported (as a corrupt batch) like a CRC failure.
                throw new CorruptBatchException(tp, Math.min(known, target), seg.path(), pos, e.getMessage());
            }
            if (Segment.baseOffsetAt(map, pos) < known) {
                throw new CorruptBatchException(tp, Math.min(known, target), seg.path(), pos, "batch base offset "
                        + Segment.baseOffsetAt(map, pos) + " below offset " + known + ", where the batch before it ended (offsets"
                        + " never go back; a damaged base offset: the CRC does not cover it)");
            }
            if (Segment.lastOffsetAt(map, pos) >= target) {
                return pos;
            }
            known = Segment.lastOffsetAt(map, pos) + 1;
            pos += Segment.batchSizeAt(map, pos);
        }
        return -1;
    }

    /** See {@link PartitionLog#offsetForTimestamp}. */
    Optional<TimestampOffset> offsetForTimestamp(long timestampMs) {
        ensureOpen();
        IndexStore.TimeEntry floor = timestampMs == Long.MIN_VALUE ? null : index.floorTime(partitionId, timestampMs - 1);
        long from = Math.max(bounds.logStartOffset(), floor == null ? 0 : floor.offset());
        long end = bounds.logEndOffset();
        while (from < end) {
            try (FetchSlice slice = read(from, 1 << 20, end)) {
                if (slice.isEmpty()) {
                    return Optional.empty();
                }
                for (RecordBatch b : Batches.iterate(slice.records())) {
                    if (b.maxTimestamp() < timestampMs) {
                        continue;
                    }
                    Optional<TimestampOffset> hit = firstAtOrAfter(b, timestampMs, from);
                    if (hit.isPresent()) {
                        return hit;
                    }
                }
                from = slice.nextOffset();
            }
        }
        return Optional.empty();
    }

    private static Optional<TimestampOffset> firstAtOrAfter(RecordBatch b, long timestampMs, long minOffset) {
        if (b.timestampType() == TimestampType.LOG_APPEND_TIME) {
            return Optional.of(new TimestampOffset(b.maxTimestamp(), Math.max(b.baseOffset(), minOffset)));
        }
        for (Record r : b.records()) {
            if (r.offset() >= minOffset && r.timestamp() >= timestampMs) {
                return Optional.of(new TimestampOffset(r.timestamp(), r.offset()));
            }
        }
        return Optional.empty();
    }
}

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
        return scan(segment, limitBytes, expectedNextOffset, false, visitor);
    }

    /**
     * As above; {@code contiguous}: the log has no gaps (PartitionState's gapsPossible is false), so
     * every batch must start where the previous one ended. A base offset is outside the batch's CRC:
     * this is what catches a flipped bit there. (Whether the segment itself starts where the one
     * before ended is the caller's question: see Recovery.)
     */
    public static ScanResult scan(Segment segment, int limitBytes, long expectedNextOffset, boolean contiguous, BatchVisitor visitor) {
        return scan(segment, limitBytes, expectedNextOffset, contiguous, b -> null, visitor);
    }

    /**
     * As above; {@code check} judges each batch that passed the built-in checks and returns why it
     * is invalid, or null: the scan stops there as at any other bad batch.
     */
    public static ScanResult scan(Segment segment, int limitBytes, long expectedNextOffset, boolean contiguous,
                                  java.util.function.Function<RecordBatch, String> check, BatchVisitor visitor) {
        return scan(segment, limitBytes, expectedNextOffset, contiguous, Long.MAX_VALUE, check, visitor);
    }

    /**
     * As above; {@code offsetLimit}: where the next segment starts (its file's base offset), which
     * no offset of this segment reaches ({@link Long#MAX_VALUE} for the last segment).
     *
     * <p>A base offset is outside the batch's CRC. In a log that may have gaps (or whose gap state
     * was lost with its index) a damaged one that jumps ahead still "follows" the batch before it;
     * the batch after it then seems to go back, and was blamed (found probing: a repair without
     * the index kept the damaged batch and left the log ending at offset 281474976664000). So a
     * batch that jumps ahead is refused when the valid batch after it disagrees with it and the
     * evidence points at it ({@link #damagedJump}), or when it reaches {@code offsetLimit}. In a
     * valid log every later batch starts above an earlier one's last offset, and no batch reaches
     * the next file's base offset: neither check refuses one.
     */
    public static ScanResult scan(Segment segment, int limitBytes, long expectedNextOffset, boolean contiguous, long offsetLimit,
                                  java.util.function.Function<RecordBatch, String> check, BatchVisitor visitor) {
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
                // over heap copies: a file cut under the scan (the offline check beside a running
                // node) then faults as an InternalError, not a crash of the process in the CRC intrinsic
                Segment.validateChecksum(map, pos, batch.sizeInBytes());
            } catch (CorruptRecordException e) {
                return new ScanResult(pos, next, maxTimestamp, e.getMessage());
            }
            if (batch.baseOffset() < next || batch.lastOffsetDelta() < 0 || contiguous && batch.baseOffset() != next) {
                return new ScanResult(pos, next, maxTimestamp, "batch offsets [" + batch.baseOffset() + ", "
                        + batch.lastOffset() + "] do not follow offset " + next + (contiguous && batch.baseOffset() > next
                        ? " in a log without gaps (a damaged base offset: the CRC does not cover it)" : ""));
            }
            if (!contiguous && batch.baseOffset() > next) {
                String jump = damagedJump(map, pos + batch.sizeInBytes(), limitBytes, next, batch);
                if (jump != null) {
                    return new ScanResult(pos, next, maxTimestamp, jump);
                }
            }
            if (batch.lastOffset() >= offsetLimit) {
                return new ScanResult(pos, next, maxTimestamp, "batch offsets [" + batch.baseOffset() + ", " + batch.lastOffset()
                        + "] reach offset " + offsetLimit + ", where the next segment starts (a damaged base offset: the CRC"
                        + " does not cover it)");
            }
            String invalid = check.apply(batch);
            if (invalid != null) {
                return new ScanResult(pos, next, maxTimestamp, invalid);
            }
            visitor.onBatch(batch, pos);
            maxTimestamp = Math.max(maxTimestamp, batch.maxTimestamp());
            next = batch.nextOffset();
            pos += batch.sizeInBytes();
        }
        return new ScanResult(pos, next, maxTimestamp, null);
    }

    /**
     * Why {@code batch}, whose base offset jumps ahead of {@code next}, is the damaged one; null if
     * it is not (or cannot be told). The valid batch after it (at {@code afterPosition}) decides:
     * one starting above this batch's last offset agrees with it, one starting below {@code next}
     * is odd itself (judged in its turn). One starting in between disagrees, and one of the two
     * base offsets is damaged: this batch's when, started at {@code next}, it would end right
     * before that one (a raised base offset, however small), or when no valid batch follows that
     * one to side with it; the other's when the batch after it starts above this batch's last
     * offset (a lowered base offset: found by review, a compacted log's real gap before this batch
     * must not make it the one blamed). Headers are read first and a CRC is checked only on a
     * disagreement, so a compacted log's gaps cost a header read each.
     */
    private static String damagedJump(ByteBuffer map, int afterPosition, int limitBytes, long next, RecordBatch batch) {
        if (limitBytes - afterPosition < RecordBatch.LOG_OVERHEAD_BYTES) {
            return null;
        }
        long afterBase = map.getLong(afterPosition);
        if (afterBase < next || afterBase > batch.lastOffset()) {
            return null;
        }
        RecordBatch after = validBatchOrNull(map, afterPosition, limitBytes);
        if (after == null) {
            return null; // the batch after is damaged itself: it is judged in its turn
        }
        boolean fitsInPlace = afterBase == next + batch.lastOffsetDelta() + 1;
        if (!fitsInPlace) {
            RecordBatch third = validBatchOrNull(map, afterPosition + after.sizeInBytes(), limitBytes);
            if (third != null && third.baseOffset() > batch.lastOffset()) {
                return null; // the batch after sides with this one: that one's base offset is the damaged one
            }
        }
        return "batch offsets [" + batch.baseOffset() + ", " + batch.lastOffset() + "] jump ahead of offset " + next
                + " past the valid batch after it, which starts at offset " + afterBase
                + " (a damaged base offset: the CRC does not cover it)";
    }

    /** The batch at {@code position} if its structure, magic and CRC are valid; else null. */
    private static RecordBatch validBatchOrNull(ByteBuffer map, int position, int limitBytes) {
        if (limitBytes - position < RecordBatch.LOG_OVERHEAD_BYTES
                || map.getLong(position) == 0 && map.getInt(position + RecordBatch.LENGTH_OFFSET) == 0) {
            return null;
        }
        try {
            RecordBatch b = RecordBatch.wrap(map.slice(position, limitBytes - position));
            Segment.validateChecksum(map, position, b.sizeInBytes());
            return b;
        } catch (CorruptRecordException e) {
            return null;
        }
    }

    /**
     * Whether a valid batch (structure, magic, CRC32C) with a base offset at or above
     * {@code nextOffset} lies after the invalid batch at {@code badPosition}: first where that
     * batch's length field says the next one starts, else at any later position whose header is
     * plausible, up to a run of zeros that reaches the end of the file or is at least
     * {@value #ZERO_RUN_END_BYTES} bytes long (preallocated, never written space; a shorter run, such
     * as a zeroed page, is skipped). A torn write leaves nothing valid after the tear; damage to
     * written data (a flipped bit, a bad sector) does. Only for a log whose recovery point is
     * unknown, so it reads at most one segment.
     * Candidates whose header is plausible but whose CRC fails cost a checksum each; past
     * {@value #RESYNC_CHECKSUM_BYTES_MAX} bytes checksummed the answer is true (treat as damage:
     * the replica goes offline and nothing is cut, never the reverse).
     */
    public static boolean validBatchFollows(Segment segment, int badPosition, int limitBytes, long nextOffset) {
        ByteBuffer map = segment.mapping();
        long[] budget = {RESYNC_CHECKSUM_BYTES_MAX};
        if (limitBytes - badPosition >= RecordBatch.LOG_OVERHEAD_BYTES) {
            long declared = (long) badPosition + Segment.batchSizeAt(map, badPosition);
            if (declared > badPosition + RecordBatch.LOG_OVERHEAD_BYTES && declared < limitBytes
                    && validBatchAt(map, (int) declared, limitBytes, nextOffset, budget)) {
                return true;
            }
        }
        for (int pos = badPosition + 1; pos <= limitBytes - RecordBatch.HEADER_SIZE_BYTES; pos++) {
            if ((pos & 4095) == 0 && map.get(pos) == 0) {
                int end = zeroRunEnd(map, pos, limitBytes);
                if (end >= limitBytes || end - pos >= ZERO_RUN_END_BYTES) {
                    return false;
                }
                // a batch after the run may start up to its 8-byte base offset and length field inside it
                pos = Math.max(pos, end - RecordBatch.LOG_OVERHEAD_BYTES - 1);
            }
            if (map.get(pos + RecordBatch.MAGIC_OFFSET) == RecordBatch.MAGIC && validBatchAt(map, pos, limitBytes, nextOffset, budget)) {
                return true;
            }
            if (budget[0] <= 0) {
                return true;
            }
        }
        return false;
    }

    /** Zeros this long (or to the end of the file) end the written data for {@link #validBatchFollows}. */
    static final int ZERO_RUN_END_BYTES = 1 << 20;

    /** The first position at or after {@code from} holding a non-zero byte, at most {@code from + ZERO_RUN_END_BYTES} or the limit. */
    private static int zeroRunEnd(ByteBuffer map, int from, int limitBytes) {
        int to = (int) Math.min(limitBytes, (long) from + ZERO_RUN_END_BYTES);
        int pos = from;
        while (pos + 8 <= to && map.getLong(pos) == 0) {
            pos += 8;
        }
        while (pos < to && map.get(pos) == 0) {
            pos++;
        }
        return pos;
    }

    /** The checksum work {@link #validBatchFollows} may spend on candidates before it assumes damage. */
    static final long RESYNC_CHECKSUM_BYTES_MAX = 256L << 20;

    private static boolean validBatchAt(ByteBuffer map, int pos, int limitBytes, long nextOffset, long[] budget) {
        if (limitBytes - pos < RecordBatch.HEADER_SIZE_BYTES) {
            return false;
        }
        int size = Segment.batchSizeAt(map, pos);
        long base = Segment.baseOffsetAt(map, pos);
        if (size < RecordBatch.HEADER_SIZE_BYTES || size > limitBytes - pos || base < nextOffset || base - nextOffset > Integer.MAX_VALUE
                || map.get(pos + RecordBatch.MAGIC_OFFSET) != RecordBatch.MAGIC
                || map.getInt(pos + RecordBatch.LAST_OFFSET_DELTA_OFFSET) < 0) {
            return false;
        }
        budget[0] -= size;
        try {
            Segment.validateChecksum(map, pos, size);
            return true;
        } catch (CorruptRecordException e) {
            return false;
        }
    }

    /**
     * What lies in [{@code from}, {@code limitBytes}) as far as batch headers can be walked
     * (lengths that fit, the magic byte right), CRCs not checked: the data a truncation drops. The
     * offsets run from the one the first batch must have (given by the caller: the cut's offset, or
     * a later segment's base), since its header may be the damaged one, to the last batch's last
     * offset (or the highest any header names, if that is below the first). Found probing: a base
     * offset damaged at the cut (769 read as 773) made the dropped range start at 773, and could
     * widen its end. Record counts come from the headers (unverified); a header that cannot be
     * walked ends the census, and the bytes after it are counted as unparsable.
     *
     * @param firstOffset      where the loss starts (the cut's offset when the caller knows it, even
     *                         with no batch walked)
     * @param lastOffset       -1 when no batch was walked
     * @param firstBatchOffset the lowest offset a walked header names (-1 if none): above
     *                         {@code firstOffset} when the offsets between are already missing from
     *                         the files (a segment cut short) or unparsable
     */
    public record Census(int batches, long records, long firstOffset, long lastOffset, int unparsableBytes, long firstBatchOffset) {
        static final Census NONE = new Census(0, 0, -1, -1, 0, -1);

        /** A census whose first batch starts where the loss does ({@code firstBatchOffset == firstOffset}). */
        public Census(int batches, long records, long firstOffset, long lastOffset, int unparsableBytes) {
            this(batches, records, firstOffset, lastOffset, unparsableBytes, batches == 0 ? -1 : firstOffset);
        }

        Census plus(Census o) {
            if (o.batches == 0) {
                return new Census(batches, records, firstOffset >= 0 ? firstOffset : o.firstOffset, lastOffset,
                        unparsableBytes + o.unparsableBytes, firstBatchOffset);
            }
            // The first offset stays this census's when it is known, even with no batch walked: a
            // cut whose own header is damaged, or whose segment was cut short, loses from the cut's
            // offset, not from the next segment's base (found probing: "offsets 14423..29999" for a
            // loss from 462).
            return new Census(batches + o.batches, records + o.records, firstOffset >= 0 ? firstOffset : o.firstOffset,
                    o.lastOffset, unparsableBytes + o.unparsableBytes, batches == 0 ? o.firstBatchOffset : firstBatchOffset);
        }

        @Override
        public String toString() {
            return batches + " batches, " + records + " records" + (batches == 0 ? "" : ", offsets " + firstOffset + ".." + lastOffset)
                    + (unparsableBytes == 0 ? "" : ", " + unparsableBytes + " unparsable bytes")
                    + (batches == 0 && firstOffset >= 0 && unparsableBytes > 0 ? " from offset " + firstOffset : "");
        }
    }

    /**
     * See {@link Census}; {@code segment} must be mapped (retained) by the caller.
     *
     * @param firstOffset the offset the batch at {@code from} must start at; -1 if unknown (then
     *                    the lowest base offset the headers name)
     */
    public static Census census(Segment segment, int from, int limitBytes, long firstOffset) {
        ByteBuffer map = segment.mapping();
        int pos = from;
        int batches = 0;
        long records = 0;
        long first = -1;
        long walkedFirst = -1;
        long highest = -1;
        long lastOfFinal = -1;
        while (limitBytes - pos >= RecordBatch.HEADER_SIZE_BYTES) {
            int size = Segment.batchSizeAt(map, pos);
            long base = Segment.baseOffsetAt(map, pos);
            if (size < RecordBatch.HEADER_SIZE_BYTES || size > limitBytes - pos || (base == 0 && size == 0)
                    || map.get(pos + RecordBatch.MAGIC_OFFSET) != RecordBatch.MAGIC) {
                break;
            }
            // The lengths chain the batches even where a base offset is damaged (it jumped ahead, so
            // the next batch's seems to go back): the census goes on, or it reported one batch lost
            // where a cut there drops every batch after it (found probing: 100 records of 10,511).
            first = first < 0 ? base : Math.min(first, base);
            lastOfFinal = Segment.lastOffsetAt(map, pos);
            highest = Math.max(highest, Math.max(base, lastOfFinal));
            records += Math.max(0, map.getInt(pos + RecordBatch.RECORD_COUNT_OFFSET));
            batches++;
            pos += size;
        }
        // An active segment is preallocated (zeros up to its capacity): a zero page after the last
        // header means the rest is unwritten; checking it all could read a gigabyte of zeros. Past
        // a header that cannot be walked, the unparsable bytes end where the written data does
        // (found probing: a flipped magic byte was reported as 1,073,674,222 unparsable bytes, the
        // whole preallocated file, for 2 MB of records).
        int rest = allZero(map, pos, Math.min(limitBytes, pos + 4096)) ? 0 : writtenEnd(map, pos, limitBytes) - pos;
        walkedFirst = first;
        if (firstOffset >= 0) {
            first = firstOffset; // with no batch walked too: where the loss starts (Census#plus)
        }
        long last = batches == 0 ? -1 : lastOfFinal >= first ? lastOfFinal : Math.max(first, highest);
        return new Census(batches, records, first, last, rest, batches == 0 ? -1 : Math.max(first, walkedFirst));
    }

    /**
     * Where the written data after {@code from} ends: the start of the first run of zeros, beginning
     * on a page boundary, that reaches {@code limitBytes} or is {@value #ZERO_RUN_END_BYTES} bytes
     * long (the rule {@link #validBatchFollows} uses); {@code limitBytes} if there is none.
     */
    static int writtenEnd(ByteBuffer map, int from, int limitBytes) {
        long page = ((long) from + 4095) & ~4095L;
        while (page < limitBytes) {
            if (map.get((int) page) == 0) {
                int end = zeroRunEnd(map, (int) page, limitBytes);
                if (end >= limitBytes || end - page >= ZERO_RUN_END_BYTES) {
                    return (int) page;
                }
                page = ((long) end + 4095) & ~4095L;
            } else {
                page += 4096;
            }
        }
        return limitBytes;
    }

    static Census combine(Census a, Census b) {
        return a.plus(b);
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

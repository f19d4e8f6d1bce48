package dev.basalt.record;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.zip.CRC32C;

/**
 * A read view over one record batch in Basalt's wire and storage format (format version 2).
 *
 * <p>The broker stores batches exactly as the producer built them; it only stamps the base
 * offset and the partition leader epoch, which sit <em>before</em> the CRC'd region so that
 * stamping never requires recomputing the checksum. A fetch serves the stored bytes unchanged.
 *
 * <h2>Byte layout (big-endian, offsets in bytes)</h2>
 * <pre>
 *  0  baseOffset            int64   first offset of the batch (stamped by the leader)
 *  8  batchLength           int32   bytes that follow this field (total size = 12 + batchLength)
 * 12  partitionLeaderEpoch  int32   leader epoch of the appending leader (stamped), -1 if none
 * 16  magic                 int8    format version, always 2
 * 17  crc                   uint32  CRC32C (Castagnoli) of bytes [21, end of batch)
 * 21  attributes            int16   bits 0-2 compression (0 = none, the only one supported),
 *                                   bit 3 timestamp type (0 create, 1 log-append), bit 4
 *                                   transactional (not supported: producers may not set it),
 *                                   bit 5 control (written by brokers only), bit 6 delete
 *                                   horizon (written by compaction only); other bits are 0
 * 23  lastOffsetDelta       int32   offset of the last record minus baseOffset
 * 27  firstTimestamp        int64   timestamp of the first record (ms since epoch); with bit 6
 *                                   set, the delete horizon instead (see below)
 * 35  maxTimestamp          int64   largest record timestamp of the batch
 * 43  producerId            int64   -1 when the producer is not idempotent
 * 51  producerEpoch         int16   -1 when not idempotent
 * 53  baseSequence          int32   sequence of the first record, -1 when not idempotent
 * 57  recordCount           int32   number of records that follow
 * 61  records               recordCount records, each:
 *       length          varint (zig-zag) bytes of the record after this field
 *       attributes      int8 (unused, 0)
 *       timestampDelta  varlong, relative to firstTimestamp
 *       offsetDelta     varint,  relative to baseOffset
 *       keyLength       varint, -1 for a null key, then the key bytes
 *       valueLength     varint, -1 for a null value (a tombstone), then the value bytes
 *       headerCount     varint, then for each header:
 *           keyLength varint, key bytes (UTF-8, never null); valueLength varint (-1 = null), value
 * </pre>
 *
 * <p>The CRC covers everything from {@code attributes} to the end of the batch: record contents,
 * timestamps, producer fields and the record count. It does not cover baseOffset, batchLength,
 * partitionLeaderEpoch or magic; batchLength and magic are checked structurally by
 * {@link #validate(int)}, and offsets/epochs are checked against the log by the log engine.
 *
 * <p>Compacted logs keep a batch's baseOffset and lastOffsetDelta but may drop records inside
 * it, so offset deltas within a batch may have gaps; they are always strictly increasing.
 *
 * <p>The delete horizon: the first time compaction keeps a tombstone, it rewrites the tombstone's
 * batch with bit 6 set and firstTimestamp holding the time (ms since epoch) from which the
 * batch's tombstones may be removed: that pass's time plus delete.retention.ms. Record
 * timestamp deltas are then relative to the horizon, so every record keeps its timestamp; the
 * horizon travels with the batch to followers and survives restarts. Producers may not set it.
 *
 * <p>Thread-safety: a {@code RecordBatch} owns a private view ({@link ByteBuffer#slice()}) of its
 * bytes and never moves the caller's buffer position; concurrent reads of one instance are safe,
 * stamping ({@link #stampBaseOffset}, {@link #stampPartitionLeaderEpoch}) and
 * {@link #validateProduced} (which records the batch's timestamp range, as the bytes were then:
 * stamping LogAppendTime afterwards does not update it) are not.
 */
public final class RecordBatch {
    public static final byte MAGIC = 2;

    public static final int BASE_OFFSET_OFFSET = 0;
    public static final int LENGTH_OFFSET = 8;
    public static final int PARTITION_LEADER_EPOCH_OFFSET = 12;
    public static final int MAGIC_OFFSET = 16;
    public static final int CRC_OFFSET = 17;
    public static final int ATTRIBUTES_OFFSET = 21;
    public static final int LAST_OFFSET_DELTA_OFFSET = 23;
    public static final int FIRST_TIMESTAMP_OFFSET = 27;
    public static final int MAX_TIMESTAMP_OFFSET = 35;
    public static final int PRODUCER_ID_OFFSET = 43;
    public static final int PRODUCER_EPOCH_OFFSET = 51;
    public static final int BASE_SEQUENCE_OFFSET = 53;
    public static final int RECORD_COUNT_OFFSET = 57;
    public static final int RECORDS_OFFSET = 61;
    /** Size of the fixed header: the smallest legal batch (zero records is rejected by validate). */
    public static final int HEADER_SIZE_BYTES = RECORDS_OFFSET;
    /** batchLength counts the bytes after the length field. */
    public static final int LOG_OVERHEAD_BYTES = LENGTH_OFFSET + 4;

    public static final int COMPRESSION_MASK = 0x07;
    public static final int TIMESTAMP_TYPE_MASK = 0x08;
    public static final int TRANSACTIONAL_MASK = 0x10;
    public static final int CONTROL_MASK = 0x20;
    /** Set by compaction only: firstTimestamp holds the delete horizon of the batch's tombstones. */
    public static final int DELETE_HORIZON_MASK = 0x40;
    /** Every attribute bit this format defines; a producer batch with another bit set is refused. */
    public static final int KNOWN_ATTRIBUTES_MASK = COMPRESSION_MASK | TIMESTAMP_TYPE_MASK | TRANSACTIONAL_MASK | CONTROL_MASK
            | DELETE_HORIZON_MASK;

    public static final long NO_PRODUCER_ID = -1L;
    public static final short NO_PRODUCER_EPOCH = -1;
    public static final int NO_SEQUENCE = -1;
    public static final int NO_PARTITION_LEADER_EPOCH = -1;

    /** Hard cap on records in one batch: bounds every loop over untrusted input. */
    public static final int RECORD_COUNT_MAX = 1 << 20;

    private final ByteBuffer buffer;
    /** Smallest and largest record timestamp, found by {@link #validateProduced}; valid once it returned. */
    private long producedTimestampMin = Long.MAX_VALUE;
    private long producedTimestampMax = Long.MIN_VALUE;
    private boolean producedValidated;

    private RecordBatch(ByteBuffer buffer) {
        this.buffer = buffer;
    }

    /**
     * Wraps the batch that starts at {@code buf.position()}; the view spans exactly the batch's
     * declared size. Only the header is checked here (enough bytes, sane length); call
     * {@link #validate(int)} before trusting the contents.
     *
     * @throws CorruptRecordException if the header is truncated or its length is impossible
     */
    public static RecordBatch wrap(ByteBuffer buf) {
        int remaining = buf.remaining();
        if (remaining < HEADER_SIZE_BYTES) {
            throw new CorruptRecordException("batch header truncated: " + remaining + " bytes < " + HEADER_SIZE_BYTES);
        }
        int length = buf.getInt(buf.position() + LENGTH_OFFSET);
        if (length < HEADER_SIZE_BYTES - LOG_OVERHEAD_BYTES) {
            throw new CorruptRecordException("batch length " + length + " smaller than the header");
        }
        if ((long) length + LOG_OVERHEAD_BYTES > remaining) {
            throw new CorruptRecordException("batch truncated: declares " + (length + (long) LOG_OVERHEAD_BYTES)
                    + " bytes, " + remaining + " available");
        }
        ByteBuffer view = buf.slice(buf.position(), length + LOG_OVERHEAD_BYTES).order(ByteOrder.BIG_ENDIAN);
        return new RecordBatch(view);
    }

    /** The batch's bytes: a view positioned at 0 with limit = {@link #sizeInBytes()}; share freely. */
    public ByteBuffer buffer() {
        return buffer.duplicate();
    }

    public int sizeInBytes() {
        return buffer.limit();
    }

    public long baseOffset() {
        return buffer.getLong(BASE_OFFSET_OFFSET);
    }

    public long lastOffset() {
        return baseOffset() + lastOffsetDelta();
    }

    /** The offset after this batch: where the next batch starts. */
    public long nextOffset() {
        return lastOffset() + 1;
    }

    public int lastOffsetDelta() {
        return buffer.getInt(LAST_OFFSET_DELTA_OFFSET);
    }

    public int partitionLeaderEpoch() {
        return buffer.getInt(PARTITION_LEADER_EPOCH_OFFSET);
    }

    public byte magic() {
        return buffer.get(MAGIC_OFFSET);
    }

    public long storedCrc() {
        return Integer.toUnsignedLong(buffer.getInt(CRC_OFFSET));
    }

    public short attributes() {
        return buffer.getShort(ATTRIBUTES_OFFSET);
    }

    public boolean isControl() {
        return (attributes() & CONTROL_MASK) != 0;
    }

    public TimestampType timestampType() {
        return (attributes() & TIMESTAMP_TYPE_MASK) != 0 ? TimestampType.LOG_APPEND_TIME : TimestampType.CREATE_TIME;
    }

    /**
     * The base the records' timestamp deltas are relative to: the first record's timestamp as
     * the producer built the batch, or the delete horizon once compaction has set one.
     */
    public long firstTimestamp() {
        return buffer.getLong(FIRST_TIMESTAMP_OFFSET);
    }

    public boolean hasDeleteHorizon() {
        return (attributes() & DELETE_HORIZON_MASK) != 0;
    }

    /**
     * The time (ms since epoch) from which compaction may remove this batch's tombstones, or
     * {@link Long#MAX_VALUE} while compaction has not yet kept one (the countdown has not begun).
     */
    public long deleteHorizonMs() {
        return hasDeleteHorizon() ? firstTimestamp() : Long.MAX_VALUE;
    }

    public long maxTimestamp() {
        return buffer.getLong(MAX_TIMESTAMP_OFFSET);
    }

    public long producerId() {
        return buffer.getLong(PRODUCER_ID_OFFSET);
    }

    public short producerEpoch() {
        return buffer.getShort(PRODUCER_EPOCH_OFFSET);
    }

    public int baseSequence() {
        return buffer.getInt(BASE_SEQUENCE_OFFSET);
    }

    public int recordCount() {
        return buffer.getInt(RECORD_COUNT_OFFSET);
    }

    /** Stamps the base offset (outside the CRC'd region: the checksum stays valid). */
    public void stampBaseOffset(long baseOffset) {
        buffer.putLong(BASE_OFFSET_OFFSET, baseOffset);
    }

    /** Stamps the leader epoch (outside the CRC'd region: the checksum stays valid). */
    public void stampPartitionLeaderEpoch(int epoch) {
        buffer.putInt(PARTITION_LEADER_EPOCH_OFFSET, epoch);
    }

    /** CRC32C over [attributes, end), as stored in the crc field. */
    public long computeCrc() {
        CRC32C crc = new CRC32C();
        ByteBuffer region = buffer.duplicate();
        region.position(ATTRIBUTES_OFFSET);
        crc.update(region);
        return crc.getValue();
    }

    /**
     * Checks the whole batch: size cap, magic, CRC, compression, and that the records parse,
     * are exactly {@code recordCount} long, and have strictly increasing offset deltas ending at
     * or below lastOffsetDelta. After this returns, iterating records cannot fail.
     *
     * @param sizeBytesMax the largest batch accepted (the topic's max.message.bytes)
     * @throws RecordTooLargeException if the batch exceeds sizeBytesMax
     * @throws CorruptRecordException naming the first check that failed
     */
    public void validate(int sizeBytesMax) {
        if (sizeInBytes() > sizeBytesMax) {
            throw new RecordTooLargeException("batch of " + sizeInBytes() + " bytes exceeds the limit of " + sizeBytesMax + " bytes");
        }
        validateChecksum();
        if ((attributes() & COMPRESSION_MASK) != 0) {
            throw new CorruptRecordException("unsupported compression codec " + (attributes() & COMPRESSION_MASK));
        }
        int count = recordCount();
        if (count <= 0 || count > RECORD_COUNT_MAX) {
            throw new CorruptRecordException("record count " + count + " outside [1, " + RECORD_COUNT_MAX + "]");
        }
        int lastDelta = lastOffsetDelta();
        if (lastDelta < count - 1) {
            throw new CorruptRecordException("lastOffsetDelta " + lastDelta + " < recordCount - 1 = " + (count - 1));
        }
        ByteBuffer body = buffer.duplicate();
        body.position(RECORDS_OFFSET);
        int previousDelta = -1;
        for (int i = 0; i < count; i++) {
            Record r = Record.read(body, 0L, 0L);
            int delta = (int) r.offset();
            if (delta <= previousDelta || delta > lastDelta) {
                throw new CorruptRecordException("record " + i + " has offset delta " + delta + " (previous "
                        + previousDelta + ", lastOffsetDelta " + lastDelta + ")");
            }
            previousDelta = delta;
        }
        if (body.hasRemaining()) {
            throw new CorruptRecordException(body.remaining() + " trailing bytes after " + count + " records");
        }
    }

    /**
     * The stricter check a leader applies to a producer's batch (Kafka's LogValidator): besides
     * size, magic and CRC, the batch must be exactly what a well-behaved producer builds: no
     * control or transactional flag, no compression (none is supported), no undefined attribute
     * bit, {@code lastOffsetDelta == recordCount - 1}, offset deltas 0, 1, 2, ... in order,
     * records that fill the batch exactly, and (CreateTime) a header maxTimestamp that is the
     * records' largest timestamp. The offsets a batch burns are then exactly its records.
     *
     * <p>A batch whose CRC matches was built this way by its sender, so every check after the CRC
     * fails with {@link InvalidRecordException} (INVALID_RECORD: the producer is wrong, a retry
     * cannot help), while a CRC or magic mismatch stays a {@link CorruptRecordException}.
     *
     * @throws RecordTooLargeException if the batch exceeds sizeBytesMax
     * @throws CorruptRecordException on a wrong magic or CRC
     * @throws InvalidRecordException naming the first producer rule the batch breaks
     */
    public void validateProduced(int sizeBytesMax) {
        if (sizeInBytes() > sizeBytesMax) {
            throw new RecordTooLargeException("batch of " + sizeInBytes() + " bytes exceeds the limit of " + sizeBytesMax + " bytes");
        }
        validateChecksum();
        int attributes = attributes() & 0xFFFF;
        if ((attributes & ~KNOWN_ATTRIBUTES_MASK) != 0) {
            throw new InvalidRecordException(String.format("undefined attribute bits %#x set", attributes & ~KNOWN_ATTRIBUTES_MASK));
        }
        if ((attributes & COMPRESSION_MASK) != 0) {
            throw new InvalidRecordException("compression codec " + (attributes & COMPRESSION_MASK)
                    + " is not supported: only uncompressed batches (codec 0) are accepted");
        }
        if ((attributes & CONTROL_MASK) != 0) {
            throw new InvalidRecordException("producers may not send control batches");
        }
        if ((attributes & TRANSACTIONAL_MASK) != 0) {
            throw new InvalidRecordException("transactional batches are not supported");
        }
        if ((attributes & DELETE_HORIZON_MASK) != 0) {
            throw new InvalidRecordException("producers may not set the delete horizon (attribute bit 6): compaction sets it");
        }
        int count = recordCount();
        if (count <= 0 || count > RECORD_COUNT_MAX) {
            throw new InvalidRecordException("record count " + count + " outside [1, " + RECORD_COUNT_MAX + "]");
        }
        if (lastOffsetDelta() != count - 1) {
            throw new InvalidRecordException("lastOffsetDelta " + lastOffsetDelta() + " != recordCount - 1 = " + (count - 1));
        }
        ByteBuffer body = buffer.duplicate();
        body.position(RECORDS_OFFSET);
        long base = firstTimestamp();
        long tsMin = Long.MAX_VALUE;
        long tsMax = Long.MIN_VALUE;
        for (int i = 0; i < count; i++) {
            Record r;
            try {
                r = Record.read(body, 0L, base);
            } catch (InvalidRecordException e) {
                throw e;
            } catch (CorruptRecordException e) {
                throw new InvalidRecordException("record " + i + " of " + count + " disagrees with the batch: " + e.getMessage());
            }
            if (r.offset() != i) {
                throw new InvalidRecordException("record " + i + " has offset delta " + r.offset() + ", expected " + i);
            }
            tsMin = Math.min(tsMin, r.timestamp());
            tsMax = Math.max(tsMax, r.timestamp());
        }
        if (body.hasRemaining()) {
            throw new InvalidRecordException(body.remaining() + " bytes after the " + count + " records the batch declares");
        }
        if (timestampType() == TimestampType.CREATE_TIME && maxTimestamp() != tsMax) {
            // Retention, the time index and ListOffsets read the header's maxTimestamp: one far
            // ahead of the records would pass a timestamp bound and hold the segment for ever.
            throw new InvalidRecordException("the batch header's maxTimestamp " + maxTimestamp()
                    + " is not its records' largest timestamp " + tsMax);
        }
        producedTimestampMin = tsMin;
        producedTimestampMax = tsMax;
        producedValidated = true;
    }

    /**
     * The smallest record timestamp of a batch {@link #validateProduced} accepted (what a leader
     * checks against message.timestamp.before.max.ms without reading the records again).
     *
     * @throws IllegalStateException if validateProduced has not accepted this batch
     */
    public long producedTimestampMin() {
        requireProducedValidated();
        return producedTimestampMin;
    }

    /** The largest record timestamp of a batch {@link #validateProduced} accepted; see {@link #producedTimestampMin}. */
    public long producedTimestampMax() {
        requireProducedValidated();
        return producedTimestampMax;
    }

    private void requireProducedValidated() {
        if (!producedValidated) {
            throw new IllegalStateException("the record timestamps are known only once validateProduced accepted the batch");
        }
    }

    /** Checks only magic and CRC: the cheap check for data read back from storage. */
    public void validateChecksum() {
        if (magic() != MAGIC) {
            throw new CorruptRecordException("unknown magic " + magic());
        }
        long stored = storedCrc();
        long computed = computeCrc();
        if (stored != computed) {
            throw new CorruptRecordException(String.format("CRC mismatch: stored %08x, computed %08x", stored, computed));
        }
    }

    /** Iterates the records with absolute offsets and timestamps. The batch must be valid. */
    public Iterable<Record> records() {
        return () -> new Iterator<>() {
            private final ByteBuffer body = buffer.duplicate().position(RECORDS_OFFSET);
            private final int count = recordCount();
            private final long baseOffset = baseOffset();
            private final long firstTimestamp = firstTimestamp();
            private int index;

            @Override
            public boolean hasNext() {
                return index < count;
            }

            @Override
            public Record next() {
                if (index >= count) {
                    throw new NoSuchElementException();
                }
                index++;
                return Record.read(body, baseOffset, firstTimestamp);
            }
        };
    }

    @Override
    public String toString() {
        return "RecordBatch(baseOffset=" + baseOffset() + ", lastOffset=" + lastOffset() + ", records=" + recordCount()
                + ", bytes=" + sizeInBytes() + ", epoch=" + partitionLeaderEpoch() + ")";
    }
}

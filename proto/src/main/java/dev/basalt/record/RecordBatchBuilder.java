package dev.basalt.record;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Writes one {@link RecordBatch} into a caller-supplied buffer (the producer passes a pooled
 * buffer, so steady-state batching allocates nothing per record).
 *
 * <p>Usage: {@code new RecordBatchBuilder(buf, firstTimestamp)}, {@link #tryAppend} until it
 * returns false (full) or the batch is ready, then {@link #build()}. The base offset written is
 * 0 (the leader stamps the real one) unless {@link #baseOffset(long)} is set, as the log engine
 * and tests do. Offsets within a batch are consecutive unless {@link #appendWithOffset} is used
 * (compaction keeps original offsets, leaving gaps).
 *
 * <p>Thread-safety: not thread-safe; one builder per batch, confined to one thread.
 */
public final class RecordBatchBuilder {
    private final ByteBuffer buf;
    private final int start;
    private final int sizeBytesMax;
    private final long firstTimestamp;
    private long baseOffset;
    private long maxTimestamp = Long.MIN_VALUE;
    private int recordCount;
    private int lastOffsetDelta = -1;
    private int partitionLeaderEpoch = RecordBatch.NO_PARTITION_LEADER_EPOCH;
    private long producerId = RecordBatch.NO_PRODUCER_ID;
    private short producerEpoch = RecordBatch.NO_PRODUCER_EPOCH;
    private int baseSequence = RecordBatch.NO_SEQUENCE;
    private short attributes;
    private boolean built;

    /**
     * @param buf            the batch is written from {@code buf.position()} up to its limit
     * @param firstTimestamp the timestamp deltas are relative to this (normally the first record's)
     */
    public RecordBatchBuilder(ByteBuffer buf, long firstTimestamp) {
        if (buf.order() != ByteOrder.BIG_ENDIAN) {
            throw new IllegalArgumentException("batch buffers are big-endian");
        }
        if (buf.remaining() < RecordBatch.HEADER_SIZE_BYTES) {
            throw new IllegalArgumentException("buffer of " + buf.remaining() + " bytes cannot hold a batch header");
        }
        this.buf = buf;
        this.start = buf.position();
        this.sizeBytesMax = buf.remaining();
        this.firstTimestamp = firstTimestamp;
        buf.position(start + RecordBatch.RECORDS_OFFSET);
    }

    public RecordBatchBuilder baseOffset(long offset) {
        this.baseOffset = offset;
        return this;
    }

    public RecordBatchBuilder partitionLeaderEpoch(int epoch) {
        this.partitionLeaderEpoch = epoch;
        return this;
    }

    public RecordBatchBuilder producer(long producerId, short producerEpoch, int baseSequence) {
        this.producerId = producerId;
        this.producerEpoch = producerEpoch;
        this.baseSequence = baseSequence;
        return this;
    }

    public RecordBatchBuilder timestampType(TimestampType type) {
        attributes = (short) (type == TimestampType.LOG_APPEND_TIME
                ? attributes | RecordBatch.TIMESTAMP_TYPE_MASK
                : attributes & ~RecordBatch.TIMESTAMP_TYPE_MASK);
        return this;
    }

    public int recordCount() {
        return recordCount;
    }

    /** Bytes written so far, header included. */
    public int sizeInBytes() {
        return buf.position() - start;
    }

    /** The encoded size of a record with these fields at the given deltas. */
    public static int recordSizeInBytes(int offsetDelta, long timestampDelta, byte[] key, byte[] value, List<Header> headers) {
        int body = bodyLength(offsetDelta, timestampDelta, key, value, headers);
        return Varint.sizeOfInt(body) + body;
    }

    /** Upper bound of a one-record batch's size: for sizing buffers for oversized records. */
    public static int estimateBatchSizeBytes(byte[] key, byte[] value, List<Header> headers) {
        return RecordBatch.HEADER_SIZE_BYTES + recordSizeInBytes(Integer.MAX_VALUE, Long.MAX_VALUE, key, value, headers);
    }

    private static int bytesFieldSize(byte[] b) {
        return b == null ? Varint.sizeOfInt(-1) : Varint.sizeOfInt(b.length) + b.length;
    }

    /**
     * Appends a record at the next consecutive offset if it fits.
     *
     * @return false, writing nothing, if the record does not fit in the remaining buffer
     */
    public boolean tryAppend(long timestamp, byte[] key, byte[] value, List<Header> headers) {
        return appendWithOffsetDelta(lastOffsetDelta + 1, timestamp, key, value, headers);
    }

    /** Appends a record with an explicit absolute offset (must be above the previous one). */
    public boolean appendWithOffset(long offset, long timestamp, byte[] key, byte[] value, List<Header> headers) {
        long delta = offset - baseOffset;
        if (delta <= lastOffsetDelta || delta > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("offset " + offset + " not above the previous record's in batch based at " + baseOffset);
        }
        return appendWithOffsetDelta((int) delta, timestamp, key, value, headers);
    }

    private boolean appendWithOffsetDelta(int offsetDelta, long timestamp, byte[] key, byte[] value, List<Header> headers) {
        if (built) {
            throw new IllegalStateException("batch already built");
        }
        long timestampDelta = timestamp - firstTimestamp;
        int bodySize = bodyLength(offsetDelta, timestampDelta, key, value, headers);
        if (buf.position() + Varint.sizeOfInt(bodySize) + bodySize > start + sizeBytesMax) {
            return false;
        }
        Varint.writeInt(bodySize, buf);
        buf.put((byte) 0);
        Varint.writeLong(timestampDelta, buf);
        Varint.writeInt(offsetDelta, buf);
        writeBytes(key);
        writeBytes(value);
        Varint.writeInt(headers.size(), buf);
        for (Header h : headers) {
            writeBytes(h.key().getBytes(StandardCharsets.UTF_8));
            writeBytes(h.value());
        }
        recordCount++;
        lastOffsetDelta = offsetDelta;
        maxTimestamp = Math.max(maxTimestamp, timestamp);
        return true;
    }

    private static int bodyLength(int offsetDelta, long timestampDelta, byte[] key, byte[] value, List<Header> headers) {
        int body = 1 + Varint.sizeOfLong(timestampDelta) + Varint.sizeOfInt(offsetDelta)
                + bytesFieldSize(key) + bytesFieldSize(value) + Varint.sizeOfInt(headers.size());
        for (Header h : headers) {
            body += bytesFieldSize(h.key().getBytes(StandardCharsets.UTF_8)) + bytesFieldSize(h.value());
        }
        return body;
    }

    private void writeBytes(byte[] b) {
        if (b == null) {
            Varint.writeInt(-1, buf);
        } else {
            Varint.writeInt(b.length, buf);
            buf.put(b);
        }
    }

    /**
     * Writes the header and CRC and returns a view of the finished batch. The caller's buffer is
     * left positioned just after the batch.
     *
     * @throws IllegalStateException if no record was appended
     */
    public RecordBatch build() {
        if (recordCount == 0) {
            throw new IllegalStateException("a batch needs at least one record");
        }
        if (built) {
            throw new IllegalStateException("batch already built");
        }
        built = true;
        int end = buf.position();
        int length = end - start - RecordBatch.LOG_OVERHEAD_BYTES;
        buf.putLong(start + RecordBatch.BASE_OFFSET_OFFSET, baseOffset);
        buf.putInt(start + RecordBatch.LENGTH_OFFSET, length);
        buf.putInt(start + RecordBatch.PARTITION_LEADER_EPOCH_OFFSET, partitionLeaderEpoch);
        buf.put(start + RecordBatch.MAGIC_OFFSET, RecordBatch.MAGIC);
        buf.putShort(start + RecordBatch.ATTRIBUTES_OFFSET, attributes);
        buf.putInt(start + RecordBatch.LAST_OFFSET_DELTA_OFFSET, lastOffsetDelta);
        buf.putLong(start + RecordBatch.FIRST_TIMESTAMP_OFFSET, firstTimestamp);
        buf.putLong(start + RecordBatch.MAX_TIMESTAMP_OFFSET, maxTimestamp);
        buf.putLong(start + RecordBatch.PRODUCER_ID_OFFSET, producerId);
        buf.putShort(start + RecordBatch.PRODUCER_EPOCH_OFFSET, producerEpoch);
        buf.putInt(start + RecordBatch.BASE_SEQUENCE_OFFSET, baseSequence);
        buf.putInt(start + RecordBatch.RECORD_COUNT_OFFSET, recordCount);
        CRC32C crc = new CRC32C();
        crc.update(buf.slice(start + RecordBatch.ATTRIBUTES_OFFSET, end - start - RecordBatch.ATTRIBUTES_OFFSET));
        buf.putInt(start + RecordBatch.CRC_OFFSET, (int) crc.getValue());
        return RecordBatch.wrap(buf.duplicate().position(start).limit(end));
    }
}

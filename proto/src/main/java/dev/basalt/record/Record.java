package dev.basalt.record;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One decoded record of a {@link RecordBatch}: absolute offset and timestamp, key and value as
 * read-only views into the batch's bytes (no copy), and headers (copied: they are small).
 *
 * <p>Immutable; the key/value views stay valid only as long as the memory under the batch does
 * (for a log segment: until the segment is closed). Copy with {@link #keyBytes()} /
 * {@link #valueBytes()} to keep them longer.
 */
public final class Record {
    /** Bounds the header loop over untrusted input. */
    public static final int HEADER_COUNT_MAX = 1 << 16;

    private final long offset;
    private final long timestamp;
    /** The batch's bytes; key and value are [pos, pos + len) of it, len -1 meaning null. */
    private final ByteBuffer bytes;
    private final int keyPos;
    private final int keyLen;
    private final int valuePos;
    private final int valueLen;
    private final List<Header> headers;

    private Record(long offset, long timestamp, ByteBuffer bytes, int keyPos, int keyLen, int valuePos, int valueLen,
                   List<Header> headers) {
        this.offset = offset;
        this.timestamp = timestamp;
        this.bytes = bytes;
        this.keyPos = keyPos;
        this.keyLen = keyLen;
        this.valuePos = valuePos;
        this.valueLen = valueLen;
        this.headers = headers;
    }

    public long offset() {
        return offset;
    }

    public long timestamp() {
        return timestamp;
    }

    /** Read-only view of the key, or null. */
    public ByteBuffer key() {
        return view(keyPos, keyLen);
    }

    /** Read-only view of the value, or null for a tombstone. */
    public ByteBuffer value() {
        return view(valuePos, valueLen);
    }

    public boolean hasKey() {
        return keyLen >= 0;
    }

    public boolean isTombstone() {
        return valueLen < 0;
    }

    /** The key's length in bytes, -1 for none. */
    public int keySize() {
        return keyLen;
    }

    /** The value's length in bytes, -1 for a tombstone. */
    public int valueSize() {
        return valueLen;
    }

    /** A copy of the key, or null. */
    public byte[] keyBytes() {
        return copy(keyPos, keyLen);
    }

    /** A copy of the value, or null for a tombstone. */
    public byte[] valueBytes() {
        return copy(valuePos, valueLen);
    }

    public List<Header> headers() {
        return headers;
    }

    private ByteBuffer view(int pos, int len) {
        return len < 0 ? null : bytes.slice(pos, len).asReadOnlyBuffer();
    }

    private byte[] copy(int pos, int len) {
        if (len < 0) {
            return null;
        }
        byte[] out = new byte[len];
        bytes.get(pos, out); // absolute: the shared buffer's position is never touched
        return out;
    }

    /**
     * Reads one record at {@code in.position()}, advancing past it. Key and value are not sliced
     * out: the record keeps {@code in} and their positions (the consumer's decode loop allocates
     * the record and the copies it hands out, nothing else). {@code in}'s limit must not change
     * while records read from it are in use.
     *
     * @throws CorruptRecordException if the record is truncated or its fields are inconsistent
     */
    static Record read(ByteBuffer in, long baseOffset, long firstTimestamp) {
        int length = Varint.readInt(in);
        if (length < 1 || length > in.remaining()) {
            throw new CorruptRecordException("record length " + length + " exceeds the " + in.remaining() + " bytes left");
        }
        int end = in.position() + length;
        try {
            in.position(in.position() + 1); // attributes, unused
            long timestampDelta = Varint.readLong(in);
            int offsetDelta = Varint.readInt(in);
            int keyLen = fieldLength(in, end, "key");
            int keyPos = skip(in, keyLen);
            int valueLen = fieldLength(in, end, "value");
            int valuePos = skip(in, valueLen);
            int headerCount = Varint.readInt(in);
            if (headerCount < 0 || headerCount > HEADER_COUNT_MAX) {
                throw new CorruptRecordException("header count " + headerCount + " outside [0, " + HEADER_COUNT_MAX + "]");
            }
            List<Header> headers = headerCount == 0 ? List.of() : new ArrayList<>(headerCount);
            for (int i = 0; i < headerCount; i++) {
                int hkLen = fieldLength(in, end, "header key");
                if (hkLen < 0) {
                    throw new CorruptRecordException("null header key");
                }
                String hk = StandardCharsets.UTF_8.decode(in.slice(skip(in, hkLen), hkLen)).toString();
                int hvLen = fieldLength(in, end, "header value");
                int hvPos = skip(in, hvLen);
                byte[] hv = null;
                if (hvLen >= 0) {
                    hv = new byte[hvLen];
                    in.get(hvPos, hv);
                }
                headers.add(new Header(hk, hv));
            }
            if (in.position() != end) {
                throw new CorruptRecordException(in.position() < end ? (end - in.position()) + " trailing bytes inside a record"
                        : "record fields run " + (in.position() - end) + " bytes past its length");
            }
            return new Record(baseOffset + offsetDelta, firstTimestamp + timestampDelta, in, keyPos, keyLen, valuePos, valueLen,
                    headerCount == 0 ? headers : List.copyOf(headers));
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new CorruptRecordException("record truncated", e);
        }
    }

    /** Reads a field's length: -1 for null, else at most what is left of the record. */
    private static int fieldLength(ByteBuffer in, int end, String what) {
        int len = Varint.readInt(in);
        if (len < -1 || len > end - in.position()) {
            throw new CorruptRecordException(what + " length " + len + " exceeds the " + Math.max(0, end - in.position())
                    + " bytes left");
        }
        return len;
    }

    /** Skips a field of len bytes (none for -1); returns where it started. */
    private static int skip(ByteBuffer in, int len) {
        int pos = in.position();
        if (len > 0) {
            in.position(pos + len);
        }
        return pos;
    }

    @Override
    public String toString() {
        return "Record(offset=" + offset + ", timestamp=" + timestamp + ", key=" + (keyLen < 0 ? "null" : keyLen + "B")
                + ", value=" + (valueLen < 0 ? "null" : valueLen + "B") + ", headers=" + headers.size() + ")";
    }
}

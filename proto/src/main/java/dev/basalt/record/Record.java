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
    private final ByteBuffer key;
    private final ByteBuffer value;
    private final List<Header> headers;

    Record(long offset, long timestamp, ByteBuffer key, ByteBuffer value, List<Header> headers) {
        this.offset = offset;
        this.timestamp = timestamp;
        this.key = key;
        this.value = value;
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
        return key == null ? null : key.duplicate();
    }

    /** Read-only view of the value, or null for a tombstone. */
    public ByteBuffer value() {
        return value == null ? null : value.duplicate();
    }

    public boolean hasKey() {
        return key != null;
    }

    public boolean isTombstone() {
        return value == null;
    }

    public byte[] keyBytes() {
        return copy(key);
    }

    public byte[] valueBytes() {
        return copy(value);
    }

    public List<Header> headers() {
        return headers;
    }

    private static byte[] copy(ByteBuffer b) {
        if (b == null) {
            return null;
        }
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    /**
     * Reads one record at {@code in.position()}, advancing past it.
     *
     * @throws CorruptRecordException if the record is truncated or its fields are inconsistent
     */
    static Record read(ByteBuffer in, long baseOffset, long firstTimestamp) {
        int length = Varint.readInt(in);
        if (length < 0 || length > in.remaining()) {
            throw new CorruptRecordException("record length " + length + " exceeds the " + in.remaining() + " bytes left");
        }
        int end = in.position() + length;
        ByteBuffer r = in.slice(in.position(), length);
        in.position(end);
        try {
            r.get(); // attributes, unused
            long timestampDelta = Varint.readLong(r);
            int offsetDelta = Varint.readInt(r);
            ByteBuffer key = readBytes(r, "key");
            ByteBuffer value = readBytes(r, "value");
            int headerCount = Varint.readInt(r);
            if (headerCount < 0 || headerCount > HEADER_COUNT_MAX) {
                throw new CorruptRecordException("header count " + headerCount + " outside [0, " + HEADER_COUNT_MAX + "]");
            }
            List<Header> headers = headerCount == 0 ? List.of() : new ArrayList<>(headerCount);
            for (int i = 0; i < headerCount; i++) {
                ByteBuffer hk = readBytes(r, "header key");
                if (hk == null) {
                    throw new CorruptRecordException("null header key");
                }
                ByteBuffer hv = readBytes(r, "header value");
                headers.add(new Header(StandardCharsets.UTF_8.decode(hk).toString(), copy(hv)));
            }
            if (r.hasRemaining()) {
                throw new CorruptRecordException(r.remaining() + " trailing bytes inside a record");
            }
            return new Record(baseOffset + offsetDelta, firstTimestamp + timestampDelta, key, value,
                    headerCount == 0 ? headers : List.copyOf(headers));
        } catch (java.nio.BufferUnderflowException e) {
            throw new CorruptRecordException("record truncated", e);
        }
    }

    private static ByteBuffer readBytes(ByteBuffer r, String what) {
        int len = Varint.readInt(r);
        if (len == -1) {
            return null;
        }
        if (len < -1 || len > r.remaining()) {
            throw new CorruptRecordException(what + " length " + len + " exceeds the " + r.remaining() + " bytes left");
        }
        ByteBuffer view = r.slice(r.position(), len).asReadOnlyBuffer();
        r.position(r.position() + len);
        return view;
    }

    @Override
    public String toString() {
        return "Record(offset=" + offset + ", timestamp=" + timestamp + ", key=" + (key == null ? "null" : key.remaining() + "B")
                + ", value=" + (value == null ? "null" : value.remaining() + "B") + ", headers=" + headers.size() + ")";
    }
}

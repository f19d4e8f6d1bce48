package dev.basalt.jepsen.history;

/**
 * One message in an operation: a value at an offset of a key. {@code offset} is
 * {@link #UNKNOWN_OFFSET} where the operation does not know it (a send's invocation, an
 * indeterminate send). In a {@code COMMIT}, {@code offset} is the committed position (the next
 * offset to read) and {@code value} is unused ({@link #NO_VALUE}).
 *
 * <p>Thread-safety: immutable record.
 */
public record Msg(String key, long offset, long value) {
    public static final long UNKNOWN_OFFSET = -1;
    public static final long NO_VALUE = Long.MIN_VALUE;

    public Msg {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("a message needs a key");
        }
        if (offset < UNKNOWN_OFFSET) {
            throw new IllegalArgumentException("offset " + offset + " < -1");
        }
    }

    public boolean hasOffset() {
        return offset >= 0;
    }

    public Msg withOffset(long o) {
        return new Msg(key, o, value);
    }

    public Msg withValue(long v) {
        return new Msg(key, offset, v);
    }

    @Override
    public String toString() {
        return key + "@" + (hasOffset() ? Long.toString(offset) : "?") + (value == NO_VALUE ? "" : "=" + value);
    }
}

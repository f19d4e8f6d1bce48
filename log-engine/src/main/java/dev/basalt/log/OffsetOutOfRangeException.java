package dev.basalt.log;

/**
 * A read or truncation asked for an offset outside [logStartOffset, logEndOffset]. Maps to
 * protocol error {@code OFFSET_OUT_OF_RANGE}; the consumer resets per {@code auto.offset.reset}.
 * Immutable; thread-safe.
 */
public class OffsetOutOfRangeException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long requestedOffset;
    private final long logStartOffset;
    private final long logEndOffset;

    public OffsetOutOfRangeException(TopicPartition tp, long requestedOffset, long logStartOffset, long logEndOffset) {
        super("offset " + requestedOffset + " of " + tp + " is outside [" + logStartOffset + ", " + logEndOffset + "]");
        this.requestedOffset = requestedOffset;
        this.logStartOffset = logStartOffset;
        this.logEndOffset = logEndOffset;
    }

    public long requestedOffset() {
        return requestedOffset;
    }

    public long logStartOffset() {
        return logStartOffset;
    }

    public long logEndOffset() {
        return logEndOffset;
    }
}

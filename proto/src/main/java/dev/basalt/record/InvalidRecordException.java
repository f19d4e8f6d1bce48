package dev.basalt.record;

/**
 * A well-formed batch that a topic's policy refuses (a record without a key on a compacted topic).
 * Nothing of the batch is appended; maps to protocol error {@code INVALID_RECORD}. A subclass of
 * {@link CorruptRecordException} so callers that only know "the batch was rejected" still catch it.
 */
public class InvalidRecordException extends CorruptRecordException {
    private static final long serialVersionUID = 1L;

    public InvalidRecordException(String message) {
        super(message);
    }
}

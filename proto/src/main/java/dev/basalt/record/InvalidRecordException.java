package dev.basalt.record;

/**
 * A batch the leader refuses although its checksum matches: it breaks a producer rule (a control
 * or transactional flag, an unsupported codec, offsets that disagree with its records, record
 * sizes that disagree with its length, a timestamp out of bounds) or the topic's policy (a record
 * without a key on a compacted topic).
 * Nothing of the batch is appended; maps to protocol error {@code INVALID_RECORD}. A subclass of
 * {@link CorruptRecordException} so callers that only know "the batch was rejected" still catch it.
 */
public class InvalidRecordException extends CorruptRecordException {
    private static final long serialVersionUID = 1L;

    public InvalidRecordException(String message) {
        super(message);
    }
}

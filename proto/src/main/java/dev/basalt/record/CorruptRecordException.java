package dev.basalt.record;

/**
 * A batch failed a structural or checksum check. Nothing of a corrupt batch is ever appended;
 * maps to protocol error {@code CORRUPT_RECORD}.
 */
public class CorruptRecordException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CorruptRecordException(String message) {
        super(message);
    }

    public CorruptRecordException(String message, Throwable cause) {
        super(message, cause);
    }
}

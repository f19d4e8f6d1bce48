package dev.basalt.record;

/** A batch is larger than the configured limit (max.message.bytes). Maps to {@code RECORD_TOO_LARGE}. */
public class RecordTooLargeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RecordTooLargeException(String message) {
        super(message);
    }
}

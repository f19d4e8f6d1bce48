package dev.basalt.client;

/**
 * The topic's policy rejected a record (a compacted topic needs keys). Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidRecordException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidRecordException(String message) {
        super(message, false);
    }

    public InvalidRecordException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

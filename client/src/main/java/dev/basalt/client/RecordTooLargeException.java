package dev.basalt.client;

/**
 * A record or batch is larger than the producer's max.request.size or the topic's max.message.bytes. Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class RecordTooLargeException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public RecordTooLargeException(String message) {
        super(message, false);
    }

    public RecordTooLargeException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

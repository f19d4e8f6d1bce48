package dev.basalt.client;

/**
 * A partition count is not positive, or does not grow the topic. Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidPartitionsException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidPartitionsException(String message) {
        super(message, false);
    }

    public InvalidPartitionsException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

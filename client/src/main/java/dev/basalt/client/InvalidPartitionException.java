package dev.basalt.client;

/**
 * The partition index is outside the topic's partition count. Definite; not retriable with the same index.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidPartitionException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidPartitionException(String message) {
        super(message, false);
    }

    public InvalidPartitionException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

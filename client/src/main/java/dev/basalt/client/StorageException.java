package dev.basalt.client;

/**
 * The leader's storage failed. Definite; retriable once leadership moves.
 *
 * <p>Thread-safety: immutable.
 */
public class StorageException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public StorageException(String message) {
        super(message, true);
    }

    public StorageException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

package dev.basalt.client;

/**
 * The cluster rejected the request as malformed. Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidRequestException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidRequestException(String message) {
        super(message, false);
    }

    public InvalidRequestException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

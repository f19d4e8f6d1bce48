package dev.basalt.client;

/**
 * No broker could be reached (connection refused, unknown host, no route). Definite: the request was never delivered.
 *
 * <p>Thread-safety: immutable.
 */
public class ConnectionException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public ConnectionException(String message) {
        super(message, true);
    }

    public ConnectionException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

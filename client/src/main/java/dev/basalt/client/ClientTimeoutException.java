package dev.basalt.client;

/**
 * A client-side wait ended before the operation was sent or completed without side effects: metadata not available within max.block.ms, a read-only request timed out. Definite: nothing was changed by this client.
 *
 * <p>Thread-safety: immutable.
 */
public class ClientTimeoutException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public ClientTimeoutException(String message) {
        super(message, true);
    }

    public ClientTimeoutException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

package dev.basalt.client;

/**
 * The broker is starting or shutting down, or the replica is not loaded yet; nothing was done. Definite, retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class BrokerNotAvailableException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public BrokerNotAvailableException(String message) {
        super(message, true);
    }

    public BrokerNotAvailableException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

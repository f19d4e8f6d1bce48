package dev.basalt.client;

/**
 * The leader epoch the client used is older or newer than the leader's. Definite, retriable after a metadata refresh.
 *
 * <p>Thread-safety: immutable.
 */
public class StaleLeaderEpochException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public StaleLeaderEpochException(String message) {
        super(message, true);
    }

    public StaleLeaderEpochException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

package dev.basalt.client;

/**
 * The replication factor is not positive or exceeds the live brokers. Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidReplicationFactorException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidReplicationFactorException(String message) {
        super(message, false);
    }

    public InvalidReplicationFactorException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

package dev.basalt.client;

/**
 * acks=all and the partition's ISR is below min.insync.replicas: nothing was appended. Definite, retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class NotEnoughReplicasException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public NotEnoughReplicasException(String message) {
        super(message, true);
    }

    public NotEnoughReplicasException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

package dev.basalt.client;

/**
 * The partition leader refused a batch of the idempotent producer because its sequence does not
 * follow the producer's last batch there (the leader lost track of it, or a batch before it failed).
 * This attempt wrote nothing; the producer bumps its epoch (KIP-360) and goes on with later records.
 *
 * <p>Thread-safety: immutable.
 */
public class OutOfOrderSequenceException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public OutOfOrderSequenceException(String message) {
        super(message, false);
    }
}

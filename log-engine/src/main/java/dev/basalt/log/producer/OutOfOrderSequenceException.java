package dev.basalt.log.producer;

/**
 * An idempotent batch's sequence does not follow the producer's last batch in this partition (a
 * gap), or a new producer epoch did not start at sequence 0. Nothing was appended. Maps to
 * protocol error {@code OUT_OF_ORDER_SEQUENCE}. Immutable; thread-safe.
 */
public final class OutOfOrderSequenceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public OutOfOrderSequenceException(String message) {
        super(message);
    }
}

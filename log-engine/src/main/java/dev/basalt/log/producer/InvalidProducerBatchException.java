package dev.basalt.log.producer;

/**
 * A payload the producer-state rules cannot accept as a whole: a batch with a producer id but a
 * negative epoch or sequence, or a payload mixing retries of stored batches with new ones (its
 * answer would need two offsets). Nothing was appended. Maps to protocol error
 * {@code INVALID_REQUEST}. Immutable; thread-safe.
 */
public final class InvalidProducerBatchException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public InvalidProducerBatchException(String message) {
        super(message);
    }
}

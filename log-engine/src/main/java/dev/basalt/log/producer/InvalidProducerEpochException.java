package dev.basalt.log.producer;

/**
 * An idempotent batch carries a producer epoch older than the latest this partition has seen for
 * its producer id (a zombie of a producer that bumped its epoch since). Nothing was appended. Maps
 * to protocol error {@code INVALID_PRODUCER_EPOCH}. Immutable; thread-safe.
 */
public final class InvalidProducerEpochException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public InvalidProducerEpochException(String message) {
        super(message);
    }
}

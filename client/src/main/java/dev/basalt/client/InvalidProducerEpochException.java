package dev.basalt.client;

/**
 * The partition leader refused a batch because its producer epoch is older than one it already saw
 * for the producer id. This attempt wrote nothing; the producer takes a fresh producer id.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidProducerEpochException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidProducerEpochException(String message) {
        super(message, false);
    }
}

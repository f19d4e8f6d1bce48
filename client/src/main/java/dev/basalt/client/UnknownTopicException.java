package dev.basalt.client;

/**
 * The topic does not exist (or is not yet known to the broker asked). Definite; retriable because a topic just created may still be propagating.
 *
 * <p>Thread-safety: immutable.
 */
public class UnknownTopicException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public UnknownTopicException(String message) {
        super(message, true);
    }

    public UnknownTopicException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

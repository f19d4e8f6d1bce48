package dev.basalt.client;

/**
 * A topic with this name already exists. Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class TopicExistsException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public TopicExistsException(String message) {
        super(message, false);
    }

    public TopicExistsException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

package dev.basalt.client;

/**
 * The topic name is not legal (empty, ".", "..", longer than 249 characters, or characters outside [a-zA-Z0-9._-]). Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidTopicException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidTopicException(String message) {
        super(message, false);
    }

    public InvalidTopicException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

package dev.basalt.client;

/**
 * The topic was deleted and re-created (its id changed) since the client resolved it. Definite; refresh metadata.
 *
 * <p>Thread-safety: immutable.
 */
public class InvalidTopicIdException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public InvalidTopicIdException(String message) {
        super(message, true);
    }

    public InvalidTopicIdException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

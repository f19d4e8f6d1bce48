package dev.basalt.client;

/**
 * The broker refused the request because a limit was reached (queue full). Definite, retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class ThrottledException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public ThrottledException(String message) {
        super(message, true);
    }

    public ThrottledException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

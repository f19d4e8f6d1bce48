package dev.basalt.client;

/**
 * The metadata quorum has no leader right now; nothing was done. Definite, retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class NotControllerException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public NotControllerException(String message) {
        super(message, true);
    }

    public NotControllerException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

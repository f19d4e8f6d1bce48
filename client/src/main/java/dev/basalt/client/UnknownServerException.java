package dev.basalt.client;

/**
 * An unexpected server-side error; the broker's log has the details. Definite: the broker reports it before applying anything.
 *
 * <p>Thread-safety: immutable.
 */
public class UnknownServerException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public UnknownServerException(String message) {
        super(message, false);
    }

    public UnknownServerException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

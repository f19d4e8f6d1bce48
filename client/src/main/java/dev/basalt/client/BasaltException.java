package dev.basalt.client;

/**
 * Base of every exception the Basalt client throws for an operation. Subclasses are split by
 * what the caller can conclude: {@link DefiniteException} (the operation did not happen) and
 * {@link IndeterminateException} (it may have happened). Configuration mistakes are
 * {@link ConfigException}.
 *
 * <p>Thread-safety: immutable.
 */
public abstract class BasaltException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    protected BasaltException(String message) {
        super(message);
    }

    protected BasaltException(String message, Throwable cause) {
        super(message, cause);
    }

    /** True if the same operation may succeed when tried again later (after a metadata refresh). */
    public abstract boolean retriable();
}

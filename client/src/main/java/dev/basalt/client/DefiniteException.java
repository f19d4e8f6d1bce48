package dev.basalt.client;

/**
 * The operation definitely did not take effect: nothing was written or changed, so retrying it
 * cannot duplicate anything. Whether a retry can succeed is told by {@link #retriable()}.
 *
 * <p>Thread-safety: immutable.
 */
public class DefiniteException extends BasaltException {
    private static final long serialVersionUID = 1L;
    private final boolean retriable;

    public DefiniteException(String message, boolean retriable) {
        super(message);
        this.retriable = retriable;
    }

    public DefiniteException(String message, boolean retriable, Throwable cause) {
        super(message, cause);
        this.retriable = retriable;
    }

    @Override
    public boolean retriable() {
        return retriable;
    }
}

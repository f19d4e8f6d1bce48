package dev.basalt.raft.driver;

/**
 * Indeterminate failure: the request may or may not take effect (a proposal was appended but its
 * fate was not learned before a timeout, a leadership change or shutdown). The caller must not
 * assume either outcome; retrying a non-idempotent proposal may apply it twice. Immutable,
 * thread-safe.
 */
public final class IndeterminateException extends RaftException {
    private static final long serialVersionUID = 1L;

    public IndeterminateException(String message) {
        super(message);
    }

    public IndeterminateException(String message, Throwable cause) {
        super(message, cause);
    }
}

package dev.basalt.raft.driver;

/**
 * Definite failure: the leader refused the request for now (a configuration change is still
 * uncommitted, the leader has not committed in its term yet, or too many reads are pending). It
 * did not take effect; retry later. Immutable, thread-safe.
 */
public final class RefusedException extends RaftException {
    private static final long serialVersionUID = 1L;

    public RefusedException(String message) {
        super(message);
    }
}

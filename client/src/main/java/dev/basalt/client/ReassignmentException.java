package dev.basalt.client;

/**
 * A reassignment, decommission or plan the cluster refused; nothing changed. {@link #reason()} is the
 * protocol's error name: INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS, BROKER_DECOMMISSIONED,
 * REASSIGNMENT_UNSAFE, INSUFFICIENT_BROKERS or UNKNOWN_BROKER_ID (a decommission naming a broker that is
 * not registered). None is retried automatically ({@link #retriable()} is
 * false): the last two succeed only after the cluster changed (replicas back in sync, more brokers),
 * which the caller decides to wait for.
 *
 * <p>Thread-safety: immutable.
 */
public class ReassignmentException extends DefiniteException {
    private static final long serialVersionUID = 1L;
    private final String reason;

    public ReassignmentException(String reason, String message) {
        super(message, false);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}

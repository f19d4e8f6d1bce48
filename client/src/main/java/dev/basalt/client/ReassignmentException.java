package dev.basalt.client;

/**
 * A reassignment, decommission or plan the cluster refused; nothing changed. {@link #reason()} is the
 * protocol's error name: INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS, BROKER_DECOMMISSIONED
 * (not retriable as is) or REASSIGNMENT_UNSAFE, INSUFFICIENT_BROKERS (retriable once the cluster changed:
 * replicas back in sync, more brokers).
 *
 * <p>Thread-safety: immutable.
 */
public class ReassignmentException extends DefiniteException {
    private static final long serialVersionUID = 1L;
    private final String reason;

    public ReassignmentException(String reason, String message, boolean retriable) {
        super(message, retriable);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}

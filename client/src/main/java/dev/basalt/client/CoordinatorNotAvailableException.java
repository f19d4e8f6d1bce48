package dev.basalt.client;

/**
 * The group's coordinator is not available here now: it is being created (a fresh cluster's
 * __consumer_offsets), loading its groups, or has moved to another broker. Nothing was done;
 * asking again (after finding the coordinator again) may succeed. Definite, retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class CoordinatorNotAvailableException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public CoordinatorNotAvailableException(String message) {
        super(message, true);
    }
}

package dev.basalt.client;

/**
 * Thrown by {@link Consumer#poll} when another thread called {@link Consumer#wakeup()}. Nothing
 * was consumed by the interrupted poll.
 *
 * <p>Thread-safety: immutable.
 */
public class WakeupException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public WakeupException() {
        super("consumer woken up", false);
    }
}

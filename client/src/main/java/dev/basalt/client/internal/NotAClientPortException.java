package dev.basalt.client.internal;

import dev.basalt.client.ConnectionException;

/**
 * Every address asked answered, but none as a Basalt client port: a node's admin HTTP port, a
 * controller-only node's port, something else that is not a broker's client listener. Asking
 * again will not change that, so the clients' retry loops end at once instead of waiting out
 * their timeout (found probing: {@code basalt -b HOST:HTTP_PORT topics --list} waited 15 s for a
 * message it could give at once). A {@link ConnectionException}: nothing was delivered.
 *
 * <p>Only a whole walk over the addresses ends with this type ({@link HedgedRead}, {@link
 * AdminCalls}); one address's such failure beside others' is a plain {@link ConnectionException}
 * (the other brokers may be starting).
 *
 * <p>Thread-safety: immutable.
 */
public final class NotAClientPortException extends ConnectionException {
    private static final long serialVersionUID = 1L;

    public NotAClientPortException(String message, Throwable cause) {
        super(message, cause);
    }

    /** {@code e} if it is not one; else a plain {@link ConnectionException} with its message (others asked were not wrong ports). */
    public static dev.basalt.client.BasaltException asOneOfSeveral(dev.basalt.client.BasaltException e) {
        return e instanceof NotAClientPortException ? new ConnectionException(e.getMessage(), e) : e;
    }
}

package dev.basalt.raft.driver;

/** Base of the failures a {@link RaftNode} reports through its futures. Immutable, thread-safe. */
public class RaftException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RaftException(String message) {
        super(message);
    }

    public RaftException(String message, Throwable cause) {
        super(message, cause);
    }
}

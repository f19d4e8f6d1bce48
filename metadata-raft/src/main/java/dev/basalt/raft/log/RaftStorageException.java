package dev.basalt.raft.log;

/**
 * Durable Raft storage failed or holds corrupt data (I/O error, CRC mismatch before the last
 * durable point). The node must stop voting and leading: for good, unless the failure was only a
 * full file system ({@link #outOfSpace()}), after which it may reopen the store and rejoin once
 * there is room again.
 */
public class RaftStorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RaftStorageException(String message) {
        super(message);
    }

    public RaftStorageException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Whether the cause was only a lack of space ({@link OutOfSpaceException}): nothing that was
     * durable changed, and reopening the store (which truncates a torn tail) gives back the state
     * of the last successful fsync.
     */
    public boolean outOfSpace() {
        for (Throwable t = getCause(); t != null; t = t.getCause()) {
            if (t instanceof OutOfSpaceException) {
                return true;
            }
        }
        return false;
    }
}

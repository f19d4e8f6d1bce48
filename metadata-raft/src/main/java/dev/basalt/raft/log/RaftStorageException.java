package dev.basalt.raft.log;

/**
 * Durable Raft storage failed or holds corrupt data (I/O error, CRC mismatch before the last
 * durable point). Fatal for the node: it must stop voting and leading.
 */
public class RaftStorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RaftStorageException(String message) {
        super(message);
    }

    public RaftStorageException(String message, Throwable cause) {
        super(message, cause);
    }
}

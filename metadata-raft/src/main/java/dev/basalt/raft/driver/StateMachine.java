package dev.basalt.raft.driver;

import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;

/**
 * The replicated state machine fed by a {@link RaftNode} (the metadata layer implements it). All
 * methods are called on the node's driver thread only, so implementations need no locking for
 * these calls (they must publish state to other threads safely themselves).
 *
 * <p>{@link #apply} receives every committed entry exactly once per node incarnation, in index
 * order, after the entry is durable; NOOP and CONFIGURATION entries are passed too (to keep the
 * applied offset exact) and may be ignored. After a restart, the node first calls
 * {@link #restore} with its latest snapshot (if any), then applies entries after it.
 */
public interface StateMachine {
    void apply(LogEntry entry);

    /** A serialized image of the state as of the last applied entry. */
    byte[] snapshot();

    /** Replaces the whole state with a snapshot (taken locally or received from the leader). */
    void restore(SnapshotMeta meta, byte[] data);
}

package dev.basalt.raft.core;

import dev.basalt.raft.log.LogEntry;
import java.util.List;
import java.util.Objects;

/**
 * A message between two Raft nodes, in domain form (the gRPC transport maps it to and from
 * {@code basalt.v1} protobuf messages at the edge). Immutable and thread-safe: byte arrays and
 * lists are never modified after construction.
 *
 * <p>Every message carries the sender's term (Raft paper §5.1: a stale term is rejected, a newer
 * one makes the receiver step down).
 */
public sealed interface RaftMessage {
    int from();

    int to();

    long term();

    /**
     * RequestVote (§5.2, §5.4.1) or, with {@code preVote}, the pre-vote of dissertation §9.6 whose
     * {@code term} is the term the sender would campaign in, without having incremented its own.
     * {@code transfer} marks an election started by TimeoutNow (§3.10), which voters grant even while
     * they still hear from a leader.
     */
    record VoteRequest(int from, int to, long term, long lastLogIndex, long lastLogTerm, boolean preVote,
                       boolean transfer) implements RaftMessage {
    }

    /** Reply to a {@link VoteRequest}; a granted pre-vote echoes the requested term. */
    record VoteResponse(int from, int to, long term, boolean granted, boolean preVote) implements RaftMessage {
    }

    /**
     * AppendEntries (§5.3); with no entries it is a heartbeat (§5.2). {@code readSeq} is the
     * leader's latest ReadIndex round (dissertation §6.4), echoed in the response.
     */
    record AppendRequest(int from, int to, long term, long prevLogIndex, long prevLogTerm, List<LogEntry> entries,
                         long leaderCommit, long readSeq) implements RaftMessage {
        public AppendRequest {
            entries = List.copyOf(Objects.requireNonNull(entries, "entries"));
        }
    }

    /**
     * Reply to an {@link AppendRequest}. On success {@code matchIndex} is the last index known to
     * agree with the leader. On rejection {@code rejectedIndex} is the request's prevLogIndex and
     * {@code hintIndex} the follower's guess of the last index that may agree (§5.3 optimization).
     */
    record AppendResponse(int from, int to, long term, boolean success, long matchIndex, long rejectedIndex,
                          long hintIndex, long readSeq) implements RaftMessage {
    }

    /**
     * One chunk of InstallSnapshot (§7): bytes {@code [offset, offset + data.length)} of the
     * snapshot that replaces entries up to {@code lastIndex}; {@code done} marks the last chunk.
     * Voters and observers are the configuration at {@code lastIndex}.
     */
    record InstallSnapshotRequest(int from, int to, long term, long lastIndex, long lastTerm, List<Integer> voters,
                                  List<Integer> observers, int offset, byte[] data, boolean done)
            implements RaftMessage {
        public InstallSnapshotRequest {
            voters = List.copyOf(voters);
            observers = List.copyOf(observers);
            Objects.requireNonNull(data, "data");
            if (offset < 0) {
                throw new IllegalArgumentException("negative snapshot offset " + offset);
            }
        }
    }

    /** Reply to a chunk: the offset the follower expects next, or {@code done} once installed. */
    record InstallSnapshotResponse(int from, int to, long term, long lastIndex, int nextOffset, boolean done)
            implements RaftMessage {
    }

    /** Leadership transfer (dissertation §3.10): the target starts an election at once. */
    record TimeoutNowRequest(int from, int to, long term) implements RaftMessage {
    }
}

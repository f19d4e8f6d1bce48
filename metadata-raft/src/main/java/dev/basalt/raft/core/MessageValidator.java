package dev.basalt.raft.core;

import dev.basalt.raft.core.RaftMessage.AppendRequest;
import dev.basalt.raft.core.RaftMessage.AppendResponse;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotRequest;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotResponse;
import dev.basalt.raft.core.RaftMessage.VoteRequest;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.quorum.Configuration;

/**
 * Rejects structurally malformed messages before they reach any handler, so a bad message never
 * changes state half-way: everything a handler would decode or index with (configuration
 * entries, a snapshot's member lists, chunk offsets and sizes, indexes in answers) is checked
 * here, and a handler that still throws is a bug in the core (the call is then abandoned and the
 * node stops, see {@link RaftCore}). Stateless and thread-safe.
 */
final class MessageValidator {
    private MessageValidator() {
    }

    static void validate(RaftMessage m, int localId) {
        if (m.to() != localId) {
            throw new IllegalArgumentException("message for node " + m.to() + " delivered to " + localId + ": " + m);
        }
        if (m.from() == localId || m.from() < 0) {
            throw new IllegalArgumentException("bad sender " + m.from() + ": " + m);
        }
        if (m.term() < 0) {
            throw new IllegalArgumentException("negative term: " + m);
        }
        if (m instanceof AppendRequest a) {
            validateAppend(a);
        } else if (m instanceof InstallSnapshotRequest s) {
            validateSnapshotChunk(s);
        } else if (m instanceof AppendResponse r) {
            if (r.matchIndex() < 0 || r.rejectedIndex() < 0 || r.hintIndex() < 0 || r.readSeq() < 0) {
                throw new IllegalArgumentException("malformed append answer: match=" + r.matchIndex() + " rejected="
                        + r.rejectedIndex() + " hint=" + r.hintIndex() + " readSeq=" + r.readSeq());
            }
        } else if (m instanceof InstallSnapshotResponse r) {
            if (r.lastIndex() < 0 || r.nextOffset() < 0 || r.nextOffset() > SNAPSHOT_BYTES_MAX) {
                throw new IllegalArgumentException("malformed snapshot answer: lastIndex=" + r.lastIndex()
                        + " nextOffset=" + r.nextOffset());
            }
        } else if (m instanceof VoteRequest v) {
            if (v.lastLogIndex() < 0 || v.lastLogTerm() < 0 || v.lastLogTerm() > v.term()) {
                throw new IllegalArgumentException("malformed vote request: lastLog=" + v.lastLogIndex() + "/"
                        + v.lastLogTerm() + " term=" + v.term());
            }
        }
    }

    /** The largest snapshot a node accepts (bytes): chunks accumulate in one array. */
    static final int SNAPSHOT_BYTES_MAX = Integer.MAX_VALUE - 8;

    private static void validateSnapshotChunk(InstallSnapshotRequest s) {
        if (s.lastIndex() < 1 || s.lastTerm() < 1 || s.lastTerm() > s.term() || s.voters().isEmpty()) {
            throw new IllegalArgumentException("malformed snapshot chunk: lastIndex=" + s.lastIndex()
                    + " lastTerm=" + s.lastTerm() + " voters=" + s.voters());
        }
        if ((long) s.offset() + s.data().length > SNAPSHOT_BYTES_MAX) {
            throw new IllegalArgumentException("snapshot chunk at offset " + s.offset() + " of " + s.data().length
                    + " bytes would make the snapshot larger than " + SNAPSHOT_BYTES_MAX + " bytes");
        }
        Configuration.of(s.voters(), s.observers()); // overlapping or too many members throw here
    }

    private static void validateAppend(AppendRequest a) {
        if (a.prevLogIndex() < 0 || a.prevLogTerm() < 0 || a.leaderCommit() < 0 || a.prevLogTerm() > a.term()
                || a.readSeq() < 0) {
            throw new IllegalArgumentException("malformed append header: prev=" + a.prevLogIndex() + "/"
                    + a.prevLogTerm() + " commit=" + a.leaderCommit() + " term=" + a.term() + " readSeq=" + a.readSeq());
        }
        long expected = a.prevLogIndex() + 1;
        long lastTerm = a.prevLogTerm();
        for (LogEntry e : a.entries()) {
            if (e.index() != expected) {
                throw new IllegalArgumentException("non-consecutive entry " + e.index() + ", expected " + expected);
            }
            if (e.term() < lastTerm || e.term() > a.term()) {
                throw new IllegalArgumentException("entry " + e.index() + " has term " + e.term()
                        + " outside [" + lastTerm + ", " + a.term() + "]");
            }
            if (e.type() == LogEntry.EntryType.CONFIGURATION && Configuration.decode(e.data()).voters().isEmpty()) {
                // (an undecodable membership entry throws in decode)
                throw new IllegalArgumentException("membership entry " + e.index() + " has no voters");
            }
            lastTerm = e.term();
            expected++;
        }
    }
}

package dev.basalt.raft.core;

import dev.basalt.raft.core.RaftMessage.AppendRequest;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotRequest;
import dev.basalt.raft.log.LogEntry;

/**
 * Rejects structurally malformed messages before they reach any handler, so a bad message never
 * changes state half-way. Stateless and thread-safe.
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
            if (s.lastIndex() < 1 || s.lastTerm() < 1 || s.lastTerm() > s.term() || s.voters().isEmpty()) {
                throw new IllegalArgumentException("malformed snapshot chunk: lastIndex=" + s.lastIndex()
                        + " lastTerm=" + s.lastTerm() + " voters=" + s.voters());
            }
        }
    }

    private static void validateAppend(AppendRequest a) {
        if (a.prevLogIndex() < 0 || a.prevLogTerm() < 0 || a.leaderCommit() < 0 || a.prevLogTerm() > a.term()) {
            throw new IllegalArgumentException("malformed append header: prev=" + a.prevLogIndex() + "/"
                    + a.prevLogTerm() + " commit=" + a.leaderCommit() + " term=" + a.term());
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
            lastTerm = e.term();
            expected++;
        }
    }
}

package dev.basalt.broker.replica;

import dev.basalt.proto.v1.ErrorCode;

/**
 * The answer to "which local replica serves this topic-partition?": either a partition this
 * broker leads, or the error code to answer with (and, for NOT_LEADER, the leader hint).
 * Immutable.
 */
public record Lookup(Partition partition, ErrorCode error, String message, int leaderHint, int leaderEpochHint) {
    public static final int NO_HINT = -1;

    public static Lookup found(Partition p) {
        return new Lookup(p, ErrorCode.NONE, "", NO_HINT, NO_HINT);
    }

    public static Lookup error(ErrorCode code, String message) {
        return new Lookup(null, code, message, NO_HINT, NO_HINT);
    }

    public static Lookup notLeader(String message, int leaderId, int leaderEpoch) {
        return new Lookup(null, ErrorCode.NOT_LEADER, message, leaderId, leaderEpoch);
    }

    public boolean ok() {
        return error == ErrorCode.NONE;
    }
}

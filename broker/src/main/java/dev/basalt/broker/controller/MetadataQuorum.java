package dev.basalt.broker.controller;

import dev.basalt.proto.v1.DescribeQuorumResponse;
import java.util.concurrent.CompletableFuture;

/**
 * The node's view of the metadata Raft quorum, as the controller and the broker need it.
 * Implemented over the Raft driver; thread-safe.
 */
public interface MetadataQuorum {

    /**
     * Proposes one metadata entry (a serialized MetadataRecordBatch). Completes with the entry's
     * index once it is committed <em>and applied</em> to this node's metadata image; fails with
     * {@link NotControllerException} if this node is not the leader (nothing was appended), or
     * with another exception when the outcome is unknown (leadership lost after appending).
     */
    CompletableFuture<Long> propose(byte[] recordBatch);

    /** True while this node leads the quorum and has applied everything committed before its term. */
    boolean isActiveController();

    /** Leader's node id, or -1 when none is known. */
    int leaderId();

    /** Quorum status for DescribeQuorum. */
    DescribeQuorumResponse describe();

    /** Raised when a change is sent to a node that is not the active controller. */
    final class NotControllerException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int leaderHint;

        public NotControllerException(String message, int leaderHint) {
            super(message);
            this.leaderHint = leaderHint;
        }

        public int leaderHint() {
            return leaderHint;
        }
    }
}

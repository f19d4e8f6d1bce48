package dev.basalt.broker.controller;

import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import java.util.concurrent.CompletableFuture;

/**
 * The controller's view of the metadata quorum: propose a batch of records, and know, without
 * blocking, whether this node is the active controller. Implemented over the Raft driver; thread-safe.
 */
public interface MetadataQuorum {
    /**
     * Proposes one {@code MetadataRecordBatch}. Completes with the entry's index once it is
     * committed <em>and</em> published to this node's subscribers; fails with
     * {@link NotControllerException} when this node is not (or stops being) the leader.
     */
    CompletableFuture<Long> propose(byte[] recordBatch);

    /**
     * The Raft term in which this node is the active controller, or -1. A node is active only once,
     * as leader, it has confirmed (ReadIndex) that its image holds everything committed before its
     * term. Never blocks: a flag the quorum keeps up to date from leader changes.
     */
    long activeTerm();

    default boolean isActiveController() {
        return activeTerm() >= 0;
    }

    /** The latest committed image applied on this node. */
    MetadataImage committedImage();

    /** The quorum leader this node knows of, or -1. */
    int leaderId();

    /**
     * The other nodes this node saw lead the quorum in terms before {@code term} whose leadership
     * ended lately (the controllers it took over from, an intermediate one included, whose brokers,
     * on combined nodes, may have died with them); empty if none (this node lost leadership and won
     * it back); null if unknown (this node saw no other leader since it started, or {@code term} is
     * not its active term). Never blocks.
     */
    default java.util.Set<Integer> predecessorsOf(long term) {
        return null;
    }

    DescribeQuorumResponse describe();

    /** How a node belongs to the metadata quorum (see {@link #membership}). */
    enum Membership {
        /** One of the quorum's voters now. */
        VOTER,
        /**
         * A node of the quorum that does not vote now: a Raft observer (a removed voter still
         * running) or one of controller.quorum.voters outside the latest configuration.
         */
        CONTROLLER_NOT_VOTING
    }

    /**
     * How {@code nodeId} belongs to the metadata quorum as this node knows it, or empty when it is
     * no node of the quorum (a broker-only node, which reads the metadata log as a broker, is not).
     * Lets an admin refusal naming a controller's id say so rather than "not registered". Never blocks.
     */
    default java.util.Optional<Membership> membership(int nodeId) {
        return java.util.Optional.empty();
    }

    /** The request reached a node that is not the active controller; nothing was decided. */
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

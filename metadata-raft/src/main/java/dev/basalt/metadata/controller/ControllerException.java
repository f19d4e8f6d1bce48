package dev.basalt.metadata.controller;

import java.util.Objects;

/**
 * A request the controller refuses, with the reason the caller acts on. Nothing was decided: no
 * records exist for a refused request. The broker's service edge maps {@link Reason} to the wire
 * error code. Immutable once thrown; safe to pass between threads.
 */
public final class ControllerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a request was refused. */
    public enum Reason {
        /** Illegal topic name, or it collides with an existing one over '.' versus '_'. */
        INVALID_TOPIC,
        TOPIC_ALREADY_EXISTS,
        UNKNOWN_TOPIC,
        /** Partition count not positive, over the limit, or not growing. */
        INVALID_PARTITIONS,
        /** Replication factor below 1 or above the number of live (unfenced) brokers. */
        INVALID_REPLICATION_FACTOR,
        /** The config validator rejected a key or value. */
        INVALID_CONFIG,
        /** A malformed request (missing or out-of-range field). */
        INVALID_REQUEST,
        /** The broker id is not registered. */
        UNKNOWN_BROKER,
        /** The request names an older incarnation of the broker (it restarted since). Wire code 40. */
        STALE_BROKER_INCARNATION,
        /** Another incarnation of the broker id is still alive (its session has not expired). Wire code 41. */
        DUPLICATE_BROKER_REGISTRATION,
        /** The broker is fenced and may not do this. Wire code 42. */
        BROKER_FENCED,
        /** The requester does not lead the partition. */
        NOT_LEADER,
        /** The request carries a leader epoch other than the partition's current one. */
        FENCED_LEADER_EPOCH,
        /** Compare-and-set failed: the partition epoch in the request is stale. Wire code 43. */
        STALE_PARTITION_EPOCH,
        /** A proposed ISR member is not a replica, or is fenced. Wire code 44. */
        INELIGIBLE_REPLICA,
        UNKNOWN_PARTITION,
        /** A reassignment target is empty, repeats or names an unregistered broker, or is too small. Wire code 65. */
        INVALID_REPLICA_ASSIGNMENT,
        /** A cancellation named a partition without a reassignment in progress. Wire code 66. */
        NO_REASSIGNMENT_IN_PROGRESS,
        /** A target names a decommissioned broker. Wire code 67. */
        BROKER_DECOMMISSIONED,
        /** Cancelling or replacing the reassignment now would leave too few in-sync replicas. Wire code 68. */
        REASSIGNMENT_UNSAFE,
        /** Too few active brokers to move a partition's replicas where they must go. Wire code 69. */
        INSUFFICIENT_BROKERS
    }

    private final Reason reason;

    public ControllerException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }

    @Override
    public String toString() {
        return "ControllerException(" + reason + "): " + getMessage();
    }
}

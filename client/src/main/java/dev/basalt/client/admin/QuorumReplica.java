package dev.basalt.client.admin;

/** One metadata-quorum member's replication progress as the quorum leader sees it (-1 = unknown / never). Immutable. */
public record QuorumReplica(int replicaId, long logEndOffset, long lag, long lastFetchTimestampMs, long lastCaughtUpTimestampMs) {
}

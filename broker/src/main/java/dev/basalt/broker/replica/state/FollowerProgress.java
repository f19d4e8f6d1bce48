package dev.basalt.broker.replica.state;

/**
 * A snapshot of what the leader knows about one follower in the current leader epoch. Immutable.
 *
 * @param replicaId                  the follower's broker id
 * @param logEndOffset               its log end offset (the offset of its last fetch), or
 *                                   {@link LeaderState#UNKNOWN_OFFSET} before its first fetch in this epoch
 * @param flushedOffset              the offset below which its log is fsynced, or UNKNOWN_OFFSET
 * @param lastCaughtUpTimeMs         the last time its progress reached the leader's log end offset
 *                                   (KIP-16's rule, as Kafka's {@code Replica.updateFetchState})
 * @param lastFetchTimeMs            the time of its last fetch, or -1
 * @param lastFetchLeaderEndOffset   the leader's log end offset at that fetch, or UNKNOWN_OFFSET
 */
public record FollowerProgress(int replicaId, long logEndOffset, long flushedOffset, long lastCaughtUpTimeMs,
                               long lastFetchTimeMs, long lastFetchLeaderEndOffset) {
}

package dev.basalt.raft.core;

/**
 * Tunables of the Raft core. Immutable and thread-safe.
 *
 * <p>Defaults ({@link #DEFAULT}): a heartbeat every 50 ms and an election timeout drawn uniformly
 * from [300, 600) ms. A follower suspects the leader after missing at least 6 heartbeats, which
 * rides out one or two lost packets, and the randomized spread of 300 ms (6 heartbeat intervals)
 * makes split votes rare (Raft paper §9.3). Expected failover: 300-600 ms to notice, one pre-vote
 * and one vote round trip (sub-millisecond on loopback), so well under a second.
 *
 * @param electionTimeoutMinMs     lower bound of the randomized election timeout; also the
 *                                 check-quorum period and the leader lease for rejecting votes
 * @param electionTimeoutMaxMs     exclusive upper bound of the election timeout
 * @param heartbeatIntervalMs      leader heartbeat period, well below the election timeout
 * @param appendBytesMax           payload bytes per AppendRequest (at least one entry is sent)
 * @param inflightAppendsMax       unacknowledged pipelined AppendRequests per follower
 * @param snapshotChunkBytes       bytes per InstallSnapshot chunk
 * @param pendingReadsMax          ReadIndex requests waiting at the leader
 */
public record RaftConfig(int electionTimeoutMinMs, int electionTimeoutMaxMs, int heartbeatIntervalMs,
                         int appendBytesMax, int inflightAppendsMax, int snapshotChunkBytes, int pendingReadsMax) {
    public static final RaftConfig DEFAULT = new RaftConfig(300, 600, 50, 1 << 20, 64, 256 << 10, 10_000);

    public RaftConfig {
        if (heartbeatIntervalMs < 1) {
            throw new IllegalArgumentException("heartbeatIntervalMs must be >= 1: " + heartbeatIntervalMs);
        }
        if (electionTimeoutMinMs <= heartbeatIntervalMs) {
            throw new IllegalArgumentException("electionTimeoutMinMs must exceed heartbeatIntervalMs");
        }
        if (electionTimeoutMaxMs <= electionTimeoutMinMs) {
            throw new IllegalArgumentException("electionTimeoutMaxMs must exceed electionTimeoutMinMs");
        }
        if (appendBytesMax < 1 || inflightAppendsMax < 1 || snapshotChunkBytes < 1 || pendingReadsMax < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }
}

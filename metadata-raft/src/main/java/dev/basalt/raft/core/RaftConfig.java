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
 * @param appendEntriesMax         entries per AppendRequest (at least one); bounds the work and the
 *                                 message count of a batch of empty entries (no-ops), which the
 *                                 byte limit does not see. 1 sends one entry per message, the
 *                                 shape that lets an old-term entry be acknowledged on its own
 *                                 (Raft paper Figure 8), which the simulation uses
 * @param inflightAppendsMax       unacknowledged pipelined AppendRequests per follower
 * @param snapshotChunkBytes       bytes per InstallSnapshot chunk
 * @param pendingReadsMax          ReadIndex requests waiting at the leader
 */
public record RaftConfig(int electionTimeoutMinMs, int electionTimeoutMaxMs, int heartbeatIntervalMs,
                         int appendBytesMax, int inflightAppendsMax, int snapshotChunkBytes, int pendingReadsMax,
                         int appendEntriesMax) {
    /** Default entries per AppendRequest: large enough that the byte limit decides in practice. */
    public static final int DEFAULT_APPEND_ENTRIES_MAX = 4096;
    public static final RaftConfig DEFAULT = new RaftConfig(300, 600, 50, 1 << 20, 64, 256 << 10, 10_000);

    /** The tunables with {@link #DEFAULT_APPEND_ENTRIES_MAX} entries per AppendRequest. */
    public RaftConfig(int electionTimeoutMinMs, int electionTimeoutMaxMs, int heartbeatIntervalMs,
                      int appendBytesMax, int inflightAppendsMax, int snapshotChunkBytes, int pendingReadsMax) {
        this(electionTimeoutMinMs, electionTimeoutMaxMs, heartbeatIntervalMs, appendBytesMax, inflightAppendsMax,
                snapshotChunkBytes, pendingReadsMax, DEFAULT_APPEND_ENTRIES_MAX);
    }

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
        if (appendBytesMax < 1 || appendEntriesMax < 1 || inflightAppendsMax < 1 || snapshotChunkBytes < 1 || pendingReadsMax < 1) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }
}

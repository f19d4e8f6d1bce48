package dev.basalt.raft.driver;

import dev.basalt.raft.core.RaftConfig;
import dev.basalt.raft.quorum.Configuration;
import java.util.Objects;

/**
 * Settings of a {@link RaftNode}. Immutable.
 *
 * @param nodeId               this node's id
 * @param bootstrap            the initial voters (used until the log or a snapshot carries a configuration)
 * @param raft                 core timeouts and limits
 * @param proposeTimeoutMs     a proposal whose fate is unknown after this long fails as indeterminate
 * @param readTimeoutMs        a linearizable read not confirmed after this long fails
 * @param proposalBytesMax     largest payload accepted by {@link RaftNode#propose}
 * @param pendingRequestsMax   proposals and reads waiting for their outcome; more are refused
 * @param eventQueueMax        inbound messages and requests waiting for the driver thread
 * @param batchEventsMax       events handled per driver iteration (their writes share one fsync)
 * @param snapshotEveryEntries applied entries after which a snapshot is taken and the log compacted
 * @param closeTimeoutMs       how long {@link RaftNode#close()} waits for a leadership transfer
 */
public record RaftNodeConfig(int nodeId, Configuration bootstrap, RaftConfig raft, long proposeTimeoutMs,
                             long readTimeoutMs, int proposalBytesMax, int pendingRequestsMax, int eventQueueMax,
                             int batchEventsMax, long snapshotEveryEntries, long closeTimeoutMs) {
    public RaftNodeConfig {
        Objects.requireNonNull(bootstrap, "bootstrap");
        Objects.requireNonNull(raft, "raft");
        if (proposeTimeoutMs < 1 || readTimeoutMs < 1 || proposalBytesMax < 1 || pendingRequestsMax < 1
                || eventQueueMax < 1 || batchEventsMax < 1 || snapshotEveryEntries < 1 || closeTimeoutMs < 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }

    /** Production defaults: {@link RaftConfig#DEFAULT} timeouts, 5 s proposals, 1 MiB payloads. */
    public static RaftNodeConfig defaults(int nodeId, Configuration bootstrap) {
        return new RaftNodeConfig(nodeId, bootstrap, RaftConfig.DEFAULT, 5_000, 5_000, 1 << 20, 100_000, 100_000,
                4_096, 100_000, 2_000);
    }
}

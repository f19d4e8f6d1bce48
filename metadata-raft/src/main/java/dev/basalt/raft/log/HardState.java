package dev.basalt.raft.log;

/**
 * The Raft state that must survive a crash before any message depending on it is sent (Raft
 * paper Figure 2, "persistent state on all servers"): the current term and the vote cast in it.
 * {@code commitIndex} is persisted too (as etcd does) so a restarted node can apply up to it
 * without waiting for the leader; it is a hint, never a promise beyond what the log holds.
 *
 * @param term        current term, 0 before the first election
 * @param votedFor    node id voted for in {@code term}, or {@link #NO_VOTE}
 * @param commitIndex highest index known committed (0 = none)
 */
public record HardState(long term, int votedFor, long commitIndex) {
    public static final int NO_VOTE = -1;
    public static final HardState INITIAL = new HardState(0, NO_VOTE, 0);

    public HardState {
        if (term < 0 || commitIndex < 0) {
            throw new IllegalArgumentException("negative term or commit index: " + term + ", " + commitIndex);
        }
    }
}

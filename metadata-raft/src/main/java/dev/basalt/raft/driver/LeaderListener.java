package dev.basalt.raft.driver;

/**
 * Told when a {@link RaftNode} learns of a new term or leader. Called on the driver thread: it
 * must return quickly and must not call blocking {@link RaftNode} methods.
 */
@FunctionalInterface
public interface LeaderListener {
    /** {@code leaderId} is -1 while no leader is known in {@code term}. */
    void onLeaderChange(long term, int leaderId);
}

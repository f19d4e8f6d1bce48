package dev.basalt.raft.state;

/**
 * A node that knows the leader of its term (Raft paper §5.2: followers are passive and only
 * answer the leader and candidates). Observers are always followers or unattached. Tracks when the
 * leader was last heard from, both for the election timeout and for the leader lease that makes
 * it reject votes (dissertation §4.2.3, with pre-vote §9.6). Mutable, confined to the core's thread.
 */
public final class FollowerState implements EpochState {
    private final long term;
    private final int leaderId;
    private final int votedFor;
    private long electionDeadlineMs;
    private long lastLeaderContactMs;

    FollowerState(long term, int leaderId, int votedFor, long electionDeadlineMs, long nowMs) {
        this.term = term;
        this.leaderId = leaderId;
        this.votedFor = votedFor;
        this.electionDeadlineMs = electionDeadlineMs;
        this.lastLeaderContactMs = nowMs;
    }

    @Override
    public long term() {
        return term;
    }

    @Override
    public int votedFor() {
        return votedFor;
    }

    @Override
    public int leaderId() {
        return leaderId;
    }

    @Override
    public long electionDeadlineMs() {
        return electionDeadlineMs;
    }

    /** The leader was heard from: postpone the election (§5.2). */
    public void leaderContact(long nowMs, long electionDeadlineMs) {
        this.lastLeaderContactMs = nowMs;
        this.electionDeadlineMs = electionDeadlineMs;
    }

    void resetElectionDeadline(long deadlineMs) {
        electionDeadlineMs = deadlineMs;
    }

    /** When the leader was last heard from (the core's clock). */
    public long lastLeaderContactMs() {
        return lastLeaderContactMs;
    }

    /** Whether the leader was heard from within {@code leaseMs}; votes are then refused. */
    public boolean leaderLeaseValid(long nowMs, long leaseMs) {
        return nowMs - lastLeaderContactMs < leaseMs;
    }

    @Override
    public String name() {
        return "Follower";
    }

    @Override
    public String toString() {
        return "Follower(term=" + term + ", leader=" + leaderId + ")";
    }
}

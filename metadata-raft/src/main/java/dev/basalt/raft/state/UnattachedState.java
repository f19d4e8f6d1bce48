package dev.basalt.raft.state;

/**
 * A node that knows a term but no leader for it (Raft paper §5.2: a follower that has not heard
 * from a leader; it may have voted). Entered at start-up, on seeing a higher term in a vote or a
 * response, and by a leader that lost check-quorum. Mutable (the deadline), confined to the core's
 * thread.
 */
public final class UnattachedState implements EpochState {
    private final long term;
    private int votedFor;
    private long electionDeadlineMs;

    UnattachedState(long term, int votedFor, long electionDeadlineMs) {
        this.term = term;
        this.votedFor = votedFor;
        this.electionDeadlineMs = electionDeadlineMs;
    }

    @Override
    public long term() {
        return term;
    }

    @Override
    public int votedFor() {
        return votedFor;
    }

    void recordVote(int candidateId) {
        if (votedFor != dev.basalt.raft.log.HardState.NO_VOTE && votedFor != candidateId) {
            throw new IllegalStateException("already voted for " + votedFor + " in term " + term);
        }
        votedFor = candidateId;
    }

    @Override
    public int leaderId() {
        return NO_LEADER;
    }

    @Override
    public long electionDeadlineMs() {
        return electionDeadlineMs;
    }

    void resetElectionDeadline(long deadlineMs) {
        electionDeadlineMs = deadlineMs;
    }

    @Override
    public String name() {
        return "Unattached";
    }

    @Override
    public String toString() {
        return "Unattached(term=" + term + ", votedFor=" + votedFor + ")";
    }
}

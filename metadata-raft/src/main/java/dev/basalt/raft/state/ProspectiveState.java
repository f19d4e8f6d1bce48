package dev.basalt.raft.state;

import java.util.Set;

/**
 * A voter running a pre-vote (dissertation §9.6): it asks whether it could win an election in
 * {@code term() + 1} without incrementing its own term, so a partitioned node cannot disrupt a
 * working leader when it comes back. Mutable, confined to the core's thread.
 */
public final class ProspectiveState implements EpochState {
    private final long term;
    private final int votedFor;
    private long electionDeadlineMs;
    private final VoteTally votes;

    ProspectiveState(long term, int votedFor, int localId, long electionDeadlineMs) {
        this.term = term;
        this.votedFor = votedFor;
        this.electionDeadlineMs = electionDeadlineMs;
        this.votes = new VoteTally(localId);
    }

    @Override
    public long term() {
        return term;
    }

    /** The term this node would campaign in. */
    public long campaignTerm() {
        return term + 1;
    }

    @Override
    public int votedFor() {
        return votedFor;
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

    public void recordPreVote(int voterId, boolean grant) {
        votes.record(voterId, grant);
    }

    public Set<Integer> granted() {
        return votes.granted();
    }

    @Override
    public String name() {
        return "Prospective";
    }

    @Override
    public String toString() {
        return "Prospective(term=" + term + ", granted=" + votes.granted() + ")";
    }
}

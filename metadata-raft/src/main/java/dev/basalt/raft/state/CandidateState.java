package dev.basalt.raft.state;

import java.util.Set;

/**
 * A voter campaigning in its term (Raft paper §5.2): it voted for itself and counts the votes it
 * receives; a majority makes it leader. Mutable, confined to the core's thread.
 */
public final class CandidateState implements EpochState {
    private final long term;
    private final int localId;
    private long electionDeadlineMs;
    private final boolean transfer;
    private final VoteTally votes;

    CandidateState(long term, int localId, long electionDeadlineMs, boolean transfer) {
        this.term = term;
        this.localId = localId;
        this.electionDeadlineMs = electionDeadlineMs;
        this.transfer = transfer;
        this.votes = new VoteTally(localId);
    }

    @Override
    public long term() {
        return term;
    }

    @Override
    public int votedFor() {
        return localId;
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

    /** Whether this election was started by a leadership transfer (TimeoutNow, §3.10). */
    public boolean transfer() {
        return transfer;
    }

    public void recordVote(int voterId, boolean grant) {
        votes.record(voterId, grant);
    }

    public Set<Integer> granted() {
        return votes.granted();
    }

    @Override
    public String name() {
        return "Candidate";
    }

    @Override
    public String toString() {
        return "Candidate(term=" + term + ", granted=" + votes.granted() + ")";
    }
}

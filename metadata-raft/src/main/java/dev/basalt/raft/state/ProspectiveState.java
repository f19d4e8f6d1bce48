package dev.basalt.raft.state;

import java.util.Set;
import java.util.TreeSet;

/**
 * A voter running a pre-vote (dissertation §9.6): it asks whether it could win an election in
 * {@code term() + 1} without incrementing its own term, so a partitioned node cannot disrupt a
 * working leader when it comes back. Mutable, confined to the core's thread.
 */
public final class ProspectiveState implements EpochState {
    private final long term;
    private final int votedFor;
    private long electionDeadlineMs;
    private final Set<Integer> granted = new TreeSet<>();
    private final Set<Integer> rejected = new TreeSet<>();

    ProspectiveState(long term, int votedFor, int localId, long electionDeadlineMs) {
        this.term = term;
        this.votedFor = votedFor;
        this.electionDeadlineMs = electionDeadlineMs;
        granted.add(localId);
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
        (grant ? granted : rejected).add(voterId);
    }

    public Set<Integer> granted() {
        return granted;
    }

    @Override
    public String name() {
        return "Prospective";
    }

    @Override
    public String toString() {
        return "Prospective(term=" + term + ", granted=" + granted + ")";
    }
}

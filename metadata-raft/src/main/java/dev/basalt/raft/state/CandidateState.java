package dev.basalt.raft.state;

import java.util.Set;
import java.util.TreeSet;

/**
 * A voter campaigning in its term (Raft paper §5.2): it voted for itself and counts the votes it
 * receives; a majority makes it leader. Mutable, confined to the core's thread.
 */
public final class CandidateState implements EpochState {
    private final long term;
    private final int localId;
    private long electionDeadlineMs;
    private final boolean transfer;
    private final Set<Integer> granted = new TreeSet<>();
    private final Set<Integer> rejected = new TreeSet<>();

    CandidateState(long term, int localId, long electionDeadlineMs, boolean transfer) {
        this.term = term;
        this.localId = localId;
        this.electionDeadlineMs = electionDeadlineMs;
        this.transfer = transfer;
        granted.add(localId);
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
        (grant ? granted : rejected).add(voterId);
    }

    public Set<Integer> granted() {
        return granted;
    }

    @Override
    public String name() {
        return "Candidate";
    }

    @Override
    public String toString() {
        return "Candidate(term=" + term + ", granted=" + granted + ")";
    }
}

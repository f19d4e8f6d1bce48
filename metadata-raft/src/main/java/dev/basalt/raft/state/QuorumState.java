package dev.basalt.raft.state;

import dev.basalt.raft.log.HardState;
import dev.basalt.raft.quorum.ProgressTracker;
import java.util.random.RandomGenerator;

/**
 * The single owner of a node's role and of its term and vote (Raft paper Figure 2 "persistent
 * state"). Every role change goes through one of its {@code transitionTo*} methods, which check
 * that the change is legal. Mutable, confined to the core's thread.
 *
 * <p>Legal transitions ({@code T} is the current term; "higher term" means a message carried a
 * term above {@code T}):
 * <pre>
 * from \ to     Unattached        Follower             Prospective     Candidate         Leader     Resigned
 * Unattached    higher term       leader of T or more  timeout(voter)  -                 -          -
 * Follower      higher term       higher term          timeout(voter)  TimeoutNow(T)     -          -
 * Prospective   higher term       leader of T or more  timeout         pre-vote quorum   -          -
 * Candidate     higher term       leader of T or more  timeout         -                 quorum     -
 * Leader        higher term,      higher term          -               -                 -          removed /
 *               check-quorum                                                                        shutdown
 * Resigned      higher term       higher term          -               -                 -          -
 * </pre>
 * A transition to Candidate increments the term and votes for itself; every change of term or
 * vote marks the hard state dirty, and the core emits it for the driver to persist before any
 * message is sent.
 *
 * <p>Election deadlines are drawn uniformly from [electionTimeoutMinMs, electionTimeoutMaxMs) with
 * the injected, seeded generator (§5.2 randomized timeouts), never from ambient randomness.
 */
public final class QuorumState {
    private final int localId;
    private final RandomGenerator random;
    private final int electionTimeoutMinMs;
    private final int electionTimeoutMaxMs;
    private EpochState state;
    private boolean hardStateDirty;

    public QuorumState(int localId, RandomGenerator random, int electionTimeoutMinMs, int electionTimeoutMaxMs,
                       HardState restored, long nowMs) {
        this.localId = localId;
        this.random = random;
        this.electionTimeoutMinMs = electionTimeoutMinMs;
        this.electionTimeoutMaxMs = electionTimeoutMaxMs;
        this.state = new UnattachedState(restored.term(), restored.votedFor(), randomDeadline(nowMs));
    }

    public EpochState state() {
        return state;
    }

    public long term() {
        return state.term();
    }

    public int votedFor() {
        return state.votedFor();
    }

    public int leaderId() {
        return state.leaderId();
    }

    public boolean isLeader() {
        return state instanceof LeaderState;
    }

    /** Returns whether term or vote changed since the last call, and clears the flag. */
    public boolean takeHardStateDirty() {
        boolean dirty = hardStateDirty;
        hardStateDirty = false;
        return dirty;
    }

    public long randomDeadline(long nowMs) {
        return nowMs + random.nextLong(electionTimeoutMinMs, electionTimeoutMaxMs);
    }

    /** Higher term seen without a leader, or a leader that failed check-quorum (same term). */
    public void transitionToUnattached(long term, long nowMs) {
        if (term < state.term()) {
            throw new IllegalStateException("unattached term " + term + " below " + state.term());
        }
        if (term == state.term() && !(state instanceof LeaderState)) {
            throw new IllegalStateException("unattached in same term only from Leader, not " + state);
        }
        int vote = term == state.term() ? state.votedFor() : HardState.NO_VOTE;
        setState(new UnattachedState(term, vote, randomDeadline(nowMs)));
    }

    /** A leader of {@code term} was discovered (AppendEntries, InstallSnapshot or TimeoutNow). */
    public void transitionToFollower(long term, int leaderId, long nowMs) {
        if (leaderId == localId) {
            throw new IllegalArgumentException("cannot follow itself");
        }
        if (term < state.term()) {
            throw new IllegalStateException("follower term " + term + " below " + state.term());
        }
        if (term == state.term()) {
            if (state instanceof LeaderState || state instanceof ResignedState) {
                throw new IllegalStateException("two leaders in term " + term + ": " + localId + " and " + leaderId);
            }
            if (state instanceof FollowerState f && f.leaderId() != leaderId) {
                throw new IllegalStateException("two leaders in term " + term + ": " + f.leaderId() + " and " + leaderId);
            }
        }
        int vote = term == state.term() ? state.votedFor() : HardState.NO_VOTE;
        setState(new FollowerState(term, leaderId, vote, randomDeadline(nowMs), nowMs));
    }

    /** Election timeout of a voter: start a pre-vote (dissertation §9.6). */
    public ProspectiveState transitionToProspective(long nowMs) {
        if (state instanceof LeaderState || state instanceof ResignedState) {
            throw new IllegalStateException("prospective from " + state);
        }
        ProspectiveState p = new ProspectiveState(state.term(), state.votedFor(), localId, randomDeadline(nowMs));
        setState(p);
        return p;
    }

    /** Pre-vote won, or TimeoutNow received: increment the term and vote for itself (§5.2). */
    public CandidateState transitionToCandidate(long nowMs, boolean transfer) {
        boolean legal = state instanceof ProspectiveState || (transfer && state instanceof FollowerState);
        if (!legal) {
            throw new IllegalStateException("candidate from " + state + (transfer ? " (transfer)" : ""));
        }
        CandidateState c = new CandidateState(state.term() + 1, localId, randomDeadline(nowMs), transfer);
        setState(c);
        return c;
    }

    /** The candidate won a majority (§5.2). */
    public LeaderState transitionToLeader(ProgressTracker progress, long noopIndex, long nowMs, int heartbeatIntervalMs) {
        if (!(state instanceof CandidateState)) {
            throw new IllegalStateException("leader from " + state);
        }
        LeaderState l = new LeaderState(state.term(), localId, progress, noopIndex, nowMs, heartbeatIntervalMs,
                electionTimeoutMinMs);
        setState(l);
        return l;
    }

    /** The leader steps down in its own term (removed from the voters, or shutting down). */
    public void transitionToResigned() {
        if (!(state instanceof LeaderState)) {
            throw new IllegalStateException("resigned from " + state);
        }
        setState(new ResignedState(state.term(), state.votedFor()));
    }

    /** Draws a new election deadline for the current role (a non-voter whose timer fired, §5.2). */
    public void postponeElection(long nowMs) {
        long deadline = randomDeadline(nowMs);
        if (state instanceof UnattachedState u) {
            u.resetElectionDeadline(deadline);
        } else if (state instanceof FollowerState f) {
            f.resetElectionDeadline(deadline);
        } else if (state instanceof ProspectiveState p) {
            p.resetElectionDeadline(deadline);
        } else if (state instanceof CandidateState c) {
            c.resetElectionDeadline(deadline);
        }
    }

    /** Grants this node's vote in the current term (§5.2: at most one vote per term). */
    public void recordVote(int candidateId, long nowMs) {
        if (!(state instanceof UnattachedState u)) {
            throw new IllegalStateException("voting while " + state);
        }
        u.recordVote(candidateId);
        u.resetElectionDeadline(randomDeadline(nowMs));
        hardStateDirty = true;
    }

    private void setState(EpochState next) {
        if (next.term() != state.term() || next.votedFor() != state.votedFor()) {
            hardStateDirty = true;
        }
        state = next;
    }
}

package dev.basalt.raft.state;

/**
 * The role of a node within one term (Raft paper §5.1, Figure 4; dissertation §9.6 for the
 * prospective role of pre-vote). One class per role; {@link QuorumState} performs every transition.
 * Implementations are mutable and confined to the core's thread.
 */
public sealed interface EpochState
        permits UnattachedState, FollowerState, ProspectiveState, CandidateState, LeaderState, ResignedState {
    int NO_LEADER = -1;

    long term();

    /** The node voted for in this term, or {@code HardState.NO_VOTE}. */
    int votedFor();

    /** The leader of this term if known, else {@link #NO_LEADER}. */
    int leaderId();

    /** When an election timeout fires, or {@code Long.MAX_VALUE} for roles that never campaign. */
    long electionDeadlineMs();

    String name();
}

package dev.basalt.broker.replica.sim;

/**
 * What one run exercised, so tests can show the simulation reaches the states that matter (a run
 * that never truncates a divergent tail or never fences a broker proves little). Not thread-safe;
 * plain counters owned by one {@link ReplicationSimulation}.
 */
final class SimStats {
    long killCrashes;
    long powerLosses;
    long pauses;
    long controlledShutdowns;
    long partitions;
    long sessionFences;
    long isrShrinksCommitted;
    long isrExpansionsCommitted;
    long alterPartitionRefused;
    /** Follower truncations that removed data (a divergent or unreplicated tail). */
    long divergentTruncations;
    /** KIP-279 extra offset-for-leader-epoch rounds (the leader answered an older epoch). */
    long extraTruncationRounds;
    /** Writes acknowledged by a leader whose epoch the controller had already replaced (stale metadata). */
    long staleLeaderAcks;
    /** acks=all produces refused because the leader's ISR was below min.insync.replicas. */
    long notEnoughReplicas;

    void add(SimStats o) {
        killCrashes += o.killCrashes;
        powerLosses += o.powerLosses;
        pauses += o.pauses;
        controlledShutdowns += o.controlledShutdowns;
        partitions += o.partitions;
        sessionFences += o.sessionFences;
        isrShrinksCommitted += o.isrShrinksCommitted;
        isrExpansionsCommitted += o.isrExpansionsCommitted;
        alterPartitionRefused += o.alterPartitionRefused;
        divergentTruncations += o.divergentTruncations;
        extraTruncationRounds += o.extraTruncationRounds;
        staleLeaderAcks += o.staleLeaderAcks;
        notEnoughReplicas += o.notEnoughReplicas;
    }

    @Override
    public String toString() {
        return "kills=" + killCrashes + " powerLosses=" + powerLosses + " pauses=" + pauses + " controlledShutdowns="
                + controlledShutdowns + " partitions=" + partitions + " sessionFences=" + sessionFences
                + " isrShrinks=" + isrShrinksCommitted + " isrExpansions=" + isrExpansionsCommitted
                + " alterPartitionRefused=" + alterPartitionRefused + " divergentTruncations=" + divergentTruncations
                + " extraTruncationRounds=" + extraTruncationRounds + " staleLeaderAcks=" + staleLeaderAcks
                + " notEnoughReplicas=" + notEnoughReplicas;
    }
}

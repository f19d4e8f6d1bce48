package dev.basalt.metadata.image;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The state of one partition. Immutable value, thread-safe. The constructor enforces the invariants
 * every replayed record must keep: replicas non-empty and distinct, ISR a distinct subset of the
 * replicas, the leader (unless {@link #NO_LEADER}) in the ISR, epochs non-negative.
 *
 * @param replicas       replica broker ids in preference order (the first is the preferred leader)
 * @param isr            in-sync replicas
 * @param leader         leader broker id or {@link #NO_LEADER}
 * @param leaderEpoch    bumped on every leader election
 * @param partitionEpoch bumped on every change; the compare-and-set token of ISR changes
 */
public record PartitionRegistration(List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch,
                                    int partitionEpoch) {
    public static final int NO_LEADER = -1;

    public PartitionRegistration {
        replicas = List.copyOf(replicas);
        isr = List.copyOf(isr);
        if (replicas.isEmpty()) {
            throw new IllegalArgumentException("no replicas");
        }
        Set<Integer> replicaSet = new HashSet<>(replicas);
        if (replicaSet.size() != replicas.size()) {
            throw new IllegalArgumentException("replicas repeat a broker: " + replicas);
        }
        if (new HashSet<>(isr).size() != isr.size()) {
            throw new IllegalArgumentException("isr repeats a broker: " + isr);
        }
        if (!replicaSet.containsAll(isr)) {
            throw new IllegalArgumentException("isr " + isr + " is not a subset of replicas " + replicas);
        }
        if (leader != NO_LEADER && !isr.contains(leader)) {
            throw new IllegalArgumentException("leader " + leader + " is not in isr " + isr);
        }
        if (leaderEpoch < 0 || partitionEpoch < 0) {
            throw new IllegalArgumentException("negative epoch: leader " + leaderEpoch + ", partition " + partitionEpoch);
        }
    }

    public boolean hasLeader() {
        return leader != NO_LEADER;
    }

    /** The preferred leader: the first replica. */
    public int preferredLeader() {
        return replicas.get(0);
    }
}

package dev.basalt.client.admin;

import java.util.List;
import java.util.Set;

/**
 * One partition's placement and replication state as the controller sees it. Immutable.
 *
 * @param leaderId                -1 = no leader
 * @param replicas                assigned replicas, preferred leader first
 * @param isr                     in-sync replicas
 * @param offlineReplicas         assigned replicas whose broker is fenced or offline
 * @param eligibleLeaderReplicas  KIP-966: replicas that left the ISR only because it shrank
 *                                below min.insync.replicas, still electable cleanly
 * @param partitionEpoch          bumped on every leader, ISR or replica change; 0 when not reported
 * @param minInsyncReplicas       the topic's min.insync.replicas as applied; 0 = not reported
 * @param addingReplicas          while a reassignment runs: replicas being added (within
 *                                {@code replicas}, still copying); empty otherwise
 * @param removingReplicas        while a reassignment runs: replicas being removed (within
 *                                {@code replicas} until it completes); empty otherwise
 */
public record PartitionDescription(int partition, int leaderId, int leaderEpoch, List<Integer> replicas, List<Integer> isr,
                                   List<Integer> offlineReplicas, List<Integer> eligibleLeaderReplicas, int partitionEpoch,
                                   int minInsyncReplicas, List<Integer> addingReplicas, List<Integer> removingReplicas) {
    public PartitionDescription {
        replicas = List.copyOf(replicas);
        isr = List.copyOf(isr);
        offlineReplicas = List.copyOf(offlineReplicas);
        eligibleLeaderReplicas = List.copyOf(eligibleLeaderReplicas);
        addingReplicas = List.copyOf(addingReplicas);
        removingReplicas = List.copyOf(removingReplicas);
    }

    /** A partition no reassignment is moving. */
    public PartitionDescription(int partition, int leaderId, int leaderEpoch, List<Integer> replicas, List<Integer> isr,
                                List<Integer> offlineReplicas, List<Integer> eligibleLeaderReplicas, int partitionEpoch,
                                int minInsyncReplicas) {
        this(partition, leaderId, leaderEpoch, replicas, isr, offlineReplicas, eligibleLeaderReplicas, partitionEpoch,
                minInsyncReplicas, List.of(), List.of());
    }

    /**
     * The replication factor the partition has, and keeps once a move completes: its replicas
     * without those a reassignment is adding (as kafka-topics.sh counts it).
     */
    public int replicationFactor() {
        return replicas.size() - addingReplicas.size();
    }

    /** Whether a reassignment is moving the partition. */
    public boolean reassigning() {
        return !addingReplicas.isEmpty() || !removingReplicas.isEmpty();
    }

    /**
     * Kafka's definition: fewer in-sync replicas than the replication factor. A reassignment's
     * replicas still being added do not count (as kafka-topics.sh and Kafka's metric): found
     * probing, every planned move showed as under-replicated for its whole copy.
     */
    public boolean underReplicated() {
        return isr.size() < replicationFactor();
    }

    /** The ISR is below the topic's min.insync.replicas: acks=all writes are refused. False when the minimum is unknown. */
    public boolean underMinIsr() {
        return minInsyncReplicas > 0 && isr.size() < minInsyncReplicas;
    }

    /** The ISR has exactly min.insync.replicas members: one more loss and acks=all writes stop. */
    public boolean atMinIsr() {
        return minInsyncReplicas > 0 && isr.size() == minInsyncReplicas;
    }

    /**
     * No leader, or a leader that is offline (listed in {@code offlineReplicas}, or not among
     * {@code liveBrokers}, the unfenced brokers of the cluster; null = do not check that).
     */
    public boolean unavailable(Set<Integer> liveBrokers) {
        if (leaderId < 0 || offlineReplicas.contains(leaderId)) {
            return true;
        }
        return liveBrokers != null && !liveBrokers.contains(leaderId);
    }

    /**
     * Read-only: the leader is live but reported its replica offline only for a full disk
     * ({@code leaderOutOfSpaceOnly}, from {@link BrokerDescription.OfflineReplica#outOfSpaceOnly()}),
     * and no replica in service could take over. It serves reads and refuses appends ("disk full")
     * until space is freed or another replica is back in service.
     */
    public boolean readOnly(Set<Integer> liveBrokers, boolean leaderOutOfSpaceOnly) {
        return leaderOutOfSpaceOnly && leaderId >= 0 && offlineReplicas.contains(leaderId)
                && (liveBrokers == null || liveBrokers.contains(leaderId));
    }
}

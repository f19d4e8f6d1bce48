package dev.basalt.client.admin;

import java.util.List;
import java.util.Map;

/**
 * A partition reassignment in progress (KIP-455). Immutable.
 *
 * @param topic    topic name
 * @param partition partition index
 * @param replicas current replicas: the target, then the replicas being removed
 * @param adding   replicas being added (catching up)
 * @param removing replicas removed once the new ones are in sync
 * @param isr      in-sync replicas
 * @param leader   leader broker id, -1 when none
 * @param progress what each replica holds, by broker id (brokers that answered)
 */
public record PartitionReassignment(String topic, int partition, List<Integer> replicas, List<Integer> adding,
                                    List<Integer> removing, List<Integer> isr, int leader,
                                    Map<Integer, ReplicaProgress> progress) {
    public PartitionReassignment {
        replicas = List.copyOf(replicas);
        adding = List.copyOf(adding);
        removing = List.copyOf(removing);
        isr = List.copyOf(isr);
        progress = Map.copyOf(progress);
    }

    /** The replicas the partition will have once the reassignment completes. */
    public List<Integer> target() {
        return replicas.subList(0, replicas.size() - removing.size());
    }

    /** Bytes the adding replicas still miss behind the leader (-1 when the leader or one of them did not answer). */
    public long bytesRemaining() {
        ReplicaProgress lead = progress.get(leader);
        if (lead == null) {
            return -1;
        }
        long remaining = 0;
        for (int id : adding) {
            ReplicaProgress p = progress.get(id);
            if (p == null) {
                return -1;
            }
            remaining += Math.max(0, lead.sizeBytes() - p.sizeBytes());
        }
        return remaining;
    }

    /**
     * One replica's log as its broker reported it. Immutable.
     *
     * @param brokerId       the broker
     * @param leader         whether it leads the partition
     * @param logStartOffset first offset held
     * @param logEndOffset   next offset it will write
     * @param sizeBytes      bytes of its log on disk
     */
    public record ReplicaProgress(int brokerId, boolean leader, long logStartOffset, long logEndOffset, long sizeBytes) {
    }
}

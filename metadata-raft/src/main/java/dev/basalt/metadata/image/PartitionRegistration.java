package dev.basalt.metadata.image;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The state of one partition. Immutable value, thread-safe. The constructor enforces the invariants
 * every replayed record must keep: replicas non-empty and distinct, ISR a distinct subset of the
 * replicas, the leader (unless {@link #NO_LEADER}) in the ISR, eligible leader replicas a distinct
 * subset of the replicas disjoint from the ISR, epochs non-negative. (That the ELR is empty whenever
 * the ISR reaches the topic's {@code min.insync.replicas} depends on configuration, so the controller
 * keeps it, not this class.)
 *
 * @param replicas               replica broker ids in preference order (the first is the preferred leader)
 * @param isr                    in-sync replicas
 * @param leader                 leader broker id or {@link #NO_LEADER}
 * @param leaderEpoch            bumped on every leader election
 * @param partitionEpoch         bumped on every change; the compare-and-set token of ISR changes
 * @param elr                    eligible leader replicas (KIP-966): left the ISR while it was below
 *                               {@code min.insync.replicas}, so they hold every committed record
 * @param leaderRecovering       the leader was elected uncleanly (outside ISR and ELR); acknowledged
 *                               records may be lost. Cleared by the leader's next ISR expansion
 * @param addingReplicas         reassignment in progress (KIP-455): replicas of the target that are not
 *                               original replicas; they catch up as followers and join the ISR
 * @param removingReplicas       reassignment in progress: original replicas not in the target, removed
 *                               once the reassignment completes. Disjoint from {@code addingReplicas};
 *                               both empty when no reassignment runs. While one runs,
 *                               {@code replicas} = target followed by the removing replicas
 * @param originalOrder          reassignment in progress: the replicas in their order before it
 *                               started (a cancel restores it); the brokers of {@code replicas}
 *                               without the adding ones. Empty when none runs, or not recorded
 *                               (records written before it was kept)
 */
public record PartitionRegistration(List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch,
                                    int partitionEpoch, List<Integer> elr, boolean leaderRecovering,
                                    List<Integer> addingReplicas, List<Integer> removingReplicas,
                                    List<Integer> originalOrder) {
    public static final int NO_LEADER = -1;

    /** A registration whose original order (during a reassignment) is not recorded. */
    public PartitionRegistration(List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch,
                                 int partitionEpoch, List<Integer> elr, boolean leaderRecovering,
                                 List<Integer> addingReplicas, List<Integer> removingReplicas) {
        this(replicas, isr, leader, leaderEpoch, partitionEpoch, elr, leaderRecovering, addingReplicas, removingReplicas,
                List.of());
    }

    public PartitionRegistration {
        replicas = List.copyOf(replicas);
        isr = List.copyOf(isr);
        elr = List.copyOf(elr);
        addingReplicas = List.copyOf(addingReplicas);
        removingReplicas = List.copyOf(removingReplicas);
        originalOrder = List.copyOf(originalOrder);
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
        if (new HashSet<>(elr).size() != elr.size()) {
            throw new IllegalArgumentException("elr repeats a broker: " + elr);
        }
        if (!replicaSet.containsAll(elr)) {
            throw new IllegalArgumentException("elr " + elr + " is not a subset of replicas " + replicas);
        }
        for (int id : elr) {
            if (isr.contains(id)) {
                throw new IllegalArgumentException("broker " + id + " is in both isr " + isr + " and elr " + elr);
            }
        }
        if (leaderEpoch < 0 || partitionEpoch < 0) {
            throw new IllegalArgumentException("negative epoch: leader " + leaderEpoch + ", partition " + partitionEpoch);
        }
        checkReassignment(replicas, replicaSet, addingReplicas, removingReplicas);
        if (!originalOrder.isEmpty() && !isOriginalOrderOf(originalOrder, replicas, addingReplicas, removingReplicas)) {
            throw new IllegalArgumentException("original order " + originalOrder + " is not replicas " + replicas
                    + " without adding " + addingReplicas + " (or no reassignment runs)");
        }
    }

    /** Whether {@code order} lists exactly the original brokers of a reassignment in progress. */
    public static boolean isOriginalOrderOf(List<Integer> order, List<Integer> replicas, List<Integer> adding,
                                            List<Integer> removing) {
        if (adding.isEmpty() && removing.isEmpty()) {
            return false;
        }
        Set<Integer> original = new HashSet<>(replicas);
        adding.forEach(original::remove);
        return order.size() == original.size() && original.equals(new HashSet<>(order));
    }

    private static void checkReassignment(List<Integer> replicas, Set<Integer> replicaSet, List<Integer> adding,
                                          List<Integer> removing) {
        if (new HashSet<>(adding).size() != adding.size() || new HashSet<>(removing).size() != removing.size()) {
            throw new IllegalArgumentException("adding " + adding + " or removing " + removing + " repeats a broker");
        }
        if (!replicaSet.containsAll(adding) || !replicaSet.containsAll(removing)) {
            throw new IllegalArgumentException("adding " + adding + " and removing " + removing
                    + " must be subsets of replicas " + replicas);
        }
        for (int id : adding) {
            if (removing.contains(id)) {
                throw new IllegalArgumentException("broker " + id + " is both adding and removing");
            }
        }
        if (removing.size() == replicas.size()) {
            throw new IllegalArgumentException("every replica is removing: the target " + replicas + " is empty");
        }
        // KIP-455's layout: target replicas first, then the removing ones, so the target (and its
        // preferred leader) can be read back without storing it twice.
        for (int i = 0; i < replicas.size(); i++) {
            boolean inTail = i >= replicas.size() - removing.size();
            if (inTail != removing.contains(replicas.get(i))) {
                throw new IllegalArgumentException("removing replicas " + removing + " must be the tail of replicas "
                        + replicas);
            }
        }
    }

    /** A partition without a reassignment in progress. */
    public PartitionRegistration(List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch,
                                 int partitionEpoch, List<Integer> elr, boolean leaderRecovering) {
        this(replicas, isr, leader, leaderEpoch, partitionEpoch, elr, leaderRecovering, List.of(), List.of());
    }

    /** A partition without eligible leader replicas and not recovering (the state before KIP-966). */
    public PartitionRegistration(List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch,
                                 int partitionEpoch) {
        this(replicas, isr, leader, leaderEpoch, partitionEpoch, List.of(), false);
    }

    public boolean hasLeader() {
        return leader != NO_LEADER;
    }

    /** The preferred leader: the first replica (during a reassignment, the target's first replica). */
    public int preferredLeader() {
        return replicas.get(0);
    }

    /** True while a reassignment is in progress (some replica is being added or removed). */
    public boolean isReassigning() {
        return !addingReplicas.isEmpty() || !removingReplicas.isEmpty();
    }

    /** The replicas the partition will have: {@code replicas} without the removing ones, in order. */
    public List<Integer> targetReplicas() {
        return removingReplicas.isEmpty() ? replicas
                : replicas.subList(0, replicas.size() - removingReplicas.size());
    }

    /**
     * The replicas before the reassignment started, in their order then (read as {@code replicas}
     * without the adding ones where that order was not recorded); {@code replicas} when none runs.
     */
    public List<Integer> originalReplicas() {
        if (!originalOrder.isEmpty()) {
            return originalOrder;
        }
        return addingReplicas.isEmpty() ? replicas
                : replicas.stream().filter(id -> !addingReplicas.contains(id)).toList();
    }
}

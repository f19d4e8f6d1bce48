package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerIdList;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionChangeRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.IntPredicate;

/**
 * Leader election, ISR changes and eligible leader replicas (KIP-966) for one partition, as pure
 * functions from its current registration to the {@code PartitionChangeRecord} that carries only what
 * changes (empty when nothing does). Stateless, thread-safe. "Live" means registered and unfenced.
 *
 * <h2>Eligible leader replicas (ELR)</h2>
 * The high watermark advances only while the ISR has at least {@code min.insync.replicas} members
 * (DESIGN.md §6). So a replica removed from the ISR by a change that leaves the ISR below that size
 * holds every committed record: nothing was committed without it before, and nothing can be committed
 * after until the ISR grows back. Such replicas are the ELR:
 * <ul>
 *   <li>an ISR change (leader's shrink, fencing, controlled shutdown, re-registration) that leaves the
 *       ISR below min ISR adds the removed members to the ELR;</li>
 *   <li>a member that rejoins the ISR leaves the ELR;</li>
 *   <li>once the ISR has min ISR members again (or min ISR is lowered to the ISR's size) the ELR is
 *       cleared: the high watermark may move without them;</li>
 *   <li>a fenced or restarted broker stays in the ELR, so it can come back and lead (this relies on
 *       replicas having flushed what they acknowledged, the default durable-ack mode); a broker that
 *       registers saying it shut down uncleanly leaves every ELR ({@code ClusterControl}), and a
 *       replica its broker reports offline to be rebuilt (corrupt, its files deleted or cut) leaves
 *       the ELR: its broker is about to discard its log and refetch it from the leader;</li>
 *   <li>an unclean election clears the ELR: the new leader's history now defines what is committed,
 *       and an old ELR member elected later would bring back records the new leader overwrote.</li>
 * </ul>
 *
 * <h2>Election order</h2>
 * When the leader goes away (or a leaderless partition gets a chance):
 * <ol>
 *   <li>the first live ISR member in replica (preference) order;</li>
 *   <li>else the first live ELR member: it leads with ISR = [itself] and leaves the ELR (the old ISR
 *       members join the ELR by the rule above, as the ISR is now below min ISR);</li>
 *   <li>else, only if the topic allows unclean election, the first live replica: ISR = [itself], ELR
 *       cleared, and {@code leader_recovering} set so its broker logs the possible loss; the leader's
 *       next ISR expansion clears it;</li>
 *   <li>else no leader: the partition stays offline and loses nothing. The ISR is never emptied: its
 *       last member stays in it, so it can come back as a clean leader.</li>
 * </ol>
 */
final class PartitionElections {
    private PartitionElections() {
    }

    /** What a partition should become; {@link #change} turns it into a record. */
    record Target(int leader, List<Integer> isr, List<Integer> elr, boolean leaderRecovering) {
    }

    /** The change when {@code brokerId} stops being usable (fenced, shut down, re-registered). */
    static Optional<MetadataRecord> removeBroker(UUID topicId, int partition, PartitionRegistration current,
                                                 int brokerId, IntPredicate live, TopicPolicy policy) {
        return removeBroker(topicId, partition, current, brokerId, live, policy, true);
    }

    /**
     * As above; {@code staysEligible} false: its broker is about to rebuild the replica from the
     * leader (it was found corrupt, its files deleted or cut), which discards its log, so once out
     * of the ISR it is not an eligible leader replica either, and leaves the ELR if it was one: an
     * ELR member elected meanwhile would lead with what little it had refetched.
     */
    private static Optional<MetadataRecord> removeBroker(UUID topicId, int partition, PartitionRegistration current,
                                                         int brokerId, IntPredicate live, TopicPolicy policy,
                                                         boolean staysEligible) {
        boolean inIsr = current.isr().contains(brokerId);
        if (!inIsr && current.leader() != brokerId && (staysEligible || !current.elr().contains(brokerId))) {
            return Optional.empty(); // an ELR member stays there: it can come back
        }
        List<Integer> isr = new ArrayList<>(current.isr());
        isr.remove(Integer.valueOf(brokerId));
        if (isr.isEmpty()) {
            isr.add(brokerId); // keep the last ISR member so it can return as a clean leader
        }
        boolean needLeader = current.leader() == brokerId || !current.hasLeader();
        Target target = needLeader ? elect(current, isr, live, policy)
                : new Target(current.leader(), isr, nextElr(current, isr, policy), current.leaderRecovering());
        if (!staysEligible && !target.isr().contains(brokerId) && target.elr().contains(brokerId)) {
            List<Integer> elr = new ArrayList<>(target.elr());
            elr.remove(Integer.valueOf(brokerId));
            target = new Target(target.leader(), target.isr(), elr, target.leaderRecovering());
        }
        return change(topicId, partition, current, target);
    }

    /**
     * The change when {@code brokerId}, alive and heartbeating, reports its replica offline (a
     * storage fault); called with every heartbeat that reports it. As {@link #removeBroker}, with
     * leaders chosen in this order:
     * <ol>
     *   <li>a replica in service ({@code servable}: live, not reported offline by its broker);</li>
     *   <li>else, if the leader is only out of space ({@code outOfSpaceOnly}: intact, serving
     *       reads, refusing appends with "disk full"), it keeps leading: handing the partition to
     *       another faulty replica would only bounce it between them (found probing: every
     *       replica's disk full, leadership flipped several times a second, each flip a metadata
     *       record written to the full disk);</li>
     *   <li>else a replica that is only out of space ({@code readable}): it serves reads, where
     *       the leader (corrupt, its directory gone, an I/O error) cannot;</li>
     *   <li>else none: the partition is left leaderless, as the class javadoc says.</li>
     * </ol>
     * A kept leader hands over at a later heartbeat once a replica is back in service. A replica
     * reported {@code toBeRebuilt} (its broker is about to discard its log and refetch it) also
     * leaves the ELR; one offline for another fault (an I/O error, a damaged index) keeps its place
     * there: a restart loads its segments intact.
     */
    static Optional<MetadataRecord> removeOfflineReplica(UUID topicId, int partition, PartitionRegistration current,
                                                         int brokerId, boolean outOfSpaceOnly, boolean toBeRebuilt,
                                                         IntPredicate servable, IntPredicate readable, TopicPolicy policy) {
        IntPredicate servableOthers = id -> id != brokerId && servable.test(id);
        if (current.leader() != brokerId) {
            return removeBroker(topicId, partition, current, brokerId, servableOthers, policy, !toBeRebuilt);
        }
        List<Integer> isr = new ArrayList<>(current.isr());
        isr.remove(Integer.valueOf(brokerId));
        if (isr.isEmpty()) {
            isr.add(brokerId);
        }
        if (elect(current, isr, servableOthers, policy).leader() != PartitionRegistration.NO_LEADER) {
            return removeBroker(topicId, partition, current, brokerId, servableOthers, policy, !toBeRebuilt);
        }
        if (outOfSpaceOnly) {
            return Optional.empty();
        }
        return removeBroker(topicId, partition, current, brokerId, id -> id != brokerId && readable.test(id), policy,
                !toBeRebuilt);
    }

    /** Elects a leader for a leaderless partition if a candidate is live (see the class javadoc). */
    static Optional<MetadataRecord> electLeaderless(UUID topicId, int partition, PartitionRegistration current,
                                                    IntPredicate live, TopicPolicy policy) {
        if (current.hasLeader()) {
            return Optional.empty();
        }
        Target target = elect(current, current.isr(), live, policy);
        return target.leader() == PartitionRegistration.NO_LEADER ? Optional.empty()
                : change(topicId, partition, current, target);
    }

    /**
     * The leader's ISR change: the leader stays, removed members join the ELR if the new ISR is below
     * min ISR, and an expansion ends unclean recovery.
     */
    static Optional<MetadataRecord> alterIsr(UUID topicId, int partition, PartitionRegistration current,
                                             List<Integer> newIsr, TopicPolicy policy) {
        boolean expanded = newIsr.stream().anyMatch(id -> !current.isr().contains(id));
        return change(topicId, partition, current, new Target(current.leader(), newIsr,
                nextElr(current, newIsr, policy), current.leaderRecovering() && !expanded));
    }

    /**
     * After the topic's policy changed: a lowered min ISR clears ELRs the ISR now satisfies (the high
     * watermark may advance without them from now on), and a newly allowed unclean election may give a
     * leaderless partition a leader.
     */
    static Optional<MetadataRecord> applyPolicy(UUID topicId, int partition, PartitionRegistration current,
                                                IntPredicate live, TopicPolicy policy) {
        if (!current.hasLeader()) {
            Target elected = elect(current, current.isr(), live, policy);
            if (elected.leader() != PartitionRegistration.NO_LEADER) {
                return change(topicId, partition, current, elected);
            }
        }
        return change(topicId, partition, current, new Target(current.leader(), current.isr(),
                nextElr(current, current.isr(), policy), current.leaderRecovering()));
    }

    /**
     * Whether moving leadership to the preferred replica is safe and cheap now: the preferred replica
     * is live and in the ISR but does not lead; the ISR has another member (so the move is not the
     * only copy changing role) and at least min ISR members (a move while acks=all writes are already
     * blocked or one follower away from blocking would stall producers: Kafka's rebalance latency
     * spikes); the partition is not recovering from an unclean election; and no reassignment is in
     * progress (its replica list puts the target first, so this would move leadership to the
     * target's first replica before the move is done, and a cancel would then leave it there: two
     * needless leader changes, found probing. A completed reassignment makes the target's first
     * replica preferred; a cancel keeps the original one).
     */
    static boolean preferredMovable(PartitionRegistration current, IntPredicate live, TopicPolicy policy) {
        int preferred = current.preferredLeader();
        return current.leader() != preferred
                && !current.isReassigning()
                && live.test(preferred)
                && current.isr().contains(preferred)
                && current.isr().size() >= 2
                && current.isr().size() >= policy.minInsyncReplicas()
                && !current.leaderRecovering();
    }

    /** Moves leadership to the preferred replica when {@link #preferredMovable}. */
    static Optional<MetadataRecord> electPreferred(UUID topicId, int partition, PartitionRegistration current,
                                                   IntPredicate live, TopicPolicy policy) {
        if (!preferredMovable(current, live, policy)) {
            return Optional.empty();
        }
        return change(topicId, partition, current, new Target(current.preferredLeader(), current.isr(),
                current.elr(), current.leaderRecovering()));
    }

    /** The election order of the class javadoc, starting from {@code isr} (already without removed members). */
    private static Target elect(PartitionRegistration current, List<Integer> isr, IntPredicate live,
                                TopicPolicy policy) {
        int fromIsr = firstLive(current.replicas(), isr, live);
        List<Integer> elr = nextElr(current, isr, policy);
        if (fromIsr != PartitionRegistration.NO_LEADER) {
            return new Target(fromIsr, isr, elr, current.leaderRecovering());
        }
        int fromElr = firstLive(current.replicas(), elr, live);
        if (fromElr != PartitionRegistration.NO_LEADER) {
            List<Integer> newIsr = List.of(fromElr);
            return new Target(fromElr, newIsr, nextElr(current, newIsr, policy), current.leaderRecovering());
        }
        if (policy.uncleanAllowed()) {
            int any = firstLive(current.replicas(), current.replicas(), live);
            if (any != PartitionRegistration.NO_LEADER) {
                return new Target(any, List.of(any), List.of(), true);
            }
        }
        return new Target(PartitionRegistration.NO_LEADER, isr, elr, current.leaderRecovering());
    }

    /**
     * The ELR after the ISR becomes {@code newIsr}: empty when {@code newIsr} has min ISR members;
     * otherwise the current ELR plus the members {@code newIsr} drops, minus those it (re)gains, in
     * replica order.
     */
    static List<Integer> nextElr(PartitionRegistration current, List<Integer> newIsr, TopicPolicy policy) {
        if (newIsr.size() >= policy.minInsyncReplicas()) {
            return List.of();
        }
        List<Integer> elr = new ArrayList<>();
        for (int id : current.replicas()) {
            boolean wasEligible = current.elr().contains(id) || current.isr().contains(id);
            if (wasEligible && !newIsr.contains(id)) {
                elr.add(id);
            }
        }
        return elr;
    }

    /** First broker in {@code order} that is in {@code allowed} and live, or NO_LEADER. */
    private static int firstLive(List<Integer> order, List<Integer> allowed, IntPredicate live) {
        for (int id : order) {
            if (allowed.contains(id) && live.test(id)) {
                return id;
            }
        }
        return PartitionRegistration.NO_LEADER;
    }

    /** A change of nothing but the partition epoch (the next epoch refuses every request computed from this one). */
    static MetadataRecord bumpEpoch(UUID topicId, int partition, PartitionRegistration current) {
        return MetadataRecord.newBuilder().setPartitionChange(PartitionChangeRecord.newBuilder()
                .setTopicId(ProtoIds.toProto(topicId)).setPartition(partition)
                .setExpectedPartitionEpoch(current.partitionEpoch())).build();
    }

    /** The record moving {@code current} to {@code target}; empty when nothing changes. */
    static Optional<MetadataRecord> change(UUID topicId, int partition, PartitionRegistration current, Target target) {
        boolean leaderChanged = target.leader() != current.leader();
        boolean isrChanged = !target.isr().equals(current.isr());
        boolean elrChanged = !target.elr().equals(current.elr());
        boolean recoveringChanged = target.leaderRecovering() != current.leaderRecovering();
        if (!leaderChanged && !isrChanged && !elrChanged && !recoveringChanged) {
            return Optional.empty();
        }
        PartitionChangeRecord.Builder b = PartitionChangeRecord.newBuilder().setTopicId(ProtoIds.toProto(topicId))
                .setPartition(partition).setExpectedPartitionEpoch(current.partitionEpoch());
        if (leaderChanged) {
            b.setLeader(target.leader());
        }
        if (isrChanged) {
            b.setIsr(BrokerIdList.newBuilder().addAllBrokerIds(target.isr()));
        }
        if (elrChanged) {
            b.setEligibleLeaderReplicas(BrokerIdList.newBuilder().addAllBrokerIds(target.elr()));
        }
        if (recoveringChanged) {
            b.setLeaderRecovering(target.leaderRecovering());
        }
        return Optional.of(MetadataRecord.newBuilder().setPartitionChange(b).build());
    }
}

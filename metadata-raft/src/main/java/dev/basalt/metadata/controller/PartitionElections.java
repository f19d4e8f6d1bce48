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
 * Leader election and ISR shrinking for one partition, as pure functions from its current
 * registration to the {@code PartitionChangeRecord} that carries only what changes (empty when
 * nothing does). Stateless, thread-safe.
 *
 * <p>Rules (Kafka's, DESIGN.md §4): a leader is elected from the ISR, in replica (preference) order,
 * among live (registered, unfenced) brokers. Only when no ISR member is live and the topic allows
 * unclean election does a live replica outside the ISR become leader, with itself as the whole ISR
 * (data the old ISR had may be lost: that is what the topic opted into). When the last ISR member
 * goes away it stays in the ISR and the partition has no leader, so that broker can come back as a
 * clean leader.
 */
final class PartitionElections {
    private PartitionElections() {
    }

    /** The change when {@code brokerId} stops being usable (fenced, shut down, re-registered). */
    static Optional<MetadataRecord> removeBroker(UUID topicId, int partition, PartitionRegistration current,
                                                 int brokerId, IntPredicate live, boolean uncleanAllowed) {
        boolean inIsr = current.isr().contains(brokerId);
        if (!inIsr && current.leader() != brokerId) {
            return Optional.empty();
        }
        List<Integer> isr = new ArrayList<>(current.isr());
        isr.remove(Integer.valueOf(brokerId));
        int leader = current.leader();
        if (leader == brokerId || leader == PartitionRegistration.NO_LEADER) {
            leader = firstLive(current.replicas(), isr, live);
        }
        if (leader == PartitionRegistration.NO_LEADER && uncleanAllowed) {
            leader = firstLive(current.replicas(), current.replicas(), live);
            if (leader != PartitionRegistration.NO_LEADER) {
                isr = List.of(leader);
            }
        }
        if (isr.isEmpty()) {
            isr = List.of(brokerId); // keep the last ISR member so it can return as a clean leader
        }
        return change(topicId, partition, current, leader, isr);
    }

    /** Elects a leader for a leaderless partition if a live candidate exists. */
    static Optional<MetadataRecord> electLeaderless(UUID topicId, int partition, PartitionRegistration current,
                                                    IntPredicate live, boolean uncleanAllowed) {
        if (current.hasLeader()) {
            return Optional.empty();
        }
        int leader = firstLive(current.replicas(), current.isr(), live);
        List<Integer> isr = current.isr();
        if (leader == PartitionRegistration.NO_LEADER && uncleanAllowed) {
            leader = firstLive(current.replicas(), current.replicas(), live);
            isr = List.of(leader);
        }
        if (leader == PartitionRegistration.NO_LEADER) {
            return Optional.empty();
        }
        return change(topicId, partition, current, leader, isr);
    }

    /** Moves leadership to the preferred replica when it is live, in the ISR, and not leading already. */
    static Optional<MetadataRecord> electPreferred(UUID topicId, int partition, PartitionRegistration current,
                                                   IntPredicate live) {
        int preferred = current.preferredLeader();
        if (current.leader() == preferred || !current.isr().contains(preferred) || !live.test(preferred)) {
            return Optional.empty();
        }
        return change(topicId, partition, current, preferred, current.isr());
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

    /** The record moving {@code current} to (leader, isr); empty when both are unchanged. */
    static Optional<MetadataRecord> change(UUID topicId, int partition, PartitionRegistration current, int leader,
                                           List<Integer> isr) {
        boolean leaderChanged = leader != current.leader();
        boolean isrChanged = !isr.equals(current.isr());
        if (!leaderChanged && !isrChanged) {
            return Optional.empty();
        }
        PartitionChangeRecord.Builder b = PartitionChangeRecord.newBuilder().setTopicId(ProtoIds.toProto(topicId))
                .setPartition(partition).setExpectedPartitionEpoch(current.partitionEpoch());
        if (leaderChanged) {
            b.setLeader(leader);
        }
        if (isrChanged) {
            b.setIsr(BrokerIdList.newBuilder().addAllBrokerIds(isr));
        }
        return Optional.of(MetadataRecord.newBuilder().setPartitionChange(b).build());
    }
}

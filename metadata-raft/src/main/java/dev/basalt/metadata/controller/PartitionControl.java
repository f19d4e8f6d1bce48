package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Decisions on partitions: ISR changes from leaders, preferred-leader election and the imbalance
 * report. Stateless apart from the immutable config; thread-safe.
 */
final class PartitionControl {
    private final ControllerConfig config;

    PartitionControl(ControllerConfig config) {
        this.config = config;
    }

    /**
     * An ISR change with compare-and-set on the leader epoch and the partition epoch: only the current
     * leader, in the current leader epoch, computing from the current partition epoch, may change the
     * ISR; anything stale is refused so a slow leader cannot undo a newer decision. Every proposed
     * member must be a live replica. Members dropped while the new ISR is below min ISR join the ELR;
     * members added leave it; an expansion ends unclean recovery ({@link PartitionElections}). A
     * request for the ISR as it is still commits a new partition epoch (a <i>fence</i>: no earlier
     * request computed from the old epoch can apply after it).
     */
    ControllerResult<PartitionRegistration> alterPartition(MetadataImage image, AlterPartitionRequest request) {
        RecordBuffer out = new RecordBuffer(image);
        BrokerRegistration b = out.requireIncarnation(request.brokerId(), request.incarnationId());
        if (b.fenced()) {
            throw new ControllerException(ControllerException.Reason.BROKER_FENCED, "broker " + b.brokerId()
                    + " is fenced");
        }
        TopicImage topic = image.topics().topic(request.topicId()).orElseThrow(() -> new ControllerException(
                ControllerException.Reason.UNKNOWN_TOPIC, "no topic with id " + request.topicId()));
        PartitionRegistration current = topic.partition(request.partition()).orElseThrow(() -> new ControllerException(
                ControllerException.Reason.UNKNOWN_PARTITION, "topic " + topic.name() + " has no partition "
                + request.partition()));
        checkEpochs(request, current);
        checkIsr(out, request, current);
        TopicPolicy policy = TopicPolicy.of(image, topic.name(), config);
        // The ISR as it is commits as a new partition epoch: a leader's fence against an earlier
        // expansion of its own that failed or was refused but might still be applied late.
        out.add(PartitionElections.alterIsr(topic.id(), request.partition(), current, request.newIsr(), policy)
                .orElseGet(() -> PartitionElections.bumpEpoch(topic.id(), request.partition(), current)));
        return out.result(out.state().partition(topic.id(), request.partition()).orElseThrow());
    }

    private static void checkEpochs(AlterPartitionRequest request, PartitionRegistration current) {
        if (current.leader() != request.brokerId()) {
            throw new ControllerException(ControllerException.Reason.NOT_LEADER, "broker " + request.brokerId()
                    + " does not lead the partition (leader " + current.leader() + ")");
        }
        if (current.leaderEpoch() != request.leaderEpoch()) {
            throw new ControllerException(ControllerException.Reason.FENCED_LEADER_EPOCH, "leader epoch is "
                    + current.leaderEpoch() + ", request has " + request.leaderEpoch());
        }
        if (current.partitionEpoch() != request.partitionEpoch()) {
            throw new ControllerException(ControllerException.Reason.STALE_PARTITION_EPOCH, "partition epoch is "
                    + current.partitionEpoch() + ", request has " + request.partitionEpoch());
        }
    }

    private static void checkIsr(RecordBuffer out, AlterPartitionRequest request, PartitionRegistration current) {
        List<Integer> isr = request.newIsr();
        if (!isr.contains(request.brokerId()) || new HashSet<>(isr).size() != isr.size()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "new ISR " + isr
                    + " must contain the leader " + request.brokerId() + " once, without duplicates");
        }
        for (int id : isr) {
            if (!current.replicas().contains(id) || !out.isLive(id)) {
                throw new ControllerException(ControllerException.Reason.INELIGIBLE_REPLICA, "broker " + id
                        + " in the new ISR is not a live replica (replicas " + current.replicas() + ")");
            }
        }
    }

    /**
     * Moves leadership back to preferred replicas where {@link PartitionElections#preferredMovable}
     * allows, at most {@link ControllerConfig#preferredElectionPartitionsMax()} partitions per call,
     * topics in id order and partitions in index order (so the same image gives the same moves).
     */
    ControllerResult<List<PartitionRef>> electPreferredLeaders(MetadataImage image) {
        RecordBuffer out = new RecordBuffer(image);
        List<PartitionRef> elected = new ArrayList<>();
        for (TopicImage topic : image.topics().topicsById().values()) {
            TopicPolicy policy = TopicPolicy.of(image, topic.name(), config);
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                if (elected.size() >= config.preferredElectionPartitionsMax()) {
                    return out.result(elected);
                }
                electPreferred(out, ref, policy, elected);
            }
        }
        return out.result(elected);
    }

    /**
     * The same election for the named partitions only (an operator's request), in the order given;
     * naming more than {@link ControllerConfig#preferredElectionPartitionsMax()} partitions, an unknown
     * one, or one twice is refused as a whole.
     */
    ControllerResult<List<PartitionRef>> electPreferredLeaders(MetadataImage image, List<PartitionRef> partitions) {
        if (partitions.size() > config.preferredElectionPartitionsMax()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "request names "
                    + partitions.size() + " partitions, over preferredElectionPartitionsMax="
                    + config.preferredElectionPartitionsMax());
        }
        if (new HashSet<>(partitions).size() != partitions.size()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "a partition is named twice");
        }
        for (PartitionRef ref : partitions) {
            if (image.topics().topic(ref.topicId()).flatMap(t -> t.partition(ref.partition())).isEmpty()) {
                throw new ControllerException(ControllerException.Reason.UNKNOWN_PARTITION, "unknown partition " + ref);
            }
        }
        RecordBuffer out = new RecordBuffer(image);
        List<PartitionRef> elected = new ArrayList<>();
        for (PartitionRef ref : partitions) {
            String name = image.topics().topic(ref.topicId()).orElseThrow().name();
            electPreferred(out, ref, TopicPolicy.of(image, name, config), elected);
        }
        return out.result(elected);
    }

    private static void electPreferred(RecordBuffer out, PartitionRef ref, TopicPolicy policy,
                                       List<PartitionRef> elected) {
        Optional<MetadataRecord> change = PartitionElections.electPreferred(ref.topicId(), ref.partition(),
                TopicControl.current(out, ref), out::isLive, policy);
        change.ifPresent(record -> {
            out.add(record);
            elected.add(ref);
        });
    }

    /** Counts partitions led by other than their preferred replica; see {@link LeaderImbalance}. */
    LeaderImbalance leaderImbalance(MetadataImage image) {
        int partitions = 0;
        int notPreferred = 0;
        int movable = 0;
        int offline = 0;
        Map<Integer, Integer> byBroker = new TreeMap<>();
        for (TopicImage topic : image.topics().topicsById().values()) {
            TopicPolicy policy = TopicPolicy.of(image, topic.name(), config);
            for (PartitionRegistration p : topic.partitions().values()) {
                partitions++;
                if (!p.hasLeader()) {
                    offline++;
                } else if (p.leader() != p.preferredLeader()) {
                    notPreferred++;
                    byBroker.merge(p.preferredLeader(), 1, Integer::sum);
                    if (PartitionElections.preferredMovable(p, image.cluster()::isUnfenced, policy)) {
                        movable++;
                    }
                }
            }
        }
        return new LeaderImbalance(partitions, notPreferred, movable, offline, new TreeMap<>(byBroker));
    }
}

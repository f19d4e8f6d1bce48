package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;

/** Decisions on partitions: ISR changes from leaders, preferred-leader election. Stateless, thread-safe. */
final class PartitionControl {

    /**
     * An ISR change with compare-and-set on the partition epoch: only the current leader, in the current
     * leader epoch, computing from the current partition epoch, may change the ISR; anything stale is
     * refused so a slow leader cannot undo a newer decision.
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
        PartitionElections.change(topic.id(), request.partition(), current, current.leader(), request.newIsr())
                .ifPresent(out::add);
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

    /** Moves leadership of every partition to its preferred replica where that replica can lead. */
    ControllerResult<List<PartitionRef>> electPreferredLeaders(MetadataImage image) {
        RecordBuffer out = new RecordBuffer(image);
        List<PartitionRef> elected = new ArrayList<>();
        for (TopicImage topic : image.topics().topicsById().values()) {
            for (PartitionRef ref : TopicControl.partitionsOf(topic)) {
                Optional<dev.basalt.proto.v1.MetadataRecord> change = PartitionElections.electPreferred(ref.topicId(),
                        ref.partition(), TopicControl.current(out, ref), out::isLive);
                change.ifPresent(record -> {
                    out.add(record);
                    elected.add(ref);
                });
            }
        }
        return out.result(elected);
    }
}

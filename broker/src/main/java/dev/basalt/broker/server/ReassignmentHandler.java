package dev.basalt.broker.server;

import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.log.TopicPartition;
import dev.basalt.metadata.controller.ControllerException;
import dev.basalt.metadata.controller.MetadataController;
import dev.basalt.metadata.controller.PartitionRef;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.broker.controller.QuorumController;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.GenerateReassignmentPlanRequest;
import dev.basalt.proto.v1.GenerateReassignmentPlanResponse;
import dev.basalt.proto.v1.ListPartitionReassignmentsRequest;
import dev.basalt.proto.v1.ListPartitionReassignmentsResponse;
import dev.basalt.proto.v1.TopicPartitionRef;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The reassignment reads of the AdminService, answered from this node's image and local replicas:
 * reassignments in progress with the progress of the replicas held here, and generated plans.
 *
 * <p>Thread-safety: stateless; runs on request threads (the image is immutable, the log reads are
 * the log engine's thread-safe accessors).
 */
public final class ReassignmentHandler {
    private final ReplicaManager replicas;

    public ReassignmentHandler(ReplicaManager replicas) {
        this.replicas = replicas;
    }

    public ListPartitionReassignmentsResponse list(ListPartitionReassignmentsRequest req) {
        MetadataImage image = replicas.image();
        Set<String> wanted = new HashSet<>(req.getTopicsList());
        ListPartitionReassignmentsResponse.Builder b = ListPartitionReassignmentsResponse.newBuilder()
                .setErrorCode(ErrorCode.NONE).setNodeId(replicas.brokerId());
        for (TopicImage topic : image.topics().topicsByName().values()) {
            if (!wanted.isEmpty() && !wanted.contains(topic.name())) {
                continue;
            }
            for (Map.Entry<Integer, PartitionRegistration> e : topic.partitions().entrySet()) {
                PartitionRegistration p = e.getValue();
                if (!p.isReassigning()) {
                    continue;
                }
                var rb = b.addReassignmentsBuilder().setPartition(TopicPartitionRef.newBuilder().setTopic(topic.name())
                                .setPartition(e.getKey())).addAllReplicas(p.replicas()).addAllAddingReplicas(p.addingReplicas())
                        .addAllRemovingReplicas(p.removingReplicas()).addAllIsr(p.isr()).setLeader(p.leader());
                Optional<Partition> local = replicas.partition(new TopicPartition(topic.name(), e.getKey()))
                        .filter(l -> l.topicId().equals(topic.id().toString()));
                local.ifPresent(l -> rb.addProgressBuilder().setBrokerId(replicas.brokerId()).setLeader(l.isLeader())
                        .setLogStartOffset(l.log().logStartOffset()).setLogEndOffset(l.log().logEndOffset())
                        .setSizeBytes(l.log().sizeBytes()));
            }
        }
        return b.build();
    }

    public GenerateReassignmentPlanResponse generate(GenerateReassignmentPlanRequest req) {
        MetadataImage image = replicas.image();
        Map<PartitionRef, List<Integer>> plan;
        try {
            plan = MetadataController.planReassignment(image, req.getTopicsList(), req.getBrokerIdsList());
        } catch (ControllerException e) {
            return GenerateReassignmentPlanResponse.newBuilder().setErrorCode(QuorumController.errorCode(e.reason()))
                    .setErrorMessage(e.getMessage()).build();
        }
        GenerateReassignmentPlanResponse.Builder b = GenerateReassignmentPlanResponse.newBuilder().setErrorCode(ErrorCode.NONE);
        plan.forEach((ref, target) -> {
            TopicImage topic = image.topics().topic(ref.topicId()).orElseThrow();
            b.addMovesBuilder().setPartition(TopicPartitionRef.newBuilder().setTopic(topic.name()).setPartition(ref.partition()))
                    .addAllCurrentReplicas(topic.partitions().get(ref.partition()).targetReplicas())
                    .addAllTargetReplicas(target);
        });
        return b.build();
    }
}

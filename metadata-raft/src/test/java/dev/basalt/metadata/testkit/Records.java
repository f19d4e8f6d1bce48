package dev.basalt.metadata.testkit;

import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerFencedRecord;
import dev.basalt.proto.v1.BrokerIdList;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.BrokerUnfencedRecord;
import dev.basalt.proto.v1.ConfigChangeRecord;
import dev.basalt.proto.v1.ConfigResourceType;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionChangeRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.ProducerIdBlockRecord;
import dev.basalt.proto.v1.QuorumVoter;
import dev.basalt.proto.v1.TopicRecord;
import dev.basalt.proto.v1.TopicRemovalRecord;
import dev.basalt.proto.v1.VoterSetChangeRecord;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Short builders of metadata records for tests. Stateless, thread-safe. */
public final class Records {
    private Records() {
    }

    public static UUID id(long n) {
        return new UUID(0x5eed, n);
    }

    public static MetadataRecord register(int brokerId, UUID incarnation, String rack, boolean fenced) {
        return MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder()
                .setBrokerId(brokerId).setIncarnationId(ProtoIds.toProto(incarnation)).setRack(rack == null ? "" : rack)
                .setFenced(fenced).addEndpoints(BrokerEndpoint.newBuilder().setName("CLIENT").setHost("127.0.0.1")
                        .setPort(9400 + brokerId))).build();
    }

    public static MetadataRecord fence(int brokerId, UUID incarnation) {
        return MetadataRecord.newBuilder().setBrokerFenced(BrokerFencedRecord.newBuilder().setBrokerId(brokerId)
                .setIncarnationId(ProtoIds.toProto(incarnation))).build();
    }

    public static MetadataRecord unfence(int brokerId, UUID incarnation) {
        return MetadataRecord.newBuilder().setBrokerUnfenced(BrokerUnfencedRecord.newBuilder().setBrokerId(brokerId)
                .setIncarnationId(ProtoIds.toProto(incarnation))).build();
    }

    public static MetadataRecord topic(String name, UUID id, Map<String, String> configs) {
        return MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName(name)
                .setTopicId(ProtoIds.toProto(id)).putAllConfigs(configs)).build();
    }

    public static MetadataRecord partition(UUID topicId, int partition, List<Integer> replicas, List<Integer> isr,
                                           int leader, int leaderEpoch, int partitionEpoch) {
        return MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(topicId))
                .setPartition(partition).addAllReplicas(replicas).addAllIsr(isr).setLeader(leader)
                .setLeaderEpoch(leaderEpoch).setPartitionEpoch(partitionEpoch)).build();
    }

    /** A partition record with eligible leader replicas and the unclean-recovery flag (KIP-966). */
    public static MetadataRecord partition(UUID topicId, int partition, List<Integer> replicas, List<Integer> isr,
                                           int leader, int leaderEpoch, int partitionEpoch, List<Integer> elr,
                                           boolean leaderRecovering) {
        return MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(topicId))
                .setPartition(partition).addAllReplicas(replicas).addAllIsr(isr).setLeader(leader)
                .setLeaderEpoch(leaderEpoch).setPartitionEpoch(partitionEpoch).addAllEligibleLeaderReplicas(elr)
                .setLeaderRecovering(leaderRecovering)).build();
    }

    /** A partition change; null arguments are left out (unchanged). */
    public static MetadataRecord change(UUID topicId, int partition, int expectedEpoch, Integer leader,
                                        List<Integer> isr, List<Integer> replicas) {
        PartitionChangeRecord.Builder b = PartitionChangeRecord.newBuilder().setTopicId(ProtoIds.toProto(topicId))
                .setPartition(partition).setExpectedPartitionEpoch(expectedEpoch);
        if (leader != null) {
            b.setLeader(leader);
        }
        if (isr != null) {
            b.setIsr(BrokerIdList.newBuilder().addAllBrokerIds(isr));
        }
        if (replicas != null) {
            b.setReplicas(BrokerIdList.newBuilder().addAllBrokerIds(replicas));
        }
        return MetadataRecord.newBuilder().setPartitionChange(b).build();
    }

    /** A partition change that may also set the ELR and the recovering flag; null = unchanged. */
    public static MetadataRecord change(UUID topicId, int partition, int expectedEpoch, Integer leader,
                                        List<Integer> isr, List<Integer> replicas, List<Integer> elr,
                                        Boolean leaderRecovering) {
        PartitionChangeRecord.Builder b = change(topicId, partition, expectedEpoch, leader, isr, replicas)
                .getPartitionChange().toBuilder();
        if (elr != null) {
            b.setEligibleLeaderReplicas(BrokerIdList.newBuilder().addAllBrokerIds(elr));
        }
        if (leaderRecovering != null) {
            b.setLeaderRecovering(leaderRecovering);
        }
        return MetadataRecord.newBuilder().setPartitionChange(b).build();
    }

    public static MetadataRecord removeTopic(UUID topicId) {
        return MetadataRecord.newBuilder().setTopicRemoval(TopicRemovalRecord.newBuilder()
                .setTopicId(ProtoIds.toProto(topicId))).build();
    }

    /** Sets (value non-null) or deletes a config key. */
    public static MetadataRecord config(boolean topic, String resourceName, String key, String value) {
        ConfigChangeRecord.Builder b = ConfigChangeRecord.newBuilder()
                .setResourceType(topic ? ConfigResourceType.CONFIG_RESOURCE_TYPE_TOPIC
                        : ConfigResourceType.CONFIG_RESOURCE_TYPE_BROKER)
                .setResourceName(resourceName).setKey(key);
        if (value != null) {
            b.setValue(value);
        }
        return MetadataRecord.newBuilder().setConfigChange(b).build();
    }

    public static MetadataRecord producerIds(int owner, long first, int size) {
        return MetadataRecord.newBuilder().setProducerIdBlock(ProducerIdBlockRecord.newBuilder()
                .setOwnerBrokerId(owner).setFirstProducerId(first).setSize(size)).build();
    }

    public static MetadataRecord voters(int... nodeIds) {
        VoterSetChangeRecord.Builder b = VoterSetChangeRecord.newBuilder();
        for (int id : nodeIds) {
            b.addVoters(QuorumVoter.newBuilder().setNodeId(id).setHost("127.0.0.1").setPort(9401 + id));
        }
        return MetadataRecord.newBuilder().setVoterSetChange(b).build();
    }
}

package dev.basalt.broker.testkit;

import dev.basalt.broker.metadata.MetadataUpdate;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.TopicRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Metadata images for tests that drive one {@link ReplicaManager} without a controller. */
public final class TopicImages {
    private TopicImages() {
    }

    /**
     * Publishes to {@code rm} the registration of every replica (unfenced, on 127.0.0.1:9400+id)
     * and a one-partition topic whose leader is broker 1 in epoch 0 with every replica in the ISR.
     *
     * @return the image now published
     */
    public static MetadataImage publishTopic(ReplicaManager rm, MetadataImage image, String topic, UUID topicId,
                                             List<Integer> replicas) {
        List<MetadataRecord> records = new ArrayList<>();
        for (int id : replicas) {
            records.add(MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder().setBrokerId(id)
                    .setIncarnationId(ProtoIds.toProto(new UUID(id, 1))).setFenced(false)
                    .addEndpoints(BrokerEndpoint.newBuilder().setName("PLAINTEXT").setHost("127.0.0.1").setPort(9400 + id))).build());
        }
        records.add(MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName(topic).setTopicId(ProtoIds.toProto(topicId)))
                .build());
        records.add(MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(topicId))
                .setPartition(0).addAllReplicas(replicas).addAllIsr(replicas).setLeader(1).setLeaderEpoch(0).setPartitionEpoch(0)).build());
        MetadataDelta d = new MetadataDelta(image);
        records.forEach(d::replay);
        MetadataImage next = d.apply();
        rm.onMetadataUpdate(new MetadataUpdate(image, next, -1, true));
        return next;
    }
}

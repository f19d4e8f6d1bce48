package dev.basalt.broker.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerIdList;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionChangeRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.TopicRecord;
import dev.basalt.proto.v1.TopicRemovalRecord;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** What a subscriber is told changed: found by identity of the untouched sub-images, never by rescanning. */
class MetadataUpdateTest {
    private static final UUID A = new UUID(1, 1);
    private static final UUID B = new UUID(2, 2);

    private static MetadataImage apply(MetadataImage base, MetadataRecord... records) {
        MetadataDelta d = new MetadataDelta(base);
        d.replayAll(List.of(records));
        return d.apply();
    }

    private static MetadataRecord broker(int id) {
        return MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder().setBrokerId(id)
                .setIncarnationId(ProtoIds.toProto(new UUID(7, id))).addEndpoints(BrokerEndpoint.newBuilder()
                        .setName("PLAINTEXT").setHost("127.0.0.1").setPort(9000 + id))).build();
    }

    private static MetadataRecord topic(String name, UUID id) {
        return MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName(name).setTopicId(ProtoIds.toProto(id))).build();
    }

    private static MetadataRecord partition(UUID id, int p) {
        return MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(id)).setPartition(p)
                .addAllReplicas(List.of(1, 2)).addAllIsr(List.of(1, 2)).setLeader(1)).build();
    }

    @Test
    void onlyTheChangedPartitionOfTheChangedTopicIsReported() {
        MetadataImage v1 = apply(MetadataImage.EMPTY, broker(1), broker(2), topic("a", A), partition(A, 0), partition(A, 1),
                topic("b", B), partition(B, 0));
        MetadataUpdate first = new MetadataUpdate(MetadataImage.EMPTY, v1, 7, true);
        assertEquals(3, first.changedPartitions().size());
        assertTrue(first.clusterChanged());

        MetadataImage v2 = apply(v1, MetadataRecord.newBuilder().setPartitionChange(PartitionChangeRecord.newBuilder()
                .setTopicId(ProtoIds.toProto(A)).setPartition(1).setExpectedPartitionEpoch(0)
                .setIsr(BrokerIdList.newBuilder().addBrokerIds(1))).build());
        MetadataUpdate u = new MetadataUpdate(v1, v2, 8, true);
        assertEquals(1, u.changedTopics().size());
        assertEquals(1, u.changedPartitions().size());
        assertEquals(1, u.changedPartitions().get(0).partition());
        assertEquals(List.of(1), u.changedPartitions().get(0).registration().isr());
        assertFalse(u.clusterChanged());
        assertTrue(u.removedTopics().isEmpty());

        MetadataImage v3 = apply(v2, MetadataRecord.newBuilder().setTopicRemoval(TopicRemovalRecord.newBuilder()
                .setTopicId(ProtoIds.toProto(B))).build());
        MetadataUpdate removal = new MetadataUpdate(v2, v3, 9, true);
        assertEquals(List.of("b"), removal.removedTopics().stream().map(t -> t.name()).toList());
        assertTrue(removal.changedPartitions().isEmpty());
    }
}

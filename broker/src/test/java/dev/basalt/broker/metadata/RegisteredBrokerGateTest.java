package dev.basalt.broker.metadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.api.Test;

/**
 * A restarted broker must not act on roles its previous incarnation held: the gate hands nothing
 * on until the image holds the current incarnation's registration, and then every change since.
 */
class RegisteredBrokerGateTest {
    private static final UUID OLD = new UUID(1, 1);
    private static final UUID NOW = new UUID(2, 2);
    private static final UUID TOPIC = new UUID(3, 3);

    private static MetadataImage apply(MetadataImage base, MetadataRecord... records) {
        MetadataDelta d = new MetadataDelta(base);
        d.replayAll(List.of(records));
        return d.apply();
    }

    private static MetadataRecord register(int id, UUID incarnation) {
        return MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder().setBrokerId(id)
                .setIncarnationId(ProtoIds.toProto(incarnation)).addEndpoints(BrokerEndpoint.newBuilder()
                        .setName("PLAINTEXT").setHost("127.0.0.1").setPort(9000 + id))).build();
    }

    @Test
    void rolesOfAnOlderIncarnationAreHeld_thenEverythingSinceIsHandedOn() {
        List<MetadataUpdate> seen = new ArrayList<>();
        RegisteredBrokerGate gate = new RegisteredBrokerGate(1, NOW, seen::add);
        MetadataImage old = apply(MetadataImage.EMPTY, register(1, OLD), register(2, new UUID(0, 2)),
                MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName("t").setTopicId(ProtoIds.toProto(TOPIC))).build(),
                MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(TOPIC))
                        .setPartition(0).addReplicas(1).addReplicas(2).addIsr(1).addIsr(2).setLeader(1)).build());
        gate.onMetadataUpdate(new MetadataUpdate(MetadataImage.EMPTY, old, 4, true));
        assertTrue(seen.isEmpty(), "the image still names the previous incarnation: its leadership must not be taken");

        MetadataImage registered = apply(old, register(1, NOW));
        gate.onMetadataUpdate(new MetadataUpdate(old, registered, 5, true));
        assertEquals(1, seen.size());
        assertSame(MetadataImage.EMPTY, seen.get(0).previous(), "the first update handed on must carry every change");
        assertEquals(1, seen.get(0).changedPartitions().size());

        MetadataImage later = apply(registered, register(2, new UUID(0, 9)));
        gate.onMetadataUpdate(new MetadataUpdate(registered, later, 6, true));
        assertSame(registered, seen.get(1).previous());
    }
}

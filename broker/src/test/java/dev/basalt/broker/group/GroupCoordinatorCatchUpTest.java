package dev.basalt.broker.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.group.state.GroupConfig;
import dev.basalt.broker.metadata.MetadataUpdate;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.TopicRecord;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Claim: until this broker's metadata image has caught up with the quorum once, the coordinator
 * answers COORDINATOR_NOT_AVAILABLE saying so, for lookups and group operations alike, instead
 * of judging from a stale image (found probing: a restarting node answered lag requests with
 * "__consumer_offsets does not exist yet" for about 8 s); once caught up it answers from the image.
 *
 * <p>Method: a coordinator for broker 1 with no replica manager, producer or controller (a
 * broker that leads no offsets partition touches none), fed images by hand.
 */
class GroupCoordinatorCatchUpTest {
    private static final GroupCoordinator.Settings SETTINGS =
            new GroupCoordinator.Settings(1, 1, 4096, GroupConfig.DEFAULT, 100, 5_000);

    private final GroupCoordinator coordinator = new GroupCoordinator(1, SETTINGS, null, null, null,
            Clock.fixed(Instant.ofEpochMilli(1_000), ZoneOffset.UTC), null, Runnable::run);

    @Test
    void beforeTheImageCaughtUp_everyAnswerSaysSo_thenTheImageIsUsed() {
        MetadataImage image = offsetsTopicLedBy(2);
        coordinator.onMetadataUpdate(new MetadataUpdate(MetadataImage.EMPTY, image, 5, false));

        for (CompletableFuture<?> answer : List.of(coordinator.findCoordinator("g"),
                coordinator.write("g", g -> { throw new AssertionError("ran on a stale image"); }),
                coordinator.readAll(g -> { throw new AssertionError("listed from a stale image"); }))) {
            GroupCoordinator.CoordinatorException e = failure(answer);
            assertEquals(ErrorCode.COORDINATOR_NOT_AVAILABLE, e.code());
            assertTrue(e.getMessage().contains("broker 1 has not caught up on the metadata log"), e.getMessage());
        }

        coordinator.onMetadataUpdate(new MetadataUpdate(image, image, 6, true));
        assertEquals(new GroupCoordinator.Coordinator(2, "127.0.0.1", 9402, 0), coordinator.findCoordinator("g").join());
        GroupCoordinator.CoordinatorException notHere = failure(coordinator.write("g", g -> { throw new AssertionError(); }));
        assertEquals(ErrorCode.NOT_COORDINATOR, notHere.code(), notHere.getMessage());
        assertEquals(List.of(), coordinator.readAll(g -> g).join(), "caught up, and leading no shard: no groups here");

        // Caught up once is enough: a later image is used as it comes.
        coordinator.onMetadataUpdate(new MetadataUpdate(image, image, 7, false));
        assertEquals(2, coordinator.findCoordinator("g").join().nodeId());
    }

    private static GroupCoordinator.CoordinatorException failure(CompletableFuture<?> answer) {
        ExecutionException e = assertThrows(ExecutionException.class, answer::get);
        assertTrue(e.getCause() instanceof GroupCoordinator.CoordinatorException, String.valueOf(e.getCause()));
        return (GroupCoordinator.CoordinatorException) e.getCause();
    }

    /** Brokers 1 and 2 registered, and a one-partition offsets topic led by {@code leader}. */
    private static MetadataImage offsetsTopicLedBy(int leader) {
        MetadataDelta d = new MetadataDelta(MetadataImage.EMPTY);
        for (int id : List.of(1, 2)) {
            d.replay(MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder().setBrokerId(id)
                    .setIncarnationId(ProtoIds.toProto(new UUID(id, 1))).setFenced(false)
                    .addEndpoints(BrokerEndpoint.newBuilder().setName("PLAINTEXT").setHost("127.0.0.1").setPort(9400 + id))).build());
        }
        UUID topicId = new UUID(7, 7);
        d.replay(MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName(GroupCoordinator.TOPIC)
                .setTopicId(ProtoIds.toProto(topicId))).build());
        d.replay(MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(topicId))
                .setPartition(0).addAllReplicas(List.of(1, 2)).addAllIsr(List.of(1, 2)).setLeader(leader).setLeaderEpoch(3)
                .setPartitionEpoch(3)).build());
        return d.apply();
    }
}

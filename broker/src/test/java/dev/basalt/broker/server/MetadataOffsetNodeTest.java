package dev.basalt.broker.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.testkit.OneNode;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataRequest;
import dev.basalt.proto.v1.MetadataResponse;
import dev.basalt.proto.v1.MetadataServiceGrpc;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Metadata answer says which metadata log index the broker's image holds, and that index
 * grows with every change the image shows: a topic created, deleted, created again under a new id.
 * Clients order answers from different brokers by it (a lagging broker's older image must not undo
 * what a newer one showed; see the client's Cluster.merge).
 *
 * <p>Method: a combined node started in this JVM on free loopback ports, driven over gRPC.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=MetadataOffsetNodeTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class MetadataOffsetNodeTest {
    @TempDir
    Path dir;
    private ManagedChannel channel;

    @Test
    void theAnswersIndexGrowsWithEveryChangeItsImageShows() throws Exception {
        try (OneNode node = new OneNode(dir, Map.of())) {
            channel = node.channel();
            indexGrowsWithEveryChange();
        }
    }

    private void indexGrowsWithEveryChange() throws InterruptedException {
        // registered: a topic can be created (its broker must be in the image first; found in a full run)
        MetadataResponse none = awaitMetadata(r -> r.getBrokersCount() == 1, "the node serves metadata, its broker registered");
        assertEquals(ErrorCode.UNKNOWN_TOPIC, none.getTopics(0).getErrorCode());
        assertTrue(none.getMetadataOffset() > 0, "an answer names its image's index: " + none.getMetadataOffset());

        create();
        MetadataResponse created = awaitMetadata(r -> r.getTopics(0).getErrorCode() == ErrorCode.NONE, "topic t");
        assertTrue(created.getMetadataOffset() > none.getMetadataOffset(), created.getMetadataOffset() + " after "
                + none.getMetadataOffset());

        assertEquals(ErrorCode.NONE, admin().deleteTopics(DeleteTopicsRequest.newBuilder().addNames("t").setTimeoutMs(5_000)
                .build()).getTopics(0).getErrorCode());
        MetadataResponse deleted = awaitMetadata(r -> r.getTopics(0).getErrorCode() == ErrorCode.UNKNOWN_TOPIC, "t deleted");
        assertTrue(deleted.getMetadataOffset() > created.getMetadataOffset());

        create();
        MetadataResponse again = awaitMetadata(r -> r.getTopics(0).getErrorCode() == ErrorCode.NONE, "t created again");
        assertNotEquals(created.getTopics(0).getTopicId(), again.getTopics(0).getTopicId());
        assertTrue(again.getMetadataOffset() > deleted.getMetadataOffset());
    }

    private AdminServiceGrpc.AdminServiceBlockingStub admin() {
        return AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private void create() {
        assertEquals(ErrorCode.NONE, admin().createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(5_000)
                .addTopics(CreateTopicsRequest.NewTopic.newBuilder().setName("t").setPartitions(1).setReplicationFactor(1))
                .build()).getTopics(0).getErrorCode());
    }

    private MetadataResponse awaitMetadata(Predicate<MetadataResponse> done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        MetadataResponse last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = MetadataServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .metadata(MetadataRequest.newBuilder().addTopics("t").build());
                if (last.getErrorCode() == ErrorCode.NONE && done.test(last)) {
                    return last;
                }
            } catch (io.grpc.StatusRuntimeException e) {
                // the node is still starting
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting for " + what + "; last answer " + last);
    }
}

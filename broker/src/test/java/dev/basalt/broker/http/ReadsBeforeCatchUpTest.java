package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.server.AdminHandler;
import dev.basalt.proto.v1.ConfigResource;
import dev.basalt.proto.v1.DescribeClusterRequest;
import dev.basalt.proto.v1.DescribeConfigsRequest;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import dev.basalt.proto.v1.DescribeTopicsRequest;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ListTopicsRequest;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A node that has not caught up on the metadata log since it started answers admin reads, over
 * gRPC and over HTTP, with a retriable BROKER_NOT_AVAILABLE (HTTP 503), never from its empty or
 * old image. Found probing a cluster: for 0.2–0.5 s after a restart /v1/topics answered 200 [],
 * /v1/topics/T 404 and /v1/cluster no brokers, each of which reads as final.
 */
class ReadsBeforeCatchUpTest {
    // the image is never read before the node caught up: no replica manager is needed to answer
    final AdminHandler admin = new AdminHandler(null, NodeConfig.defaults(), () -> 1, () -> false);

    @Test
    void adminReads_areRetriable_beforeTheFirstCatchUp() {
        assertNotCaughtUp(admin.listTopics(ListTopicsRequest.getDefaultInstance()).getErrorCode(),
                admin.listTopics(ListTopicsRequest.getDefaultInstance()).getErrorMessage());
        var topics = admin.describeTopics(DescribeTopicsRequest.newBuilder().addNames("orders").build());
        assertNotCaughtUp(topics.getErrorCode(), topics.getErrorMessage());
        assertEquals(0, topics.getTopicsCount(), "no topic answered UNKNOWN_TOPIC from an old image");
        var configs = admin.describeConfigs(DescribeConfigsRequest.newBuilder().addResources(DescribeConfigsRequest.Query.newBuilder()
                .setResource(ConfigResource.newBuilder().setType(ConfigResource.Type.TOPIC).setName("orders"))).build());
        assertNotCaughtUp(configs.getErrorCode(), configs.getErrorMessage());
        var cluster = admin.describeCluster(DescribeClusterRequest.getDefaultInstance());
        assertNotCaughtUp(cluster.getErrorCode(), cluster.getErrorMessage());
        assertEquals(0, cluster.getBrokersCount());
    }

    @Test
    void httpReadsOfTheImage_are503_beforeTheFirstCatchUp_theQuorumIsNot() {
        ClusterHttpApi api = new ClusterHttpApi(admin, null, DescribeQuorumResponse::getDefaultInstance, null, null);
        for (String path : new String[] {"/v1/cluster", "/v1/brokers", "/v1/brokers/1", "/v1/topics", "/v1/topics/orders",
                "/v1/topics/orders/configs", "/v1/topics/orders/partitions/0/records"}) {
            HttpAdminServer.Reply r = api.handle(path, Map.of());
            assertEquals(503, r.status(), path + ": " + r.body());
            assertTrue(r.body().contains("BROKER_NOT_AVAILABLE") && r.body().contains("not caught up"), path + ": " + r.body());
        }
        assertEquals(200, api.handle("/v1/quorum", Map.of()).status(), "the quorum's view is the Raft node's own, not the image");
        assertEquals(200, api.handle("/v1/", Map.of()).status());
    }

    private static void assertNotCaughtUp(ErrorCode code, String message) {
        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, code, message);
        assertTrue(message.contains("broker 1 has not caught up on the metadata log"), message);
    }
}

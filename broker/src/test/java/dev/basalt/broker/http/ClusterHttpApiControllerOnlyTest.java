package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.proto.v1.DescribeQuorumResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The /v1/ API on a controller-only node: only /v1/quorum is served there; every broker resource
 * its index lists answers 404 NOT_A_BROKER (found probing a cluster: /v1/groups said NOT_FOUND
 * "no such resource" though the index lists it).
 */
class ClusterHttpApiControllerOnlyTest {
    final ClusterHttpApi api = new ClusterHttpApi(null, null, DescribeQuorumResponse::getDefaultInstance, null, null);

    @Test
    void brokerResources_notABroker() {
        for (String path : new String[] {"/v1/cluster", "/v1/brokers", "/v1/topics/t", "/v1/groups", "/v1/groups/g1/lag"}) {
            HttpAdminServer.Reply r = api.handle(path, Map.of());
            assertEquals(404, r.status(), path);
            assertTrue(r.body().contains("NOT_A_BROKER"), path + ": " + r.body());
        }
        assertEquals(200, api.handle("/v1/quorum", Map.of()).status());
        assertTrue(api.handle("/v1/", Map.of()).body().contains("/v1/groups"), "the index lists the broker resources too");
        assertTrue(api.handle("/v1/nonsense", Map.of()).body().contains("NOT_FOUND"));
    }
}

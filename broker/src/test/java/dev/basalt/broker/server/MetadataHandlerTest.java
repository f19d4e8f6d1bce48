package dev.basalt.broker.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataRequest;
import dev.basalt.proto.v1.MetadataResponse;
import org.junit.jupiter.api.Test;

/**
 * A node that has not caught up on the metadata log since it started answers Metadata with a
 * retriable BROKER_NOT_AVAILABLE, never from its old or empty image. Found probing a cluster: a
 * broker that had just restarted answered existing topics UNKNOWN_TOPIC, and a running consumer
 * with that broker in its bootstrap list exited with "topic does not exist".
 */
class MetadataHandlerTest {
    @Test
    void beforeTheFirstCatchUp_metadataIsRetriable_notUnknownTopic() {
        // the image is never read before the node caught up: no replica manager is needed to answer
        MetadataHandler handler = new MetadataHandler(null, "cluster-1", () -> 2, () -> false);
        MetadataResponse r = handler.handle(MetadataRequest.newBuilder().addTopics("orders").build());
        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, r.getErrorCode(), r.toString());
        assertEquals(0, r.getTopicsCount(), "no topic answered UNKNOWN_TOPIC from an old image");
        assertTrue(r.getErrorMessage().contains("not caught up"), r.getErrorMessage());
    }
}

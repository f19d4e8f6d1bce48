package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.client.testkit.ManualTime;
import dev.basalt.proto.v1.BrokerNode;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The producer's "topic does not exist" countdown (UNKNOWN_TOPIC answers for
 * UNKNOWN_TOPIC_GRACE_MS end its sends) counts only answers the snapshot took: a lagging broker
 * whose image does not show a topic yet neither starts it nor, showing a deleted topic still,
 * ends it. Found by review of metadata_offset: the countdown read every raw answer, so sends to a
 * topic the client knew from a newer image could fail as deleted.
 */
class MetadataManagerOrderTest {
    private final ManualTime time = new ManualTime();

    private static MetadataResponse.Builder base(long metadataOffset) {
        return MetadataResponse.newBuilder().setClusterId("c").setControllerId(1).setMetadataOffset(metadataOffset)
                .addBrokers(BrokerNode.newBuilder().setId(1).setHost("127.0.0.1").setPort(9401));
    }

    private static MetadataResponse exists(long metadataOffset) {
        return base(metadataOffset).addTopics(MetadataResponse.TopicMetadata.newBuilder().setName("t").setTopicId("id-1")
                .addPartitions(MetadataResponse.PartitionMetadata.newBuilder().setPartition(0).setLeaderId(1).addReplicas(1))).build();
    }

    private static MetadataResponse unknown(long metadataOffset) {
        return base(metadataOffset).addTopics(MetadataResponse.TopicMetadata.newBuilder().setName("t")
                .setErrorCode(ErrorCode.UNKNOWN_TOPIC)).build();
    }

    @Test
    void aLaggingBrokersAnswers_neitherStartNorEndTheDeletedTopicCountdown() {
        MetadataManager m = new MetadataManager(new ChannelPool(1 << 20, 1_000, 1_000), List.of(new HostPort("127.0.0.1", 9401)),
                1_000, 100, 300_000, time);
        m.apply(exists(50));
        for (int i = 0; i < 5; i++) {
            time.advance(1_000);
            m.apply(unknown(40)); // a broker that has not seen the topic created yet
        }
        assertEquals(-1, m.unknownForMs("t"), "older images' UNKNOWN_TOPIC answers do not count");
        assertEquals("id-1", m.current().topic("t").topicId());

        m.apply(unknown(60)); // deleted
        time.advance(1_000);
        m.apply(exists(55)); // a broker that has not seen the delete yet
        time.advance(1_000);
        m.apply(unknown(61));
        assertEquals(2_000, m.unknownForMs("t"), "an older image showing the topic still does not end the run");
    }
}

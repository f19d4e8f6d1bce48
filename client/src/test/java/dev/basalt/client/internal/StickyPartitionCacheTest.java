package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.basalt.proto.v1.BrokerNode;
import dev.basalt.proto.v1.MetadataResponse;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * KIP-480 sticky partitioning: the same partition until told to move, then a different partition
 * with a leader; over many switches every partition is used.
 */
class StickyPartitionCacheTest {
    private static Cluster cluster(int partitions) {
        MetadataResponse.TopicMetadata.Builder t = MetadataResponse.TopicMetadata.newBuilder().setName("t").setTopicId("id");
        for (int p = 0; p < partitions; p++) {
            t.addPartitions(MetadataResponse.PartitionMetadata.newBuilder().setPartition(p).setLeaderId(1));
        }
        MetadataResponse r = MetadataResponse.newBuilder()
                .addBrokers(BrokerNode.newBuilder().setId(1).setHost("127.0.0.1").setPort(1)).addTopics(t).build();
        return Cluster.EMPTY.merge(r, 0);
    }

    @Test
    void sticksUntilMoved_thenMovesToAnother() {
        Cluster c = cluster(6);
        StickyPartitionCache s = new StickyPartitionCache(new SplittableRandom(42));
        int first = s.partition(c.topic("t"), c);
        assertEquals(first, s.partition(c.topic("t"), c));
        Set<Integer> seen = new HashSet<>();
        int previous = first;
        for (int i = 0; i < 200; i++) {
            int next = s.nextPartition(c.topic("t"), c, previous);
            assertNotEquals(previous, next);
            assertEquals(next, s.partition(c.topic("t"), c));
            seen.add(next);
            previous = next;
        }
        assertEquals(6, seen.size());
    }

    @Test
    void concurrentSwitchersAgree() {
        Cluster c = cluster(4);
        StickyPartitionCache s = new StickyPartitionCache(new SplittableRandom(1));
        int p = s.partition(c.topic("t"), c);
        int a = s.nextPartition(c.topic("t"), c, p);
        int b = s.nextPartition(c.topic("t"), c, p);
        assertEquals(a, b);
    }

    @Test
    void singlePartition_staysThere() {
        Cluster c = cluster(1);
        StickyPartitionCache s = new StickyPartitionCache(new SplittableRandom(3));
        assertEquals(0, s.nextPartition(c.topic("t"), c, 0));
    }
}

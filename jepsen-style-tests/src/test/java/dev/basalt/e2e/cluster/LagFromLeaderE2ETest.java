package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.basalt.client.GroupAdmin;
import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.NodeProcess;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Lag of partitions the group's coordinator holds no replica of, on three real node processes: a
 * topic of 3 partitions with one replica each puts two of them on other brokers than the
 * coordinator. Found probing: those partitions showed lag -1 (unknown), because the lag monitor
 * read only the coordinator's own replicas; it now asks the leaders.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=LagFromLeaderE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LagFromLeaderE2ETest extends ClusterTestSupport {
    @Test
    void everyPartitionsLag_isKnown_wheneverItsReplicaIs() throws Exception {
        start(builder(3).config("offsets.topic.num.partitions", "1"));
        createTopic("spread", 3, 1, Map.of());
        try (Producer<String, String> p = new Producer<>(Map.of("bootstrap.servers", cluster.bootstrap(), "acks", "all"),
                new StringSerializer(), new StringSerializer())) {
            for (int partition = 0; partition < 3; partition++) {
                for (int i = 0; i < 10; i++) {
                    Producer.await(p.send(new ProducerRecord<>("spread", partition, null, "v" + i)), Duration.ofSeconds(20));
                }
            }
        }
        Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
        for (int partition = 0; partition < 3; partition++) {
            committed.put(new TopicPartition("spread", partition), new OffsetAndMetadata(3));
        }
        try (GroupAdmin groups = new GroupAdmin(Map.of("bootstrap.servers", cluster.bootstrap()))) {
            groups.alterOffsets("g", committed);
        }
        // every node answers (the others forward to the coordinator); lag 7 everywhere, not -1
        for (int id : cluster.nodeIds()) {
            NodeProcess node = cluster.node(id);
            Map<Integer, Long> lags = new TreeMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                NodeProcess.HttpAnswer a = node.httpGet("/v1/groups/g/lag");
                lags.clear();
                if (a.code() == 200) {
                    JsonObject o = JsonParser.parseString(a.body()).getAsJsonObject();
                    JsonArray parts = o.getAsJsonArray("partitions");
                    parts.forEach(e -> lags.put(e.getAsJsonObject().get("partition").getAsInt(),
                            e.getAsJsonObject().get("lag").getAsLong()));
                    if (lags.size() == 3 && lags.values().stream().allMatch(l -> l == 7)) {
                        assertEquals(21, o.get("totallag").getAsLong(), a.body());
                        break;
                    }
                }
                Thread.sleep(200);
            }
            assertEquals(Map.of(0, 7L, 1, 7L, 2, 7L), lags, "lag by partition as node " + id + " answers");
        }
    }
}

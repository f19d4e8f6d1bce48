package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.broker.BasaltNode;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ProduceRecordsRequest;
import dev.basalt.proto.v1.ProduceRecordsResponse;
import dev.basalt.proto.v1.ProducedRecord;
import dev.basalt.proto.v1.RecordServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Goal: with {@code metrics.partition.labels.enable=true} traffic and log series carry the
 * partition, each with its own count; deleting the topic removes its traffic series (cardinality
 * does not grow with topic churn).
 *
 * <p>Method: one combined node in this JVM; records through the RecordService to two partitions;
 * {@code /metrics} scraped over HTTP until the expected values show (at most 10 s).
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=PerPartitionMetricsNodeTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class PerPartitionMetricsNodeTest {
    private Path dir;
    private BasaltNode node;
    private ManagedChannel channel;

    @AfterEach
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (node != null) {
            node.close();
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static int freePort() {
        return dev.basalt.broker.testkit.TestPorts.freePort(); // below the ephemeral range
    }

    @Test
    void partitionLabels_countPerPartition_andGoWithTheTopic() throws Exception {
        dir = Files.createTempDirectory("per-partition");
        int client = freePort();
        int controller = freePort();
        String admin = "127.0.0.1:" + freePort();
        node = new BasaltNode(NodeConfig.of(Map.of("data.dir", dir.toString(), "listeners",
                "PLAINTEXT://127.0.0.1:" + client + ",CONTROLLER://127.0.0.1:" + controller, "controller.quorum.voters",
                "1@127.0.0.1:" + controller, "http.admin.listener", admin, "metrics.partition.labels.enable", "true",
                "metrics.jvm.enable", "false")), true);
        node.start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", client).usePlaintext().build();
        AdminPortNodeTest.await(() -> AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(5_000).addTopics(CreateTopicsRequest.NewTopic.newBuilder()
                                .setName("pp").setPartitions(2).setReplicationFactor(1)).build()),
                r -> r.getTopics(0).getErrorCode() == ErrorCode.NONE || r.getTopics(0).getErrorCode() == ErrorCode.TOPIC_ALREADY_EXISTS,
                "topic pp");
        produce(0, 3);
        produce(1, 2);
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest get = HttpRequest.newBuilder(URI.create("http://" + admin + "/metrics")).build();
        awaitScrape(http, get, m -> Double.valueOf(3).equals(m.get("basalt_topic_in_records_total{partition=\"0\",topic=\"pp\"}"))
                && Double.valueOf(2).equals(m.get("basalt_topic_in_records_total{partition=\"1\",topic=\"pp\"}"))
                && m.getOrDefault("basalt_topic_log_size_bytes{partition=\"1\",topic=\"pp\"}", 0.0) > 0, "per-partition series");
        Map<String, Double> m = AdminPortNodeTest.samples(http.send(get, HttpResponse.BodyHandlers.ofString()).body());
        assertTrue(m.keySet().stream().noneMatch(s -> s.startsWith("basalt_topic_in_records_total{topic=")), "no per-topic series");

        assertEquals(ErrorCode.NONE, AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .deleteTopics(DeleteTopicsRequest.newBuilder().addNames("pp").setTimeoutMs(5_000).build()).getTopics(0).getErrorCode());
        awaitScrape(http, get, s -> s.keySet().stream().noneMatch(k -> k.contains("topic=\"pp\"")), "series of the deleted topic gone");
    }

    private void produce(int partition, int records) throws Exception {
        ProduceRecordsRequest.Builder req = ProduceRecordsRequest.newBuilder().setTopic("pp").setPartition(partition);
        for (int i = 0; i < records; i++) {
            req.addRecords(ProducedRecord.newBuilder().setValue(ByteString.copyFromUtf8("v" + i)));
        }
        AdminPortNodeTest.await(() -> RecordServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .produceRecords(req.build()), (ProduceRecordsResponse r) -> r.getErrorCode() == ErrorCode.NONE
                && r.getPartitionsList().stream().allMatch(x -> x.getErrorCode() == ErrorCode.NONE), "produce to pp-" + partition);
    }

    private static void awaitScrape(HttpClient http, HttpRequest get, Predicate<Map<String, Double>> ok, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Map<String, Double> last = Map.of();
        while (System.nanoTime() < deadline) {
            last = AdminPortNodeTest.samples(http.send(get, HttpResponse.BodyHandlers.ofString()).body());
            if (ok.test(last)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(what + " not seen in 10 s; last scrape had " + last.size() + " samples: "
                + last.keySet().stream().filter(k -> k.contains("pp")).toList());
    }
}

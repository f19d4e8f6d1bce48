package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.BasaltNode;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.ErrorCode;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Goal: the cost of one {@code GET /metrics} on a node with 1,000 partitions (10 topics of 100),
 * in time and bytes, with per-topic labels (the default) and with per-partition labels. The
 * figures go into docs/metrics.md.
 *
 * <p>Method: one combined node per labelling in this JVM; after the partitions are created and
 * led here, 10 warm-up scrapes, then 50 timed scrapes over HTTP (the server's collection and
 * writing plus the loopback transfer). Prints median, p90 and max time and the body size. Asserts
 * only loose bounds (a loaded CI host must not fail it): under 2 s and under 10 MB a scrape.
 *
 * <p>Run (skipped unless asked): {@code ./mvnw -B -ntp -o -pl broker -am verify
 * -Dtest=ScrapeCostMeasurementTest -Dsurefire.failIfNoSpecifiedTests=false -Dbasalt.measure=true}.
 */
class ScrapeCostMeasurementTest {
    static final int TOPICS = 10;
    static final int PARTITIONS_PER_TOPIC = 100;

    @Test
    void scrapeCost_1000Partitions() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("basalt.measure"), "a measurement: run with -Dbasalt.measure=true");
        measure(false);
        measure(true);
    }

    private static int freePort() {
        return dev.basalt.broker.testkit.TestPorts.freePort(); // below the ephemeral range
    }

    private void measure(boolean perPartition) throws Exception {
        Path dir = Files.createTempDirectory("scrape-cost");
        int client = freePort();
        int controller = freePort();
        String admin = "127.0.0.1:" + freePort();
        BasaltNode node = new BasaltNode(NodeConfig.of(Map.of("data.dir", dir.toString(), "listeners",
                "PLAINTEXT://127.0.0.1:" + client + ",CONTROLLER://127.0.0.1:" + controller, "controller.quorum.voters",
                "1@127.0.0.1:" + controller, "http.admin.listener", admin, "log.segment.bytes", "1048576",
                "metrics.partition.labels.enable", Boolean.toString(perPartition))), true);
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", client).usePlaintext().build();
        try {
            node.start();
            for (int t = 0; t < TOPICS; t++) {
                String name = "bulk-" + t;
                AdminPortNodeTest.await(() -> AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                                .createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(30_000).addTopics(
                                        CreateTopicsRequest.NewTopic.newBuilder().setName(name).setPartitions(PARTITIONS_PER_TOPIC)
                                                .setReplicationFactor(1)).build()),
                        r -> r.getTopics(0).getErrorCode() == ErrorCode.NONE || r.getTopics(0).getErrorCode() == ErrorCode.TOPIC_ALREADY_EXISTS,
                        "topic " + name);
            }
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest get = HttpRequest.newBuilder(URI.create("http://" + admin + "/metrics")).build();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Double.valueOf(TOPICS * PARTITIONS_PER_TOPIC).equals(AdminPortNodeTest.samples(
                    http.send(get, HttpResponse.BodyHandlers.ofString()).body()).get("basalt_partitions_leader"))) {
                assertTrue(System.nanoTime() < deadline, "the node did not lead its 1,000 partitions within 120 s");
                Thread.sleep(200);
            }
            for (int i = 0; i < 10; i++) {
                http.send(get, HttpResponse.BodyHandlers.ofByteArray());
            }
            int n = 50;
            long[] nanos = new long[n];
            int bytes = 0;
            for (int i = 0; i < n; i++) {
                Thread.sleep(600); // past the gauges' 500 ms snapshot: every scrape collects afresh
                long start = System.nanoTime();
                HttpResponse<byte[]> r = http.send(get, HttpResponse.BodyHandlers.ofByteArray());
                nanos[i] = System.nanoTime() - start;
                assertEquals(200, r.statusCode());
                bytes = r.body().length;
            }
            Arrays.sort(nanos);
            String text = http.send(get, HttpResponse.BodyHandlers.ofString()).body();
            long series = text.lines().filter(l -> !l.startsWith("#") && !l.isEmpty()).count();
            System.out.printf("SCRAPE COST %s labels, %d partitions: median %.1f ms, p90 %.1f ms, max %.1f ms; %d bytes,"
                            + " %d samples (%d of them basalt_)%n", perPartition ? "per-partition" : "per-topic",
                    TOPICS * PARTITIONS_PER_TOPIC, nanos[n / 2] / 1e6, nanos[n * 9 / 10] / 1e6, nanos[n - 1] / 1e6, bytes, series,
                    text.lines().filter(l -> l.startsWith("basalt_")).count());
            assertTrue(nanos[n / 2] < TimeUnit.SECONDS.toNanos(2), "median scrape under 2 s");
            assertTrue(bytes < 10 << 20, "scrape under 10 MB");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            node.close();
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}

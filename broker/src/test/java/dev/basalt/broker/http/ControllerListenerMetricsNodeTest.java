package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.BasaltNode;
import dev.basalt.broker.config.NodeConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Goal: calls on the CONTROLLER listener are measured like the client port's: the Raft envelope
 * stream between voters ({@code basalt.v1.RaftService/Send}) and the controller's own RPCs (the
 * brokers' heartbeats to the active controller) appear in {@code basalt_requests_total},
 * {@code basalt_request_messages_total} and the latency histograms with
 * {@code listener="controller"}, and never under the client listener.
 *
 * <p>Method: three combined nodes in this JVM on free loopback ports (metadata-raft's transport is
 * instrumented by the broker's RpcMetrics); each node's {@code /metrics} is scraped over HTTP
 * until the expected series appear (30 s at most: elections and the first heartbeats on a loaded
 * host).
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=ControllerListenerMetricsNodeTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ControllerListenerMetricsNodeTest {
    static final String RAFT = "listener=\"controller\",rpc=\"basalt.v1.RaftService/Send\"";
    static final String HEARTBEAT = "listener=\"controller\",rpc=\"basalt.v1.ControllerService/BrokerHeartbeat\"";
    private final List<BasaltNode> nodes = new ArrayList<>();
    private final List<Path> dirs = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stop() throws Exception {
        for (BasaltNode n : nodes) {
            n.close();
        }
        for (Path dir : dirs) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static int freePort() {
        return dev.basalt.broker.testkit.TestPorts.freePort(); // below the ephemeral range
    }

    private Map<String, Double> scrape(int adminPort) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return AdminPortNodeTest.samples(r.body());
    }

    private Map<String, Double> awaitScrape(int adminPort, Predicate<Map<String, Double>> done, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Map<String, Double> last = Map.of();
        while (System.nanoTime() < deadline) {
            last = scrape(adminPort);
            if (done.test(last)) {
                return last;
            }
            Thread.sleep(100);
        }
        Map<String, Double> requests = new TreeMap<>();
        last.forEach((k, v) -> {
            if (k.startsWith("basalt_request")) {
                requests.put(k, v);
            }
        });
        throw new AssertionError("node on admin port " + adminPort + ": no " + what + " within 30 s; request series " + requests);
    }

    private static double value(Map<String, Double> samples, String series) {
        return samples.getOrDefault(series, 0.0);
    }

    @Test
    void raftAndControllerRpcs_areCountedOnTheControllerListener() throws Exception {
        int[] client = new int[3];
        int[] controller = new int[3];
        int[] admin = new int[3];
        StringBuilder voters = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            client[i] = freePort();
            controller[i] = freePort();
            admin[i] = freePort();
            voters.append(i == 0 ? "" : ",").append(i + 1).append("@127.0.0.1:").append(controller[i]);
        }
        for (int i = 0; i < 3; i++) {
            Path dir = Files.createTempDirectory("controller-metrics-" + (i + 1));
            dirs.add(dir);
            nodes.add(new BasaltNode(NodeConfig.of(Map.of("node.id", Integer.toString(i + 1), "data.dir", dir.toString(),
                    "listeners", "PLAINTEXT://127.0.0.1:" + client[i] + ",CONTROLLER://127.0.0.1:" + controller[i],
                    "controller.quorum.voters", voters.toString(), "http.admin.listener", "127.0.0.1:" + admin[i],
                    "offsets.topic.num.partitions", "1", "metrics.jvm.enable", "false")), true));
        }
        for (BasaltNode n : nodes) {
            n.start();
        }
        // Every voter receives Raft envelopes: followers the leader's appends, the leader their answers.
        for (int i = 0; i < 3; i++) {
            Map<String, Double> s = awaitScrape(admin[i], m -> value(m, "basalt_request_messages_total{" + RAFT + "}") > 0,
                    "Raft envelopes on the controller listener");
            assertEquals(0.0, value(s, "basalt_request_messages_total{listener=\"client\",rpc=\"basalt.v1.RaftService/Send\"}"),
                    "Raft is not served on the client port");
        }
        int leader = (int) awaitScrape(admin[0], m -> value(m, "basalt_raft_leader_id") > 0, "Raft leader")
                .get("basalt_raft_leader_id").doubleValue();
        // The active controller (the Raft leader) answers the brokers' heartbeats: unary calls with latencies.
        Map<String, Double> s = awaitScrape(admin[leader - 1], m -> value(m, "basalt_requests_total{" + HEARTBEAT + "}") >= 2
                        && value(m, "basalt_request_duration_seconds_count{" + HEARTBEAT + "}") >= 2,
                "heartbeats on the active controller's controller listener");
        assertTrue(value(s, "basalt_request_local_seconds_count{" + HEARTBEAT + "}") >= 2, s.toString());
        assertEquals(value(s, "basalt_requests_total{" + HEARTBEAT + "}"), value(s, "basalt_request_messages_total{" + HEARTBEAT
                + "}"), 1.0, "one message per unary call (scraped together; a call may close between the two series)");
    }
}

package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.basalt.broker.BasaltNode;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.metrics.BrokerMetrics;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.proto.v1.FindCoordinatorRequest;
import dev.basalt.proto.v1.GroupServiceGrpc;
import dev.basalt.proto.v1.OffsetCommitRequest;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import dev.basalt.record.RecordBatchBuilder;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Goal: the HTTP admin port end to end on a live node. {@code GET /metrics} reports what happened: after a known workload (records
 * and bytes produced to known partitions, one fetch, one failed produce, committed offsets of a
 * group) the scraped counters and gauges equal the numbers the workload implies; both exposition
 * formats parse with the official Prometheus client's parser; every metric family follows the
 * naming and label conventions of docs/metrics.md (the expected families are listed here). Every
 * {@code /v1/} endpoint answers the JSON of its protobuf message, errors are JSON with the right
 * status, and everything but /health and /ready needs the bearer token.
 *
 * <p>Method: one combined node started in this JVM on free loopback ports, driven over gRPC,
 * scraped over HTTP (with the bearer token the node is configured with). Values are awaited for
 * at most 10 s (request counters are updated when gRPC closes the stream, just after the answer).
 * The parse check runs Prometheus' Python client ({@code /usr/bin/python3} with Debian's
 * {@code python3-prometheus-client}, installed by .ci/run): Prometheus' Java client has no parser.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=AdminPortNodeTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdminPortNodeTest {
    static final String TOKEN = "metrics-test-token";
    private Path dir;
    private BasaltNode node;
    private ManagedChannel channel;
    private String admin;
    private final HttpClient http = HttpClient.newHttpClient();
    private long bytesIn0;
    private long bytesIn1;
    private int produceCalls;
    private int controllerPort;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("metrics-node");
        int client = freePort();
        int controller = freePort();
        controllerPort = controller;
        admin = "127.0.0.1:" + freePort();
        node = new BasaltNode(NodeConfig.of(Map.of("data.dir", dir.toString(), "listeners",
                "PLAINTEXT://127.0.0.1:" + client + ",CONTROLLER://127.0.0.1:" + controller,
                "controller.quorum.voters", "1@127.0.0.1:" + controller, "http.admin.listener", admin,
                "offsets.topic.num.partitions", "3", "http.auth.token", TOKEN, "lag.sample.interval.ms", "100",
                // g2's member heartbeats once: its session must outlast the class (45 s did not on a slow run)
                "group.consumer.session.timeout.ms", "600000")), true);
        node.start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", client).usePlaintext().build();
        workload();
    }

    @AfterAll
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (node != null) {
            node.close();
        }
        if (dir != null) {
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static int freePort() {
        return dev.basalt.broker.testkit.TestPorts.freePort(); // below the ephemeral range
    }

    static <T> T await(Supplier<T> call, Predicate<T> done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        T last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = call.get();
                if (done.test(last)) {
                    return last;
                }
            } catch (io.grpc.StatusRuntimeException e) {
                // node still starting
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting for " + what + "; last answer " + last);
    }

    /**
     * orders-0: batches of 5 and 3 records; orders-1: one batch of 4; a produce to an unknown
     * topic (UNKNOWN_TOPIC); one fetch of orders-0 from offset 0; group g commits orders-0 at 3
     * and orders-1 at 0 (lag 5 + 4 = 9).
     */
    private void workload() throws Exception {
        await(() -> AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(5_000).addTopics(CreateTopicsRequest.NewTopic.newBuilder()
                        .setName("orders").setPartitions(3).setReplicationFactor(1)).build()),
                r -> r.getTopics(0).getErrorCode() == ErrorCode.NONE || r.getTopics(0).getErrorCode() == ErrorCode.TOPIC_ALREADY_EXISTS,
                "topic orders");
        bytesIn0 = await(() -> produce("orders", 0, 5), n -> n > 0, "produce orders-0");
        bytesIn0 += produce("orders", 0, 3);
        bytesIn1 = produce("orders", 1, 4);
        assertEquals(-1, produce("no-such-topic", 0, 1));
        FetchResponse f = FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).fetch(
                FetchRequest.newBuilder().setMaxWaitMs(0).addTopics(FetchRequest.TopicData.newBuilder().setName("orders")
                        .addPartitions(FetchRequest.PartitionData.newBuilder().setPartition(0).setFetchOffset(0))).build());
        assertEquals(bytesIn0, f.getTopics(0).getPartitions(0).getRecords().size());
        GroupServiceGrpc.GroupServiceBlockingStub groups = GroupServiceGrpc.newBlockingStub(channel);
        await(() -> groups.withDeadlineAfter(10, TimeUnit.SECONDS).findCoordinator(FindCoordinatorRequest.newBuilder()
                .setGroupId("g").build()), r -> r.getErrorCode() == ErrorCode.NONE, "coordinator");
        await(() -> groups.withDeadlineAfter(10, TimeUnit.SECONDS).offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g")
                        .setMemberId("").setMemberEpoch(-1)
                        .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("orders").setPartition(0).setOffset(3)
                                .setLeaderEpoch(-1))
                        .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("orders").setPartition(1).setOffset(0)
                                .setLeaderEpoch(-1)).build()),
                r -> r.getErrorCode() == ErrorCode.NONE && r.getPartitionsList().stream().allMatch(p -> p.getErrorCode() == ErrorCode.NONE),
                "offset commit");
        // g2: one member joins (an epoch bump: a rebalance), subscribed to orders
        await(() -> groups.withDeadlineAfter(10, TimeUnit.SECONDS).consumerGroupHeartbeat(
                dev.basalt.proto.v1.ConsumerGroupHeartbeatRequest.newBuilder().setGroupId("g2").setMemberId("m1").setMemberEpoch(0)
                        .setRebalanceTimeoutMs(5_000).setClientId("test").setClientHost("localhost")
                        .setSubscription(dev.basalt.proto.v1.ConsumerGroupHeartbeatRequest.Subscription.newBuilder()
                                .addTopicNames("orders")).build()),
                r -> r.getErrorCode() == ErrorCode.NONE && r.getMemberEpoch() > 0, "g2 join");
        // one call on the CONTROLLER listener (the controller's admin service beside Raft)
        ManagedChannel toController = NettyChannelBuilder.forAddress("127.0.0.1", controllerPort).usePlaintext().build();
        try {
            AdminServiceGrpc.newBlockingStub(toController).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .describeQuorum(dev.basalt.proto.v1.DescribeQuorumRequest.getDefaultInstance());
        } finally {
            toController.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** Produces one batch of {@code records}; returns its size in bytes, or -1 on an error. */
    private long produce(String topic, int partition, int records) {
        produceCalls++;
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 1_000L);
        for (int i = 0; i < records; i++) {
            b.tryAppend(1_000L + i, null, ("value-" + i).getBytes(StandardCharsets.UTF_8), List.of());
        }
        ByteString batch = ByteString.copyFrom(b.build().buffer());
        ProduceResponse r = ProduceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).produce(
                ProduceRequest.newBuilder().setAcks(-1).setTimeoutMs(5_000).addTopics(ProduceRequest.TopicData.newBuilder()
                        .setName(topic).addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(partition)
                                .setRecords(batch))).build());
        return r.getTopics(0).getPartitions(0).getErrorCode() == ErrorCode.NONE ? batch.size() : -1;
    }

    String scrape(String accept) throws Exception {
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create("http://" + admin + "/metrics"))
                .header("Authorization", "Bearer " + TOKEN);
        if (accept != null) {
            rb.header("Accept", accept);
        }
        HttpResponse<String> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    /** Sample lines of the Prometheus text format: series (name{labels} as printed) to value. */
    static Map<String, Double> samples(String text) {
        Map<String, Double> out = new TreeMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int cut = line.lastIndexOf(' ');
            out.put(line.substring(0, cut), Double.parseDouble(line.substring(cut + 1)));
        }
        return out;
    }

    private double awaitValue(String series, Predicate<Double> ok) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Double last = null;
        while (System.nanoTime() < deadline) {
            last = samples(scrape(null)).get(series);
            if (last != null && ok.test(last)) {
                return last;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(series + " = " + last + " after 10 s");
    }

    private void assertValue(String series, double expected) throws Exception {
        awaitValue(series, v -> v == expected);
    }

    @Test
    @Order(1)
    void scrapedValues_matchTheWorkload() throws Exception {
        assertValue("basalt_topic_in_records_total{topic=\"orders\"}", 12);
        assertValue("basalt_topic_in_bytes_total{topic=\"orders\"}", bytesIn0 + bytesIn1);
        assertValue("basalt_topic_out_records_total{topic=\"orders\"}", 8);
        assertValue("basalt_topic_out_bytes_total{topic=\"orders\"}", bytesIn0);
        String produce = "listener=\"client\",rpc=\"basalt.v1.ProduceService/Produce\"";
        assertValue("basalt_requests_total{" + produce + "}", produceCalls);
        assertValue("basalt_request_messages_total{" + produce + "}", produceCalls);
        assertValue("basalt_request_errors_total{code=\"UNKNOWN_TOPIC\"," + produce + "}", 1);
        assertValue("basalt_request_duration_seconds_count{" + produce + "}", produceCalls);
        assertValue("basalt_request_local_seconds_count{" + produce + "}", produceCalls);
        String quorum = "listener=\"controller\",rpc=\"basalt.v1.AdminService/DescribeQuorum\"";
        assertValue("basalt_requests_total{" + quorum + "}", 1);
        assertValue("basalt_request_duration_seconds_count{" + quorum + "}", 1);
        // orders (3) and __consumer_offsets (3), all led by this only broker, all fully replicated
        assertValue("basalt_cluster_partitions", 6);
        assertValue("basalt_cluster_topics", 2);
        assertValue("basalt_partitions", 6);
        assertValue("basalt_partitions_leader", 6);
        assertValue("basalt_partitions_under_replicated", 0);
        assertValue("basalt_partitions_under_min_isr", 0);
        assertValue("basalt_cluster_partitions_offline", 0);
        assertValue("basalt_cluster_partitions_leaderless", 0);
        assertValue("basalt_cluster_brokers{state=\"unfenced\"}", 1);
        assertValue("basalt_controller_active", 1);
        assertValue("basalt_group_lag_records{group=\"g\"}", 9);
        assertValue("basalt_group_max_lag_records{group=\"g\"}", 5);
        assertValue("basalt_groups{state=\"EMPTY\"}", 1);
        assertValue("basalt_group_members{group=\"g\"}", 0);
        assertValue("basalt_group_members{group=\"g2\"}", 1);
        // g2's member owns partitions of orders that g2 never committed: not lag, but counted
        awaitValue("basalt_group_partitions_without_commit{group=\"g2\"}", v -> v > 0);
        assertValue("basalt_group_partitions_without_commit{group=\"g\"}", 0);
        assertValue("basalt_group_partitions_lag_unknown{group=\"g\"}", 0);
        // g2's join bumped its epoch; g, created by an offset commit without members, stays at epoch 0
        awaitValue("basalt_group_rebalances_total", v -> v >= 1);
        awaitValue("basalt_log_flush_seconds_count", v -> v >= 1); // acks=all on durable-acks topics waits for an fsync
        // ... which the log engine reports too: the flusher asks for it with flush()
        awaitValue("basalt_log_fsync_seconds_count{trigger=\"requested\"}", v -> v >= 1);
        awaitValue("basalt_topic_log_size_bytes{topic=\"orders\"}", v -> v >= bytesIn0 + bytesIn1);
        awaitValue("basalt_topic_log_segments{topic=\"orders\"}", v -> v >= 3);
        awaitValue("basalt_raft_term", v -> v >= 1);
        awaitValue("basalt_raft_commit_index", v -> v >= 1);
        awaitValue("basalt_metadata_applied_index", v -> v >= 1);
        awaitValue("basalt_purgatory_operations{purgatory=\"fetch\"}", v -> v >= 0);
        awaitValue("basalt_log_recovery_seconds", v -> v >= 0);
        // a new data directory: no shutdown to recover from (found probing: it read 0, as after a crash)
        awaitValue("basalt_log_clean_shutdown", v -> v == 1);
        Map<String, Double> all = samples(scrape(null));
        assertTrue(all.keySet().stream().anyMatch(s -> s.startsWith("jvm_memory_used_bytes{")), "JVM metrics");
        assertTrue(all.containsKey("process_cpu_seconds_total"), "process metrics");
    }

    @Test
    @Order(2)
    void bothFormats_parseWithThePrometheusClientParser() throws Exception {
        String text = scrape(null);
        String open = scrape("application/openmetrics-text; version=1.0.0; charset=utf-8");
        // kept for people reading the build's output: what a scrape of this node looks like
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "metrics-scrape.txt"), text);
        Files.writeString(Path.of("target", "metrics-scrape.openmetrics.txt"), open);
        assertTrue(open.endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
        Path python = Path.of("/usr/bin/python3");
        boolean available = Files.isExecutable(python) && new ProcessBuilder(python.toString(), "-c", "import prometheus_client")
                .redirectErrorStream(true).start().waitFor() == 0;
        Assumptions.assumeTrue(available, "Prometheus' Python client is missing: install Debian's python3-prometheus-client"
                + " (.ci/run does) to check the exposition with the client's own parser");
        // Each exposition against its own TYPE lines: the two scrapes are moments apart, and a
        // family may appear in between (one registered at its first event; CI saw 88 then 89).
        int families = (int) text.lines().filter(l -> l.startsWith("# TYPE ")).count();
        int openFamilies = (int) open.lines().filter(l -> l.startsWith("# TYPE ")).count();
        assertEquals(families, parse(python, text, "text"), "families parsed from the Prometheus text format");
        assertEquals(openFamilies, parse(python, open, "openmetrics"), "families parsed from OpenMetrics");
    }

    /** Runs the Python client's parser on {@code exposition}; returns the number of families. */
    private int parse(Path python, String exposition, String format) throws Exception {
        Path in = Files.createTempFile(dir, "scrape", ".txt");
        Files.writeString(in, exposition);
        String script = "import sys\n"
                + "from prometheus_client.parser import text_string_to_metric_families as text\n"
                + "from prometheus_client.openmetrics.parser import text_string_to_metric_families as om\n"
                + "data = open(sys.argv[1]).read()\n"
                + "fams = list((om if sys.argv[2] == 'openmetrics' else text)(data))\n"
                + "assert all(len(f.samples) > 0 or f.type in ('counter','gauge','histogram') for f in fams)\n"
                + "print(len(fams))\n";
        Process p = new ProcessBuilder(python.toString(), "-c", script, in.toString(), format).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            fail("the " + format + " exposition does not parse:\n" + out);
        }
        return Integer.parseInt(out.trim().lines().reduce((a, b) -> b).orElseThrow());
    }

    /** Every family and label this node exports, with the unit or _total rule; the list is the reference. */
    static final Set<String> EXPECTED_FAMILIES = new TreeSet<>(List.of(
            "basalt_topic_in_bytes_total", "basalt_topic_in_records_total", "basalt_topic_out_bytes_total",
            "basalt_topic_out_records_total", "basalt_topic_log_size_bytes", "basalt_topic_log_segments",
            "basalt_topic_follower_lag_records", "basalt_topic_replica_fetch_lag_records", "basalt_log_flush_seconds", "basalt_log_fsync_seconds", "basalt_log_recovery_seconds",
            "basalt_log_clean_shutdown", "basalt_log_compaction_passes_total", "basalt_log_compaction_segments_merged_total",
            "basalt_log_compaction_segments_rewritten_total", "basalt_log_corrupt_found_total", "basalt_log_dir_usable_bytes", "basalt_log_dir_free_min_bytes",
            "basalt_log_dir_full", "basalt_requests_total", "basalt_request_messages_total", "basalt_request_errors_total",
            "basalt_request_queue_seconds", "basalt_request_local_seconds", "basalt_request_remote_wait_seconds",
            "basalt_request_send_seconds", "basalt_request_duration_seconds", "basalt_purgatory_operations",
            "basalt_partitions", "basalt_partitions_leader", "basalt_partitions_under_replicated",
            "basalt_partitions_under_min_isr", "basalt_partitions_offline_replicas",
            "basalt_partitions_refusing_appends_replicas", "basalt_producer_states",
            "basalt_cluster_brokers", "basalt_cluster_topics", "basalt_cluster_partitions", "basalt_cluster_partitions_leaderless",
            "basalt_cluster_partitions_offline", "basalt_cluster_partitions_under_replicated", "basalt_isr_shrinks_total",
            "basalt_isr_expands_total", "basalt_leader_elections_total", "basalt_unclean_leader_elections_total",
            "basalt_controller_active", "basalt_raft_term", "basalt_raft_leader_id", "basalt_raft_commit_index",
            "basalt_raft_voter_lag_entries", "basalt_raft_leader_changes_total", "basalt_raft_election_seconds",
            "basalt_metadata_applied_index", "basalt_metadata_apply_lag_entries", "basalt_groups", "basalt_group_members",
            "basalt_group_lag_records", "basalt_group_partitions_without_commit", "basalt_group_partitions_lag_unknown", "basalt_group_max_lag_records", "basalt_group_max_lag_seconds", "basalt_group_status",
            "basalt_group_rebalances_total"));
    static final Set<String> ALLOWED_LABELS = Set.of("topic", "partition", "listener", "rpc", "code", "trigger", "state", "group", "status", "voter",
            "purgatory", "found_by", "le");
    private static final Pattern TYPE = Pattern.compile("# TYPE (\\S+) (\\S+)");
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? \\S+");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"(?:[^\"\\\\]|\\\\.)*\"");

    @Test
    @Order(3)
    void namesAndLabels_followTheConventions() throws Exception {
        String text = scrape(null);
        Map<String, String> types = new TreeMap<>();
        Matcher tm = TYPE.matcher(text);
        while (tm.find()) {
            types.put(tm.group(1), tm.group(2));
        }
        List<String> problems = new ArrayList<>();
        Set<String> basalt = new TreeSet<>();
        for (Map.Entry<String, String> e : types.entrySet()) {
            String name = e.getKey();
            String type = e.getValue();
            if (!name.matches("[a-z][a-z0-9_]*")) {
                problems.add(name + ": not snake_case");
            }
            if (name.startsWith("jvm_") || name.startsWith("process_")) {
                continue; // the client library's instrumentation, named by Prometheus' own conventions
            }
            if (!name.startsWith("basalt_")) {
                problems.add(name + ": no basalt_ prefix");
            }
            if (type.equals("counter") && !name.endsWith("_total")) {
                problems.add(name + ": a counter's samples end in _total");
            }
            basalt.add(name);
            if (type.equals("histogram") && !name.endsWith("_seconds")) {
                problems.add(name + ": histograms here measure time and end in _seconds");
            }
            if (!type.equals("counter") && name.endsWith("_total")) {
                problems.add(name + ": _total is for counters");
            }
            if (name.matches(".*_(ms|millis|milliseconds|kb|mb|percent)(_.*)?")) {
                problems.add(name + ": not a base unit");
            }
        }
        for (String line : text.split("\n")) {
            if (line.startsWith("#") || line.isEmpty()) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                problems.add("unparsable line: " + line);
                continue;
            }
            if (!m.group(1).startsWith("basalt_") || m.group(3) == null) {
                continue;
            }
            Matcher lm = LABEL.matcher(m.group(3));
            while (lm.find()) {
                if (!ALLOWED_LABELS.contains(lm.group(1))) {
                    problems.add(m.group(1) + ": label " + lm.group(1) + " is not one of " + ALLOWED_LABELS);
                }
            }
            if (line.contains("partition=\"")) {
                problems.add(m.group(1) + ": per-partition label without " + BrokerMetrics.PARTITION_LABELS_KEY);
            }
        }
        assertEquals(List.of(), problems);
        assertEquals(EXPECTED_FAMILIES, basalt, "basalt_ families exported (update docs/metrics.md with this list)");
    }

    /** The Grafana dashboard (config/grafana/basalt.json) queries only families the node exports. */
    @Test
    @Order(3)
    void grafanaDashboard_usesExportedFamilies() throws Exception {
        String dashboard = Files.readString(Path.of("..", "config", "grafana", "basalt.json"));
        com.google.gson.JsonParser.parseString(dashboard); // valid JSON
        Matcher m = Pattern.compile("basalt_[a-z_]+").matcher(dashboard);
        Set<String> used = new TreeSet<>();
        while (m.find()) {
            used.add(m.group().replaceAll("_(bucket|count|sum)$", ""));
        }
        used.remove("basalt_"); // none expected, guards the regex
        Set<String> unknown = new TreeSet<>(used);
        unknown.removeAll(EXPECTED_FAMILIES);
        unknown.remove("basalt_overview"); // the dashboard's uid
        assertEquals(Set.of(), unknown, "dashboard queries families the node does not export");
        assertTrue(used.size() >= 25, "the dashboard covers the families: " + used);
    }

    @Test
    @Order(4)
    void metricsNeedTheToken() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + admin + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, r.statusCode());
        assertNotNull(r.headers().firstValue("WWW-Authenticate").orElse(null));
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://" + admin + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode(), "probes stay open");
    }

    // ------------------------------------------------------------------ JSON API

    private HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + admin + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private com.google.gson.JsonObject json(String path, int status) throws Exception {
        HttpResponse<String> r = get(path, TOKEN);
        assertEquals(status, r.statusCode(), path + ": " + r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), path);
        return com.google.gson.JsonParser.parseString(r.body()).getAsJsonObject();
    }

    /** An error answer: JSON with the status and the code. */
    private void assertError(String path, int status, String code) throws Exception {
        com.google.gson.JsonObject e = json(path, status);
        assertEquals(code, e.get("code").getAsString(), path + ": " + e);
        assertEquals(status, e.get("status").getAsInt(), path + ": " + e);
        assertTrue(!e.get("error").getAsString().isEmpty(), path);
    }

    @Test
    @Order(5)
    void jsonApi_clusterBrokersQuorum() throws Exception {
        assertTrue(json("/v1/", 200).getAsJsonArray("endpoints").size() >= 10);
        var cluster = json("/v1/cluster", 200);
        assertEquals(1, cluster.get("controllerId").getAsInt());
        assertEquals("NONE", cluster.get("errorCode").getAsString(), "fields with default values are printed");
        assertEquals(1, cluster.getAsJsonArray("brokers").get(0).getAsJsonObject().getAsJsonObject("node").get("id").getAsInt());
        var brokers = json("/v1/brokers", 200).getAsJsonArray("brokers");
        assertEquals(1, brokers.size());
        assertEquals(false, brokers.get(0).getAsJsonObject().get("fenced").getAsBoolean());
        assertEquals(1, json("/v1/brokers/1", 200).getAsJsonObject("node").get("id").getAsInt());
        var brokerConfigs = json("/v1/brokers/1/configs", 200).getAsJsonArray("entries");
        assertTrue(brokerConfigs.size() > 0, "broker configs");
        brokerConfigs.forEach(e -> assertTrue(!e.getAsJsonObject().get("documentation").getAsString().isEmpty(), e.toString()));
        // Found probing a cluster: the token came back in clear over the unauthenticated gRPC port,
        // and a source was decided by comparing the value with the default.
        Map<String, com.google.gson.JsonObject> byName = new java.util.HashMap<>();
        brokerConfigs.forEach(e -> byName.put(e.getAsJsonObject().get("name").getAsString(), e.getAsJsonObject()));
        assertTrue(byName.get("http.auth.token").get("sensitive").getAsBoolean());
        assertTrue(!byName.get("http.auth.token").has("value") && !brokerConfigs.toString().contains(TOKEN), "no secret");
        assertEquals("STATIC_BROKER_CONFIG", byName.get("data.dir").get("source").getAsString());
        assertEquals("DEFAULT_CONFIG", byName.get("node.id").get("source").getAsString(), "not set, so the built-in default");
        assertEquals("0", byName.get("reassignment.throttle.bytes.per.second").get("value").getAsString());
        assertError("/v1/brokers/7", 404, "BROKER_NOT_AVAILABLE");
        assertError("/v1/brokers/seven", 400, "INVALID_REQUEST");
        assertError("/v1/brokers/99999999999999", 404, "BROKER_NOT_AVAILABLE");
        // Found probing: any broker id was answered with the asked node's own file keys.
        var other = AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).describeConfigs(
                dev.basalt.proto.v1.DescribeConfigsRequest.newBuilder().addResources(dev.basalt.proto.v1.DescribeConfigsRequest.Query
                        .newBuilder().setResource(dev.basalt.proto.v1.ConfigResource.newBuilder()
                                .setType(dev.basalt.proto.v1.ConfigResource.Type.BROKER).setName("2"))).build()).getResources(0);
        assertEquals(ErrorCode.INVALID_REQUEST, other.getErrorCode(), other.toString());
        assertEquals(0, other.getEntriesCount());
        for (String name : List.of("x", "-1")) { // was answered with this node's keys, labelled as asked
            var named = AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).describeConfigs(
                    dev.basalt.proto.v1.DescribeConfigsRequest.newBuilder().addResources(dev.basalt.proto.v1.DescribeConfigsRequest.Query
                            .newBuilder().setResource(dev.basalt.proto.v1.ConfigResource.newBuilder()
                                    .setType(dev.basalt.proto.v1.ConfigResource.Type.BROKER).setName(name))).build()).getResources(0);
            assertEquals(ErrorCode.INVALID_REQUEST, named.getErrorCode(), name);
        }
        var quorum = json("/v1/quorum", 200);
        assertEquals(1, quorum.get("leaderId").getAsInt());
        assertTrue(Long.parseLong(quorum.get("term").getAsString()) >= 1, "int64 as a string (protobuf JSON)");
        assertEquals(1, quorum.getAsJsonArray("voters").get(0).getAsJsonObject().get("replicaId").getAsInt());
    }

    @Test
    @Order(6)
    void jsonApi_topicsAndConfigs() throws Exception {
        var topics = json("/v1/topics", 200).getAsJsonArray("topics");
        assertEquals(1, topics.size(), "internal topics only on request: " + topics);
        assertEquals("orders", topics.get(0).getAsJsonObject().get("name").getAsString());
        assertEquals(3, topics.get(0).getAsJsonObject().get("partitionCount").getAsInt());
        assertEquals(2, json("/v1/topics?internal=true", 200).getAsJsonArray("topics").size());
        assertError("/v1/topics?internal=maybe", 400, "INVALID_REQUEST");
        var orders = json("/v1/topics/orders", 200);
        var partitions = orders.getAsJsonArray("partitions");
        assertEquals(3, partitions.size());
        for (var p : partitions) {
            assertEquals(1, p.getAsJsonObject().get("leaderId").getAsInt());
            assertEquals("[1]", p.getAsJsonObject().getAsJsonArray("isr").toString());
        }
        var local = orders.getAsJsonArray("localReplicas");
        assertEquals(3, local.size());
        var p0 = local.get(0).getAsJsonObject();
        assertEquals(0, p0.get("partition").getAsInt());
        assertEquals(8, p0.get("logEndOffset").getAsLong());
        assertEquals(8, p0.get("highWatermark").getAsLong());
        assertTrue(p0.get("sizeBytes").getAsLong() >= bytesIn0, p0.toString());
        assertEquals(true, p0.get("leader").getAsBoolean());
        var configs = json("/v1/topics/orders/configs", 200).getAsJsonArray("entries");
        assertTrue(configs.toString().contains("\"retention.ms\""), configs.toString());
        configs.forEach(e -> {
            if (e.getAsJsonObject().get("name").getAsString().equals("retention.ms")) {
                assertEquals("DEFAULT_CONFIG", e.getAsJsonObject().get("source").getAsString(), "nobody set it: " + e);
            }
            assertTrue(!e.getAsJsonObject().get("documentation").getAsString().isEmpty(), "every key says what it is: " + e);
        });
        assertError("/v1/topics/nope", 404, "UNKNOWN_TOPIC");
        assertError("/v1/topics/nope/configs", 404, "UNKNOWN_TOPIC");
        assertError("/v1/topics/orders/partitions/9/x", 404, "NOT_FOUND");
        assertError("/v1/nothing-here", 404, "NOT_FOUND");
        assertError("/v1/topics/%25zz", 404, "UNKNOWN_TOPIC"); // decoded once: the topic "%zz"
        // found probing: the server routes by prefix, so these answered as /metrics and /health
        assertError("/metrics/x", 404, "NOT_FOUND");
        assertError("/healthz", 404, "NOT_FOUND");
        assertError("/status/x", 404, "NOT_FOUND");
        // ... and "/v1" was the console's 404 while "/v1/" lists the endpoints
        assertEquals(json("/v1/", 200).toString(), json("/v1", 200).toString());
    }

    @Test
    @Order(7)
    void jsonApi_records() throws Exception {
        var page = json("/v1/topics/orders/partitions/0/records?offset=0&limit=5", 200);
        var records = page.getAsJsonArray("records");
        assertEquals(5, records.size());
        assertEquals("0", records.get(0).getAsJsonObject().get("offset").getAsString());
        assertEquals("value-0", new String(java.util.Base64.getDecoder().decode(records.get(0).getAsJsonObject().get("value")
                .getAsString()), StandardCharsets.UTF_8));
        assertEquals("5", page.get("nextOffset").getAsString());
        assertEquals("8", page.get("highWatermark").getAsString());
        assertEquals(8, json("/v1/topics/orders/partitions/0/records?offset=-2&limit=500", 200).getAsJsonArray("records").size());
        // the first batch has timestamps 1000..1004: the first record at or after 1003 is offset 3
        var byTime = json("/v1/topics/orders/partitions/0/records?timestamp=1003&limit=2", 200).getAsJsonArray("records");
        assertEquals("3", byTime.get(0).getAsJsonObject().get("offset").getAsString());
        assertError("/v1/topics/orders/partitions/0/records?limit=0", 400, "INVALID_REQUEST");
        assertError("/v1/topics/orders/partitions/0/records?limit=501", 400, "INVALID_REQUEST");
        assertError("/v1/topics/orders/partitions/x/records", 400, "INVALID_REQUEST");
        // found probing: a raw Java message, unknown parameters ignored, and timestamp silently winning over offset
        assertEquals("partition must be a whole number, not 'x'",
                json("/v1/topics/orders/partitions/x/records", 400).get("error").getAsString());
        assertEquals("unknown parameter 'bogus': records take offset, limit, timestamp",
                json("/v1/topics/orders/partitions/0/records?bogus=1", 400).get("error").getAsString());
        assertEquals("give offset or timestamp, not both",
                json("/v1/topics/orders/partitions/0/records?offset=1&timestamp=0", 400).get("error").getAsString());
        assertError("/v1/topics/orders/partitions/0/records?offset=-3", 400, "INVALID_REQUEST");
        assertError("/v1/topics/nope/partitions/0/records", 404, "UNKNOWN_TOPIC");
        assertError("/v1/topics/orders/partitions/9/records", 404, "INVALID_PARTITION");
        // past the log end: the caller's range, not a server bug (was 500)
        assertError("/v1/topics/orders/partitions/0/records?offset=999999999", 416, "OFFSET_OUT_OF_RANGE");
    }

    @Test
    @Order(8)
    void jsonApi_groupsAndLag() throws Exception {
        var groups = json("/v1/groups", 200).getAsJsonArray("groups");
        assertEquals(2, groups.size(), groups.toString());
        assertTrue(groups.toString().contains("\"group\":\"g\"") && groups.toString().contains("\"group\":\"g2\""), groups.toString());
        assertEquals(1, json("/v1/groups/g2", 200).getAsJsonArray("members").size());
        var lag = json("/v1/groups/g/lag", 200);
        assertEquals(9, lag.get("totallag").getAsLong());
        // g2's member owns partitions it never committed: "OK" there is no news, and the count says so
        assertEquals(0, json("/v1/groups/g/status", 200).get("assignedWithoutCommit").getAsLong());
        assertEquals(0, json("/v1/groups/g/status", 200).get("lagUnknown").getAsLong(), "every partition has a leader here");
        var g2 = json("/v1/groups/g2/status", 200);
        assertTrue(g2.get("assignedWithoutCommit").getAsLong() > 0, g2.toString());
        assertError("/v1/groups/nope", 404, "GROUP_ID_NOT_FOUND");
        // Found probing: a group id holding '/' (sent as %2F) was split into two path segments.
        String odd = "team/a+b c";
        var commit = GroupServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).offsetCommit(
                OffsetCommitRequest.newBuilder().setGroupId(odd).setMemberId("").setMemberEpoch(-1)
                        .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("orders").setPartition(0).setOffset(1)
                                .setLeaderEpoch(-1)).build());
        assertEquals(ErrorCode.NONE, commit.getErrorCode(), commit.toString());
        assertEquals(odd, json("/v1/groups/team%2Fa+b%20c", 200).get("group").getAsString());
        assertEquals(odd, json("/v1/groups/team%2Fa%2Bb%20c/lag", 200).get("group").getAsString());
        assertEquals(7, json("/v1/groups/team%2Fa+b%20c/lag", 200).get("totallag").getAsLong());
        assertError("/v1/groups/team/a+b%20c", 404, "NOT_FOUND");
    }

    @Test
    @Order(9)
    void jsonApi_methodsAndToken() throws Exception {
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://" + admin + "/v1/topics"))
                .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(405, post.statusCode());
        assertEquals("METHOD_NOT_ALLOWED", com.google.gson.JsonParser.parseString(post.body()).getAsJsonObject().get("code")
                .getAsString());
        for (String path : List.of("/metrics", "/status", "/", "/quorum/add-voter")) { // found probing: 405 with no body
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + admin + path)).header("Authorization", "Bearer " + TOKEN);
            HttpResponse<String> r = http.send(path.startsWith("/quorum") ? b.GET().build() : b.POST(HttpRequest.BodyPublishers.ofString(""))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, r.statusCode(), path);
            assertEquals("METHOD_NOT_ALLOWED", com.google.gson.JsonParser.parseString(r.body()).getAsJsonObject().get("code")
                    .getAsString(), path + ": " + r.body());
            assertTrue(r.headers().firstValue("Allow").isPresent(), path);
        }
        // found probing: the server routes by prefix, so a POST to /v1xyz answered 405 as if it were under /v1
        HttpResponse<String> outside = http.send(HttpRequest.newBuilder(URI.create("http://" + admin + "/v1xyz"))
                .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(404, outside.statusCode(), outside.body());
        assertEquals("NOT_FOUND", com.google.gson.JsonParser.parseString(outside.body()).getAsJsonObject().get("code").getAsString());
        for (String path : List.of("/v1/cluster", "/v1/topics/orders", "/v1/groups", "/status", "/metrics")) {
            for (String token : java.util.Arrays.asList(null, "wrong", TOKEN + "x")) {
                HttpResponse<String> r = get(path, token);
                assertEquals(401, r.statusCode(), path + " with token " + token);
                assertEquals("UNAUTHORIZED", com.google.gson.JsonParser.parseString(r.body()).getAsJsonObject().get("code")
                        .getAsString());
                assertEquals("Bearer realm=\"basalt\"", r.headers().firstValue("WWW-Authenticate").orElse(""));
            }
        }
        assertEquals(200, get("/health", null).statusCode());
        assertEquals(200, get("/ready", null).statusCode());
        assertEquals(200, get("/status", TOKEN).statusCode());
    }

    /**
     * Found probing: the Java client produces and fetches over ProduceStream and FetchStream, and
     * streams had no latency histograms, so the dashboard's produce latency panels stayed empty.
     */
    @Test
    @Order(10)
    void clientStreams_areTimedPerRequest() throws Exception {
        String produce = "listener=\"client\",rpc=\"basalt.v1.ProduceService/ProduceStream\"";
        String fetch = "listener=\"client\",rpc=\"basalt.v1.FetchService/FetchStream\"";
        double producedBefore = samples(scrape(null)).getOrDefault("basalt_request_duration_seconds_count{" + produce + "}", 0.0);
        java.util.concurrent.LinkedBlockingQueue<ProduceResponse> answers = new java.util.concurrent.LinkedBlockingQueue<>();
        var requests = ProduceServiceGrpc.newStub(channel).produceStream(new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(ProduceResponse r) {
                answers.add(r);
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        });
        for (int i = 1; i <= 6; i++) { // acks=1 answers inside the handler, acks=-1 after the HW moves
            ByteBuffer buf = ByteBuffer.allocate(1024);
            RecordBatchBuilder b = new RecordBatchBuilder(buf, 1_000L);
            b.tryAppend(1_000L, null, ("s" + i).getBytes(StandardCharsets.UTF_8), List.of());
            requests.onNext(ProduceRequest.newBuilder().setCorrelationId(i).setAcks(i % 2 == 0 ? -1 : 1).setTimeoutMs(5_000)
                    .addTopics(ProduceRequest.TopicData.newBuilder().setName("orders").addPartitions(
                            ProduceRequest.PartitionData.newBuilder().setPartition(2)
                                    .setRecords(ByteString.copyFrom(b.build().buffer())))).build());
        }
        for (int i = 0; i < 6; i++) {
            ProduceResponse r = answers.poll(10, TimeUnit.SECONDS);
            assertNotNull(r, "answer " + i);
            assertEquals(ErrorCode.NONE, r.getTopics(0).getPartitions(0).getErrorCode(), r.toString());
        }
        requests.onCompleted();
        awaitValue("basalt_request_duration_seconds_count{" + produce + "}", v -> v == producedBefore + 6);
        assertValue("basalt_request_remote_wait_seconds_count{" + produce + "}", producedBefore + 6);
        // FetchStream: one fetch, answered (its last part) with the six records
        java.util.concurrent.CompletableFuture<FetchResponse> last = new java.util.concurrent.CompletableFuture<>();
        var fetches = FetchServiceGrpc.newStub(channel).fetchStream(new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(FetchResponse r) {
                if (r.getLastPart()) {
                    last.complete(r);
                }
            }

            @Override
            public void onError(Throwable t) {
                last.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
            }
        });
        fetches.onNext(FetchRequest.newBuilder().setCorrelationId(42).setMaxWaitMs(0).addTopics(FetchRequest.TopicData.newBuilder()
                .setName("orders").addPartitions(FetchRequest.PartitionData.newBuilder().setPartition(2).setFetchOffset(0))).build());
        assertEquals(42, last.get(10, TimeUnit.SECONDS).getCorrelationId());
        long logEnd = last.get().getTopics(0).getPartitions(0).getHighWatermark();
        awaitValue("basalt_request_duration_seconds_count{" + fetch + "}", v -> v == 1);
        assertValue("basalt_request_queue_seconds_count{" + fetch + "}", 1);
        fetches.onCompleted();
        awaitValue("basalt_requests_total{" + fetch + "}", v -> v == 1);
        // A client that ends its stream while a long poll is parked (a consumer closing, or
        // moving off a stalled broker) is no error: no GRPC_CANCELLED for the stream
        var parked = (io.grpc.stub.ClientCallStreamObserver<FetchRequest>) FetchServiceGrpc.newStub(channel).fetchStream(
                new io.grpc.stub.StreamObserver<FetchResponse>() {
                    @Override
                    public void onNext(FetchResponse r) {
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        parked.onNext(FetchRequest.newBuilder().setCorrelationId(43).setMaxWaitMs(30_000).setMinBytes(1).addTopics(
                FetchRequest.TopicData.newBuilder().setName("orders").addPartitions(FetchRequest.PartitionData.newBuilder()
                        .setPartition(2).setFetchOffset(logEnd))).build());
        awaitValue("basalt_purgatory_operations{purgatory=\"fetch\"}", v -> v >= 1);
        parked.cancel("consumer closed", null);
        awaitValue("basalt_requests_total{" + fetch + "}", v -> v == 2);
        assertEquals(null, samples(scrape(null)).get("basalt_request_errors_total{code=\"GRPC_CANCELLED\"," + fetch + "}"));
    }
}

package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.broker.BasaltNode;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FindCoordinatorRequest;
import dev.basalt.proto.v1.FindCoordinatorResponse;
import dev.basalt.proto.v1.GroupServiceGrpc;
import dev.basalt.proto.v1.OffsetCommitRequest;
import dev.basalt.proto.v1.ProduceRecordsRequest;
import dev.basalt.proto.v1.ProduceRecordsResponse;
import dev.basalt.proto.v1.ProducedRecord;
import dev.basalt.proto.v1.RecordServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Goal: the web console works in a real browser against a live 3-node cluster: the overview
 * shows the three brokers and the quorum, the topics page lists the topic, its page shows every
 * partition with leader and ISR, the group page shows the group's lag per partition with a live
 * lag chart that has points, and the message browser reads the records produced.
 *
 * <p>Method: three combined nodes in this JVM on free loopback ports (one quorum); a topic of 3
 * partitions replicated 3 times, 6 records through the RecordService, offsets committed for a
 * group; Debian's headless Chromium driven by Selenium through Debian's chromedriver opens each
 * page of the group coordinator's console. Then a broker that is neither the controller nor the
 * coordinator stops, and the metrics and the overview show the degraded cluster (under-replicated
 * partitions, ISR shrinks, leader elections, a broker down). Screenshots are saved in
 * {@code broker/target/console-screenshots/}.
 *
 * <p>Needs {@code /usr/bin/chromium} and {@code /usr/bin/chromedriver} (Debian's
 * {@code chromium} and {@code chromium-driver}; .ci/run installs them). Where they are missing
 * the test is skipped with a message naming what is missing, or fails when
 * {@code BASALT_REQUIRE_BROWSER=1} (CI).
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=ConsoleBrowserTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ConsoleBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private final List<BasaltNode> nodes = new ArrayList<>();
    private final List<Path> dirs = new ArrayList<>();
    private ManagedChannel channel;
    private ManagedChannel coordinatorChannel;
    private WebDriver driver;

    @AfterEach
    void stop() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        for (ManagedChannel c : new ManagedChannel[] {channel, coordinatorChannel}) {
            if (c != null) {
                c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
        for (BasaltNode n : nodes) {
            n.close();
        }
        for (Path d : dirs) {
            try (var walk = Files.walk(d)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static int freePort() {
        return dev.basalt.broker.testkit.TestPorts.freePort(); // below the ephemeral range
    }

    static void requireBrowser() {
        List<String> missing = new ArrayList<>();
        if (!Files.isExecutable(CHROMIUM)) {
            missing.add(CHROMIUM + " (Debian package chromium)");
        }
        if (!Files.isExecutable(CHROMEDRIVER)) {
            missing.add(CHROMEDRIVER + " (Debian package chromium-driver)");
        }
        if (missing.isEmpty()) {
            return;
        }
        String message = "the console browser test needs " + String.join(" and ", missing)
                + "; install with: apt-get install chromium chromium-driver (.ci/run does)";
        if ("1".equals(System.getenv("BASALT_REQUIRE_BROWSER"))) {
            throw new AssertionError(message);
        }
        System.err.println("ConsoleBrowserTest SKIPPED: " + message);
        Assumptions.abort(message);
    }

    @Test
    void consolePages_inHeadlessChromium_againstThreeNodes() throws Exception {
        requireBrowser();
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
            Path dir = Files.createTempDirectory("console-node-" + (i + 1));
            dirs.add(dir);
            Map<String, String> c = new TreeMap<>(Map.of("node.id", Integer.toString(i + 1), "data.dir", dir.toString(),
                    "listeners", "PLAINTEXT://127.0.0.1:" + client[i] + ",CONTROLLER://127.0.0.1:" + controller[i],
                    "controller.quorum.voters", voters.toString(), "http.admin.listener", "127.0.0.1:" + admin[i],
                    "offsets.topic.num.partitions", "3", "offsets.topic.replication.factor", "3",
                    "metrics.jvm.enable", Boolean.toString(i == 0)));
            nodes.add(new BasaltNode(NodeConfig.of(c), true));
        }
        for (BasaltNode n : nodes) {
            n.start();
        }
        channel = NettyChannelBuilder.forAddress("127.0.0.1", client[0]).usePlaintext().build();
        AdminPortNodeTest.await(() -> AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(5_000).addTopics(CreateTopicsRequest.NewTopic.newBuilder()
                                .setName("web").setPartitions(3).setReplicationFactor(3)).build()),
                r -> r.getTopics(0).getErrorCode() == ErrorCode.NONE || r.getTopics(0).getErrorCode() == ErrorCode.TOPIC_ALREADY_EXISTS,
                "topic web");
        for (int p = 0; p < 3; p++) {
            int partition = p;
            ProduceRecordsRequest.Builder req = ProduceRecordsRequest.newBuilder().setTopic("web").setPartition(partition);
            for (int i = 0; i < 2; i++) {
                req.addRecords(ProducedRecord.newBuilder().setKey(ByteString.copyFromUtf8("key-" + partition))
                        .setValue(ByteString.copyFromUtf8("hello-" + partition + "-" + i)));
            }
            AdminPortNodeTest.await(() -> RecordServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .produceRecords(req.build()), (ProduceRecordsResponse r) -> r.getErrorCode() == ErrorCode.NONE
                    && r.getPartitionsList().stream().allMatch(x -> x.getErrorCode() == ErrorCode.NONE), "produce to web-" + partition);
        }
        GroupServiceGrpc.GroupServiceBlockingStub groups = GroupServiceGrpc.newBlockingStub(channel);
        FindCoordinatorResponse fc = AdminPortNodeTest.await(() -> groups.withDeadlineAfter(10, TimeUnit.SECONDS)
                .findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId("web-group").build()),
                r -> r.getErrorCode() == ErrorCode.NONE, "coordinator");
        // commits go to the coordinator
        coordinatorChannel = NettyChannelBuilder.forAddress("127.0.0.1", client[fc.getNodeId() - 1]).usePlaintext().build();
        GroupServiceGrpc.GroupServiceBlockingStub coordinator = GroupServiceGrpc.newBlockingStub(coordinatorChannel);
        AdminPortNodeTest.await(() -> coordinator.withDeadlineAfter(10, TimeUnit.SECONDS).offsetCommit(OffsetCommitRequest.newBuilder()
                        .setGroupId("web-group").setMemberId("").setMemberEpoch(-1)
                        .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("web").setPartition(0).setOffset(1).setLeaderEpoch(-1))
                        .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("web").setPartition(1).setOffset(0).setLeaderEpoch(-1))
                        .build()),
                r -> r.getErrorCode() == ErrorCode.NONE && r.getPartitionsList().stream().allMatch(x -> x.getErrorCode() == ErrorCode.NONE),
                "offset commit");
        String base = "http://127.0.0.1:" + admin[fc.getNodeId() - 1];

        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100",
                "--disable-gpu", "--no-first-run");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        // generous: the pages poll every 2 s, and followers learn the high watermark a fetch later; a
        // loaded 2-core host (several builds at once) took over 30 s once
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(90));
        Path shots = Path.of("target", "console-screenshots");
        Files.createDirectories(shots);

        driver.get(base + "/#/overview");
        wait.until(d -> text(d, "#card-brokers-up .value").equals("3"));
        wait.until(d -> d.findElements(By.cssSelector("#quorum-table tr")).size() == 4);
        wait.until(d -> chartPoints(d, "throughput") >= 1);
        // With its first points (one, or two 2 s apart) the time axis spans a minute ending at the
        // newest point, not the instant of a single point (uPlot's own range).
        List<?> xScale = (List<?>) ((JavascriptExecutor) driver).executeScript("const c = window.basaltConsole.charts.throughput;"
                + " return [c.plot.scales.x.min, c.plot.scales.x.max, c.data[0][0], c.data[0][c.data[0].length - 1],"
                + " c.data[0].length];");
        double xMin = ((Number) xScale.get(0)).doubleValue();
        double xMax = ((Number) xScale.get(1)).doubleValue();
        double oldest = ((Number) xScale.get(2)).doubleValue();
        double newest = ((Number) xScale.get(3)).doubleValue();
        long points = ((Number) xScale.get(4)).longValue();
        String axis = "x axis [" + xMin + ", " + xMax + "] with " + points + " point(s) from " + oldest + " to " + newest;
        assertEquals(newest, xMax, 1e-6, "the axis ends at the newest point: " + axis);
        assertEquals(Math.max(60, newest - oldest), xMax - xMin, 1e-6, "a minute, or every point: " + axis);
        assertEquals(4, driver.findElements(By.cssSelector("#brokers-table tr")).size(), "header and three brokers");
        save(shots, "overview");

        driver.get(base + "/#/topics");
        wait.until(d -> text(d, "#topics-table").contains("web"));
        save(shots, "topics");

        driver.get(base + "/#/topics/web");
        wait.until(d -> d.findElements(By.cssSelector("#partitions-table tr")).size() == 4);
        wait.until(d -> d.findElements(By.cssSelector("#configs-table tr")).size() > 1);
        String partitions = wait.until(d -> {
            String t = text(d, "#partitions-table");
            return t.isEmpty() ? null : t;
        });
        assertTrue(partitions.contains("1, 2, 3") || partitions.contains("2, 3, 1") || partitions.contains("3, 1, 2")
                || partitions.contains("1, 3, 2") || partitions.contains("2, 1, 3") || partitions.contains("3, 2, 1"), partitions);
        save(shots, "topic-web");

        // Every node answers for every group: a node that does not coordinate it forwards to the
        // one that does (and lists every broker's groups).
        HttpClient api = HttpClient.newHttpClient();
        for (int n = 1; n <= 3; n++) {
            String at = "http://127.0.0.1:" + admin[n - 1];
            String list = api.send(HttpRequest.newBuilder(URI.create(at + "/v1/groups")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(list.contains("\"web-group\""), "node " + n + " lists the group: " + list);
            HttpResponse<String> lag = api.send(HttpRequest.newBuilder(URI.create(at + "/v1/groups/web-group/lag")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, lag.statusCode(), "node " + n + ": " + lag.body());
            assertEquals(fc.getNodeId(), com.google.gson.JsonParser.parseString(api.send(HttpRequest.newBuilder(
                    URI.create(at + "/v1/groups/web-group")).build(), HttpResponse.BodyHandlers.ofString()).body())
                    .getAsJsonObject().get("coordinator").getAsInt(), "node " + n + " answers with the coordinator's view");
            HttpResponse<String> missing = api.send(HttpRequest.newBuilder(URI.create(at + "/v1/groups/no-such-group")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(404, missing.statusCode(), "node " + n + ": " + missing.body());
        }
        // The group pages through a node that is not the coordinator.
        String other = "http://127.0.0.1:" + admin[fc.getNodeId() % 3];
        driver.get(other + "/#/groups");
        wait.until(d -> text(d, "#groups-table").contains("web-group"));
        // every broker's groups, with the coordinator named (the heading said "this node" only)
        assertTrue(text(driver, "#groups-table").contains("coordinator"), text(driver, "#groups-table"));
        assertTrue(text(driver, "#groups-table").matches("(?s).*web-group\\s+\\S+\\s+\\d+\\s+" + fc.getNodeId() + "\\b.*"),
                text(driver, "#groups-table"));
        save(shots, "groups");

        driver.get(other + "/#/groups/web-group");
        // lag: web-0 has 2 records, committed 1 -> 1; web-1 2 records, committed 0 -> 2
        try {
            wait.until(d -> text(d, "#card-total-lag .value").equals("3"));
        } catch (org.openqa.selenium.TimeoutException e) {
            save(shots, "group-web-group-FAILED");
            throw e;
        }
        wait.until(d -> chartPoints(d, "lag") >= 2);
        assertTrue(((Number) ((JavascriptExecutor) driver).executeScript(
                "const d = window.basaltConsole.charts.lag.data; return d[1][d[1].length - 1];")).longValue() == 3,
                "the lag chart's last point is the total lag");
        assertEquals(3, driver.findElements(By.cssSelector("#lag-table tr")).size(), "header and the two committed partitions");
        save(shots, "group-web-group");

        driver.get(base + "/#/browse");
        driver.findElement(By.id("browse-topic")).sendKeys("web");
        driver.findElement(By.id("browse-read")).click();
        wait.until(d -> text(d, "#records-table").contains("hello-0-1"));
        wait.until(d -> text(d, "#records-table").contains("key-0"));
        new org.openqa.selenium.support.ui.Select(driver.findElement(By.id("browse-mode"))).selectByValue("hex");
        driver.findElement(By.id("browse-read")).click();
        // "hello" in hex
        wait.until(d -> text(d, "#records-table").contains("68 65 6c 6c 6f"));
        save(shots, "browse");

        degradedCluster(fc.getNodeId(), admin, base, wait, shots);
    }

    /**
     * Phase two: a broker that is neither the controller nor the group's coordinator stops. The
     * metrics show what an operator alerts on: under-replicated partitions, ISR shrinks at the
     * leaders, leader elections at the active controller for the partitions it led; the overview
     * shows the fenced broker and the under-replicated count.
     */
    private void degradedCluster(int coordinator, int[] admin, String base, WebDriverWait wait, Path shots) throws Exception {
        int controllerId = nodes.get(0).quorum().leaderId();
        int victim = 1;
        while (victim == coordinator || victim == controllerId) {
            victim++;
        }
        HttpClient http = HttpClient.newHttpClient();
        String topic = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/topics/web")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        int v = victim;
        long led = com.google.gson.JsonParser.parseString(topic).getAsJsonObject().getAsJsonArray("partitions").asList().stream()
                .filter(p -> p.getAsJsonObject().get("leaderId").getAsInt() == v).count();
        nodes.get(victim - 1).close();
        List<Integer> alive = new ArrayList<>(List.of(1, 2, 3));
        alive.remove(Integer.valueOf(victim));
        awaitMetrics(http, admin, List.of(coordinator), "basalt_cluster_partitions_under_replicated", n -> n >= 3);
        awaitMetrics(http, admin, alive, "basalt_isr_shrinks_total", n -> n >= 1);
        if (led > 0) {
            awaitMetrics(http, admin, List.of(controllerId), "basalt_leader_elections_total", n -> n >= led);
        }
        awaitMetrics(http, admin, alive, "basalt_unclean_leader_elections_total", n -> n == 0);
        driver.get(base + "/#/overview");
        wait.until(d -> text(d, "#card-under-replicated .value").matches("[1-9][0-9]*"));
        wait.until(d -> text(d, "#card-brokers-up .value").equals("2"));
        save(shots, "overview-degraded");
    }

    /** Waits (at most 30 s) until the sum of a family over these nodes' scrapes satisfies {@code ok}. */
    private static void awaitMetrics(HttpClient http, int[] admin, List<Integer> nodeIds, String family,
                                     java.util.function.DoublePredicate ok) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        double sum = Double.NaN;
        while (System.nanoTime() < deadline) {
            sum = 0;
            for (int id : nodeIds) {
                String text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin[id - 1] + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                sum += AdminPortNodeTest.samples(text).getOrDefault(family, 0.0);
            }
            if (ok.test(sum)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(family + " summed over nodes " + nodeIds + " is " + sum + " after 30 s");
    }

    /** The element's text, or "" while it is missing or being replaced (the pages re-render every poll). */
    private static String text(WebDriver d, String css) {
        try {
            var found = d.findElements(By.cssSelector(css));
            return found.isEmpty() ? "" : found.get(0).getText().trim();
        } catch (org.openqa.selenium.StaleElementReferenceException e) {
            return "";
        }
    }

    private static long chartPoints(WebDriver d, String chart) {
        Object n = ((JavascriptExecutor) d).executeScript("const c = window.basaltConsole && window.basaltConsole.charts['"
                + chart + "']; return c ? c.data[0].length : 0;");
        return ((Number) n).longValue();
    }

    private void save(Path dir, String page) throws Exception {
        File f = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Path out = dir.resolve(page + ".png");
        Files.copy(f.toPath(), out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        System.out.println("Screenshot of the " + page + " page: " + out.toAbsolutePath());
        assertTrue(Files.size(out) > 1_000, "screenshot " + out);
    }
}

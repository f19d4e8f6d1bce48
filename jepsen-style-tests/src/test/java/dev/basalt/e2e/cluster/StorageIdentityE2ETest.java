package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.storage.StorageDirectory;
import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.NodeProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Storage identity against real node processes: a node whose data directory was lost refuses to
 * come back as a new empty node; a voter whose metadata log was lost does not vote with an empty
 * log (Raft safety: it may have voted in terms it forgot) until a voter change re-adds it, and is
 * then a full voter again; nothing acknowledged is lost.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=StorageIdentityE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}. Timings are printed as "MEASURED ...".
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StorageIdentityE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "identity";

    static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    static boolean statusSays(NodeProcess n, String fragment) {
        return n.httpGet("/status").body().contains(fragment);
    }

    void awaitTrue(java.util.function.BooleanSupplier condition, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return;
            }
            sleepMs(200);
        }
        throw new AssertionError(what + " not within " + timeout + "\n" + cluster.diagnostics());
    }

    @Test
    void aLostVoterDoesNotVoteWithAnEmptyLogUntilAVoterChangeReAddsIt() throws IOException {
        start(builder(3));
        createTopic(TOPIC, 1, 3, Map.of("min.insync.replicas", "2"));
        AckedWrites w = writes(cluster.bootstrap(), TOPIC, 1, "v").start();
        assertTrue(w.awaitAcks(200, System.nanoTime() - Duration.ofMinutes(1).toNanos(), FAILOVER), w.summary());

        int controller = cluster.activeController(FAILOVER);
        int lost = otherThan(cluster.nodeIds(), controller).orElseThrow();
        NodeProcess node = cluster.node(lost);
        cluster.kill9(lost);
        deleteRecursively(node.dataDir().resolve(StorageDirectory.RAFT_DIR));

        // 1. It refuses to start as the same voter with an empty metadata log.
        node.launch();
        assertEquals(3, node.awaitExit(Duration.ofSeconds(60)), "start-up must be refused; log:\n" + node.tail(20));
        assertFalse(node.grepLog("must not vote with an empty log").isEmpty(), node.tail(20));

        // 2. The operator formats it to rejoin: a new directory id, partition data kept.
        NodeConfig config = NodeConfig.of(node.config());
        String oldId = Files.readString(node.dataDir().resolve("meta.properties"));
        StorageDirectory.format(config, config.get("cluster.id"), StorageDirectory.VoterMode.JOIN);
        assertFalse(Files.readString(node.dataDir().resolve("meta.properties")).equals(oldId));
        long rejoinAt = System.nanoTime();
        cluster.restart(lost, READY);
        System.out.println("MEASURED lost voter: rejoined (ready as broker, observer of the quorum) "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - rejoinAt) + " ms after its restart");
        awaitTrue(() -> statusSays(node, "\"voter\":false"), FAILOVER, "node " + lost + " reporting itself a non-voter");

        // 3. While it is not a voter, the other old voter cannot be elected with its vote.
        int third = otherThan(cluster.nodeIds(), controller, lost).orElseThrow();
        cluster.kill9(controller);
        awaitTrue(() -> statusSays(cluster.node(third), "\"controllerId\":-1"), FAILOVER,
                "node " + third + " noticing that the controller is gone");
        long quietUntil = System.nanoTime() + Duration.ofSeconds(8).toNanos();
        while (System.nanoTime() < quietUntil) {
            assertTrue(cluster.node(third).httpGet("/status").body().contains("\"controllerId\":-1"),
                    "a leader was elected with the vote of a voter that lost its log:\n" + cluster.diagnostics());
            // (the rejoining node itself never campaigns; it may still name the dead leader)
            assertTrue(node.httpGet("/status").body().contains("\"activeController\":false"), cluster.diagnostics());
            sleepMs(500);
        }
        cluster.restart(controller, READY);

        // 4. A voter change (remove, then add) re-admits it; then it votes again.
        int active = cluster.activeController(FAILOVER);
        long changeAt = System.nanoTime();
        NodeProcess.HttpAnswer removed = cluster.node(active).httpPost("/quorum/remove-voter?id=" + lost);
        assertEquals(200, removed.code(), removed.body());
        NodeProcess.HttpAnswer added = cluster.node(cluster.activeController(FAILOVER)).httpPost("/quorum/add-voter?id=" + lost);
        assertEquals(200, added.code(), added.body());
        awaitTrue(() -> statusSays(node, "\"voter\":true") && statusSays(node, "\"metadataLog\":\"created\""), FAILOVER,
                "node " + lost + " a voter again with its metadata log recorded");
        System.out.println("MEASURED lost voter: voter again " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - changeAt)
                + " ms after the voter change began");
        int leaderNow = cluster.activeController(FAILOVER);
        int other = otherThan(cluster.nodeIds(), leaderNow, lost).orElseThrow();
        long killedAt = System.nanoTime();
        cluster.kill9(leaderNow == lost ? other : leaderNow);
        int elected = cluster.activeController(FAILOVER);
        System.out.println("MEASURED lost voter: after the re-add, a controller was elected with its vote "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt) + " ms after the leader's kill -9 (new controller " + elected + ")");

        w.stop(Duration.ofSeconds(40));
        for (int id : cluster.nodeIds()) {
            if (!cluster.node(id).isAlive()) {
                cluster.restart(id, READY);
            }
        }
        assertNothingLost(TOPIC, 1, w.acks());
    }

    @Test
    void aNodeWhoseDataDirectoryWasDeletedRefusesToComeBackEmpty_andRejoinsOnceFormatted() throws IOException {
        start(builder(3));
        createTopic(TOPIC, 1, 3, Map.of("min.insync.replicas", "2"));
        AckedWrites w = writes(cluster.bootstrap(), TOPIC, 1, "d").start();
        assertTrue(w.awaitAcks(200, System.nanoTime() - Duration.ofMinutes(1).toNanos(), FAILOVER), w.summary());
        int controller = cluster.activeController(FAILOVER);
        int victim = otherThan(cluster.nodeIds(), controller).orElseThrow();
        NodeProcess node = cluster.node(victim);
        cluster.kill9(victim);
        deleteRecursively(node.dataDir());

        node.launch();
        assertEquals(3, node.awaitExit(Duration.ofSeconds(60)), "start-up must be refused; log:\n" + node.tail(20));
        List<String> said = node.grepLog("does not exist");
        assertFalse(said.isEmpty(), node.tail(20));
        assertTrue(said.get(said.size() - 1).contains(node.dataDir().getFileName().toString()), "names the directory: " + said);

        NodeConfig config = NodeConfig.of(node.config());
        StorageDirectory.format(config, config.get("cluster.id"), StorageDirectory.VoterMode.JOIN);
        long restartAt = System.nanoTime();
        cluster.restart(victim, READY);
        cluster.awaitPartition(TOPIC, 0, s -> s.isr().contains(victim), "the reformatted broker back in the ISR", CATCH_UP);
        System.out.println("MEASURED deleted directory: reformatted broker back in the ISR "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartAt) + " ms after its restart");
        w.stop(Duration.ofSeconds(40));
        assertNothingLost(TOPIC, 1, w.acks());
        assertReplicasIdentical(TOPIC, 0);
    }
}

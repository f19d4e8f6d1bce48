package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.storage.StorageDirectory;
import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.NodeProcess;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.Timeout;

/**
 * Storage faults stay local and visible, against real node processes (one controller, three
 * brokers): the data directory of a partition leader is deleted under acks=all load. The broker
 * notices (directory identity check), takes its replicas offline, reports them in its heartbeat,
 * the controller moves their leadership, producers fail over, /ready and /status say why, nothing
 * acknowledged is lost cluster-wide, and the broker refuses to restart empty until reformatted.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=StorageFaultE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}. Timings are printed as "MEASURED ...".
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StorageFaultE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "orders";
    private static final int PARTITIONS = 3;

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void deletingALeadersDataDirectoryUnderLoad_movesItsLeadershipsAndLosesNothingAcknowledged() throws IOException {
        start(builder(4).controllers(1));
        createTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"));
        AckedWrites w = writes(cluster.bootstrap(), TOPIC, PARTITIONS, "d").start();
        long t0 = System.nanoTime();
        assertTrue(w.awaitAcks(300, t0, FAILOVER), "no acks before the fault: " + w.summary());

        int victim = cluster.partition(TOPIC, 0).leader();
        NodeProcess node = cluster.node(victim);
        long deletedAt = System.nanoTime();
        StorageIdentityE2ETest.deleteRecursively(node.dataDir());

        // The broker notices and says why; the controller moves every leadership it had.
        for (int p = 0; p < PARTITIONS; p++) {
            cluster.awaitPartition(TOPIC, p, s -> s.hasLeader() && s.leader() != victim && !s.isr().contains(victim),
                    "leadership and ISR away from broker " + victim, FAILOVER);
        }
        long movedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - deletedAt);
        assertTrue(node.isAlive(), "the broker stays up to report the fault:\n" + node.tail(30));
        NodeProcess.HttpAnswer ready = node.httpGet("/ready");
        assertEquals(503, ready.code(), ready.body());
        assertTrue(ready.body().contains("replicas offline") && ready.body().contains("deleted"), ready.body());
        assertTrue(node.httpGet("/status").body().contains("\"offlineReplicas\":{\"" + TOPIC), node.httpGet("/status").body());
        assertFalse(node.grepLog("is offline").isEmpty(), "the log names the offline replicas");
        // The whole cluster sees them (`basalt cluster` through any broker): which broker, which replicas, why.
        awaitOfflineReplicasShown(victim, PARTITIONS, "deleted");
        assertTrue(w.awaitAcks(300, System.nanoTime(), FAILOVER), "produce did not resume after the fault: " + w.summary());
        long resumedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - deletedAt);
        System.out.println("MEASURED deleted data directory: leaderships and ISR moved off broker " + victim + " in " + movedMs
                + " ms; 300 more acks=all writes acknowledged " + resumedMs + " ms after the deletion");
        w.stop(Duration.ofSeconds(40));
        List<AckedWrites.Ack> acks = w.acks();
        int stackTraces = node.grepLog("\tat ").size();
        System.out.println("MEASURED deleted data directory: " + acks.size() + " acknowledged, " + w.failures().size()
                + " failed (retried by the client) writes; stack-trace lines in the broker log: " + stackTraces);
        java.util.Map<String, Long> noisy = new java.util.TreeMap<>();
        for (String line : node.grepLog("")) {
            int at = Math.max(line.indexOf(" ERROR "), line.indexOf(" WARN "));
            if (at > 0) {
                String key = line.substring(at, Math.min(line.length(), at + 110)).replaceAll("[0-9]+", "N");
                noisy.merge(key, 1L, Long::sum);
            }
        }
        noisy.entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(8)
                .forEach(e -> System.out.println("MEASURED log lines x" + e.getValue() + ": " + e.getKey()));
        assertNothingLost(TOPIC, PARTITIONS, acks);

        // A restart does not bring it back empty: refused until the operator formats the directory.
        node.kill();
        node.launch();
        assertEquals(3, node.awaitExit(Duration.ofSeconds(60)), "start-up must be refused; log:\n" + node.tail(20));
        NodeConfig config = NodeConfig.of(node.config());
        StorageDirectory.format(config, config.get("cluster.id"), null);
        long restartAt = System.nanoTime();
        cluster.restart(victim, READY);
        for (int p = 0; p < PARTITIONS; p++) {
            long hw = assertReplicasIdentical(TOPIC, p);
            assertTrue(hw > maxAckedOffset(acks, p), TOPIC + "-" + p + ": HW " + hw);
        }
        System.out.println("MEASURED deleted data directory: reformatted broker " + victim + " refetched every replica in "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartAt) + " ms");
        assertNotEquals(-1, cluster.partition(TOPIC, 0).leader());
        assertNothingLost(TOPIC, PARTITIONS, acks);
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aCorruptSegmentOnOneBroker_isServedByTheOthers_andTheReplicaIsRebuilt() throws IOException {
        // no scrubbing: the damage to the leader below must be found by a consumer's read
        KilledFollower k = writingFollowerKilled(Map.of("min.insync.replicas", "2"), "c", "0");
        AckedWrites w = k.writes();
        int leader = k.leader();
        int victim = k.victim();
        NodeProcess node = cluster.node(victim);
        // flip one byte inside an early batch of the newest segment: flushed data (below the recovery point)
        java.nio.file.Path segment = segments(node).get(segments(node).size() - 1);
        long flippedAt = flipInsideSecondBatch(segment);
        long restartAt = System.nanoTime();
        node.launch();
        node.awaitReady(READY.plus(READY)); // ready once the offline replica's leadership is elsewhere and it is rebuilt
        cluster.awaitPartition(TOPIC, 0, s -> s.isr().contains(victim), "the rebuilt replica back in the ISR", CATCH_UP);
        System.out.println("MEASURED corrupt segment: replica on broker " + victim + " rebuilt and back in the ISR "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartAt) + " ms after its restart (byte " + flippedAt
                + " of " + segment.getFileName() + ")");
        assertFalse(node.grepLog("is offline: corrupt log data").isEmpty(), "the corruption is reported:\n" + node.tail(30));
        assertFalse(node.grepLog("cut at its first corrupt batch").isEmpty(), node.tail(30));
        // Counted where operators look (found probing: damage found at start showed as 0 everywhere).
        String status = node.httpGet("/status").body();
        assertTrue(status.contains("\"corruptPartitionsFoundAtStart\":1"), status);
        String metrics = node.httpGet("/metrics").body();
        assertTrue(metrics.contains("basalt_log_corrupt_found_total{found_by=\"start\"} 1.0"), metrics);
        assertEquals(leader, cluster.partition(TOPIC, 0).leader(), "the healthy leader kept serving");
        w.stop(Duration.ofSeconds(40));
        List<AckedWrites.Ack> acks = w.acks();
        assertNothingLost(TOPIC, 1, acks);
        long hw = assertReplicasIdentical(TOPIC, 0);
        assertTrue(hw > maxAckedOffset(acks, 0));

        // Bytes flipped in the leader's segment after it served them (a read verifies a batch only
        // the first time this process reads it). Found probing: consumers failed with a CRC error at
        // that batch until the scrubber came by, while two followers held good copies. The
        // consumer asks the leader to check its copy; the leader finds the batch bad, leadership
        // moves, and every acknowledged record is read with no error.
        NodeProcess leaderNode = cluster.node(leader);
        List<java.nio.file.Path> leaderSegments = segments(leaderNode);
        flipInsideSecondBatch(leaderSegments.get(leaderSegments.size() - 1));
        assertNothingLost(TOPIC, 1, acks);
        assertFalse(leaderNode.grepLog("a consumer found it failing its CRC, and so did this broker").isEmpty(),
                "the leader checked its copy when the consumer asked:\n" + leaderNode.tail(30));
        String leaderMetrics = leaderNode.httpGet("/metrics").body();
        assertTrue(leaderMetrics.contains("basalt_log_corrupt_found_total{found_by=\"read\"} 1.0"), leaderMetrics);
        cluster.awaitPartition(TOPIC, 0, s -> s.hasLeader() && s.isr().containsAll(s.replicas()),
                "the damaged copy rebuilt and back in the ISR", CATCH_UP);
        assertReplicasIdentical(TOPIC, 0);
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aCorruptOldSegmentTheScrubberFindsRightAfterARestart_isRebuiltNotServedAsTheOnlyCopy() throws IOException {
        KilledFollower k = writingFollowerKilled(Map.of("min.insync.replicas", "2", "segment.bytes", "1024"), "o");
        AckedWrites w = k.writes();
        int leader = k.leader();
        int victim = k.victim();
        NodeProcess node = cluster.node(victim);
        // The oldest segment is sealed and below the recovery point: the restart trusts it, and the
        // background scrubber finds the damage seconds later, before or while the node catches up
        // on metadata (it then knows no ISR yet, which must not read as "the only copy").
        flipInsideSecondBatch(segments(node).get(0));
        node.launch();
        node.awaitReady(READY.plus(READY));
        cluster.awaitPartition(TOPIC, 0, s -> s.isr().contains(victim) && !node.grepLog("cut at its first corrupt batch").isEmpty(),
                "the replica rebuilt from the leader and back in the ISR", CATCH_UP);
        assertTrue(node.grepLog("this is the only in-sync copy").isEmpty(), "a replica with healthy copies elsewhere is not served as the"
                + " only one:\n" + node.tail(30));
        w.stop(Duration.ofSeconds(40));
        List<AckedWrites.Ack> acks = w.acks();
        assertNothingLost(TOPIC, 1, acks);
        assertReplicasIdentical(TOPIC, 0);
        // With the victim now leading, every acknowledged record is still readable from it.
        cluster.kill9(leader);
        cluster.awaitPartition(TOPIC, 0, s -> s.hasLeader() && s.leader() != leader, "a new leader", FAILOVER);
        assertNothingLost(TOPIC, 1, acks);
    }

    /**
     * {@code rm -rf} of a follower's partition directory under acks=all load: within a second the
     * broker takes the replica offline (its open files would be lost at the next start), it leaves
     * the ISR, and, with the leader healthy elsewhere, the broker rebuilds it at once from the
     * leader, without a restart: back in the ISR with an identical log, nothing acknowledged lost.
     * Before, the replica stayed offline until the node was restarted.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void deletingAFollowersPartitionDirectoryUnderLoad_rebuildsTheReplicaWithoutARestart() throws IOException {
        // No scrubbing: the cut below must be found by the active segments' check, not by a scrub pass.
        start(builder(4).controllers(1).config("log.scrub.bytes.per.second", "0"));
        createTopic(TOPIC, 1, 3, Map.of("min.insync.replicas", "2"));
        AckedWrites w = writes(cluster.bootstrap(), TOPIC, 1, "r").start();
        assertTrue(w.awaitAcks(400, System.nanoTime() - Duration.ofMinutes(1).toNanos(), FAILOVER), w.summary());
        int leader = cluster.partition(TOPIC, 0).leader();
        int victim = otherThan(cluster.brokerIds(), leader).orElseThrow();
        NodeProcess node = cluster.node(victim);
        long deletedAt = System.nanoTime();
        StorageIdentityE2ETest.deleteRecursively(node.dataDir().resolve(TOPIC + "-0"));

        cluster.awaitPartition(TOPIC, 0, s -> s.isr().contains(victim) && !node.grepLog("cut at its first corrupt batch").isEmpty(),
                "the replica rebuilt from the leader and back in the ISR", CATCH_UP);
        System.out.println("MEASURED deleted partition directory: follower " + victim + " rebuilt and back in the ISR "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - deletedAt) + " ms after the deletion, no restart");
        assertTrue(node.isAlive(), "no restart:\n" + node.tail(30));
        assertFalse(node.grepLog("was deleted while the node ran").isEmpty(), "the deletion is reported:\n" + node.tail(30));
        assertRebuiltOnlyOutOfTheIsr(node, victim);
        assertTrue(java.nio.file.Files.isDirectory(node.dataDir().resolve(TOPIC + "-0")), "the directory is back");
        assertEquals(leader, cluster.partition(TOPIC, 0).leader(), "the healthy leader kept leading");
        assertTrue(w.awaitAcks(200, System.nanoTime(), FAILOVER), "writes go on: " + w.summary());

        w.stop(Duration.ofSeconds(40));
        List<AckedWrites.Ack> acks = w.acks();
        assertReplicasIdentical(TOPIC, 0); // every follower has appended all it will: no append follows the cut below

        // The other follower's active segment cut to half its data (truncate -s) once the writes
        // stopped: found within a check (the file is shorter than its batches) and rebuilt the same
        // way, where before nothing noticed it until a restart read the cut as the log's end. (A
        // cut that appends follow leaves a hole instead, which the scrubber finds; it is off here.)
        int third = otherThan(cluster.brokerIds(), leader, victim).orElseThrow();
        NodeProcess thirdNode = cluster.node(third);
        List<java.nio.file.Path> thirdSegments = segments(thirdNode);
        java.nio.file.Path active = thirdSegments.get(thirdSegments.size() - 1);
        long cutAt = System.nanoTime();
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(active, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(Math.min(ch.size(), 4096) / 2);
        }
        cluster.awaitPartition(TOPIC, 0, s -> s.isr().contains(third) && !thirdNode.grepLog("cut at its first corrupt batch").isEmpty(),
                "the cut replica rebuilt from the leader and back in the ISR", CATCH_UP);
        assertFalse(thirdNode.grepLog("cut short while the node ran").isEmpty(), "the cut is reported:\n" + thirdNode.tail(30));
        assertRebuiltOnlyOutOfTheIsr(thirdNode, third);
        System.out.println("MEASURED cut active segment: follower " + third + " rebuilt and back in the ISR "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt) + " ms after the cut, no restart");
        assertNothingLost(TOPIC, 1, acks);
        long hw = assertReplicasIdentical(TOPIC, 0);
        assertTrue(hw > maxAckedOffset(acks, 0), "HW " + hw);
        // The rebuilt copy is whole: with the old leader gone, every acknowledged record is read from the others.
        cluster.kill9(leader);
        cluster.awaitPartition(TOPIC, 0, s -> s.hasLeader() && s.leader() != leader, "a new leader", FAILOVER);
        assertNothingLost(TOPIC, 1, acks);
    }

    /**
     * The rebuild discards the replica's log, so it must wait until the controller has taken the
     * replica out of the ISR (else it could be elected with the little it had refetched): the
     * partition state the broker applied as it rebuilt (its last BECAME_FOLLOWER line before the
     * rebuild's) has an ISR without it.
     */
    private static void assertRebuiltOnlyOutOfTheIsr(NodeProcess node, int broker) throws IOException {
        List<String> lines = node.grepLog("");
        int rebuilt = -1;
        for (int i = 0; i < lines.size() && rebuilt < 0; i++) {
            if (lines.get(i).contains("cut at its first corrupt batch")) {
                rebuilt = i;
            }
        }
        assertTrue(rebuilt > 0, "no rebuild logged:\n" + node.tail(30));
        String applied = null;
        for (int i = rebuilt - 1; i >= 0 && applied == null; i--) {
            if (lines.get(i).contains(TOPIC + "-0: BECAME_FOLLOWER")) {
                applied = lines.get(i);
            }
        }
        assertTrue(applied != null, "no BECAME_FOLLOWER before the rebuild:\n" + node.tail(30));
        java.util.regex.Matcher isr = java.util.regex.Pattern.compile("ISR \\[([0-9, ]*)\\]").matcher(applied);
        assertTrue(isr.find(), applied);
        List<String> members = java.util.Arrays.stream(isr.group(1).split(",\\s*")).toList();
        assertFalse(members.contains(String.valueOf(broker)), "rebuilt while still in the ISR: " + applied);
    }

    /**
     * One controller and three brokers, a topic of one partition (RF 3) with {@code config}, 400
     * acknowledged writes (the writer keeps going), then a follower of the partition killed -9.
     */
    private KilledFollower writingFollowerKilled(Map<String, String> config, String prefix) {
        return writingFollowerKilled(config, prefix, "1048576");
    }

    /** As above, the nodes scrubbing {@code scrubBytesPerSecond} (0 = off). */
    private KilledFollower writingFollowerKilled(Map<String, String> config, String prefix, String scrubBytesPerSecond) {
        start(builder(4).controllers(1).config("log.scrub.bytes.per.second", scrubBytesPerSecond));
        createTopic(TOPIC, 1, 3, config);
        AckedWrites w = writes(cluster.bootstrap(), TOPIC, 1, prefix).start();
        assertTrue(w.awaitAcks(400, System.nanoTime() - Duration.ofMinutes(1).toNanos(), FAILOVER), w.summary());
        int leader = cluster.partition(TOPIC, 0).leader();
        int victim = otherThan(cluster.brokerIds(), leader).orElseThrow();
        cluster.kill9(victim);
        return new KilledFollower(w, leader, victim);
    }

    private record KilledFollower(AckedWrites writes, int leader, int victim) {
    }

    /** The partition's segment files on {@code node}, oldest first. */
    private static List<java.nio.file.Path> segments(NodeProcess node) throws IOException {
        try (var files = java.nio.file.Files.list(node.dataDir().resolve(TOPIC + "-0"))) {
            return files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
        }
    }

    /** XORs one byte inside the records of the segment's second batch (its CRC then fails); returns the position. */
    static long flipInsideSecondBatch(java.nio.file.Path segment) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(segment, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(12);
            ch.read(header, 0);
            long second = 12L + header.getInt(8);
            header.clear();
            ch.read(header, second);
            long target = second + 12 + header.getInt(8) - 3; // inside the last record of the batch
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, target);
            b.put(0, (byte) (b.get(0) ^ 0x5a)).rewind();
            ch.write(b, target);
            ch.force(true);
            return target;
        }
    }

    /** DescribeCluster (what `basalt cluster` prints) lists {@code count} offline replicas of {@code broker}, naming {@code why}. */
    private void awaitOfflineReplicasShown(int broker, int count, String why) {
        long deadline = System.nanoTime() + FAILOVER.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try (dev.basalt.client.Admin admin = cluster.admin()) {
                var described = dev.basalt.client.Admin.get(admin.describeCluster(true), Duration.ofSeconds(10));
                var b = described.brokers().stream().filter(d -> d.id() == broker).findFirst().orElseThrow();
                last = b.offlineReplicas().toString();
                if (b.offlineReplicas().size() == count && b.offlineReplicas().stream().allMatch(
                        r -> r.topic().equals(TOPIC) && r.reason().contains(why))) {
                    return;
                }
            } catch (RuntimeException e) {
                last = e.toString();
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        org.junit.jupiter.api.Assertions.fail("the cluster does not show broker " + broker + "'s " + count
                + " offline replicas (" + why + "); last seen: " + last);
    }
}

package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.testkit.FakeCluster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CLI against a three-broker {@link FakeCluster} with replicated topics: {@code topics
 * --describe} and its report filters (under-replicated, unavailable, under / at min ISR) print
 * exactly the matching partitions, {@code cluster} shows fenced brokers, racks and the quorum,
 * the replication factor reaches the cluster, and a bootstrap list with a dead address works in
 * every command. Method: the fake's partition state (ISR, ELR, leaders, fencing) is set
 * directly, then the CLI's stdout is compared line by line. Reproduce: {@code ./mvnw -B -ntp -o
 * -pl client -am test -Dtest=BasaltCliClusterTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class BasaltCliClusterTest {
    private FakeCluster cluster;

    record Result(int code, String out, String err) {
    }

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(3);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private Result run(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (!all.contains("-b") && !all.contains("--bootstrap-server")) {
            all.add("--bootstrap-server");
            all.add(cluster.bootstrap());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = BasaltCli.run(all.toArray(new String[0]), new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The partition lines of a describe output, as "topic-partition". */
    private static List<String> partitions(Result r) {
        assertEquals(0, r.code(), r.err());
        List<String> out = new ArrayList<>();
        r.out().lines().filter(l -> l.startsWith("\t")).forEach(l -> {
            String[] f = l.split("\t");
            out.add(f[1].substring("Topic: ".length()) + "-" + f[2].substring("Partition: ".length()));
        });
        return out;
    }

    /**
     * t: 4 partitions, RF 3, min ISR 2: p0 healthy; p1 ISR [2] (under-replicated, under min ISR,
     * ELR [3]); p2 ISR [3, 1] (under-replicated, at min ISR); p3 no leader (unavailable).
     * u: 1 partition led by broker 3, which is then fenced (unavailable, broker offline).
     */
    private void createStates() {
        assertEquals(0, run("topics", "--create", "--topic", "t", "--partitions", "4", "--replication-factor", "3",
                "--config", "min.insync.replicas=2").code());
        assertEquals(0, run("topics", "--create", "--topic", "u", "--partitions", "1", "--replication-factor", "1").code());
        cluster.setIsr("t", 1, List.of(2), List.of(3));
        cluster.setIsr("t", 2, List.of(3, 1), List.of());
        cluster.moveLeader("t", 3, -1);
        cluster.moveLeader("u", 0, 3);
        cluster.setFenced(3, true);
    }

    @Test
    void describe_showsReplicationState_perPartition() {
        createStates();
        Result r = run("topics", "--describe", "--topic", "t");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.get(0).startsWith("Topic: t\tTopicId: "), lines.get(0));
        assertTrue(lines.get(0).contains("PartitionCount: 4\tReplicationFactor: 3\tConfigs: min.insync.replicas=2"), lines.get(0));
        // broker 3 is fenced: offline wherever it is a replica
        assertEquals("\tTopic: t\tPartition: 0\tLeader: 1\tLeaderEpoch: 0\tReplicas: 1,2,3\tIsr: 1,2,3\tElr: \tOffline: 3",
                lines.get(1));
        assertEquals("\tTopic: t\tPartition: 1\tLeader: 2\tLeaderEpoch: 0\tReplicas: 2,3,1\tIsr: 2\tElr: 3\tOffline: 3"
                + "\tStatus: under-replicated,under-min-isr", lines.get(2));
        assertEquals("\tTopic: t\tPartition: 2\tLeader: 3\tLeaderEpoch: 0\tReplicas: 3,1,2\tIsr: 3,1\tElr: \tOffline: 3"
                + "\tStatus: unavailable,under-replicated,at-min-isr", lines.get(3));
        assertEquals("\tTopic: t\tPartition: 3\tLeader: none\tLeaderEpoch: 1\tReplicas: 1,2,3\tIsr: 1,2,3\tElr: \tOffline: 3"
                + "\tStatus: unavailable", lines.get(4));
        assertEquals(5, lines.size());
    }

    @Test
    void describe_reportFilters_printOnlyMatchingPartitions() {
        createStates();
        assertEquals(List.of("t-1", "t-2"), partitions(run("topics", "--describe", "--under-replicated-partitions")));
        assertEquals(List.of("t-2", "t-3", "u-0"), partitions(run("topics", "--describe", "--unavailable-partitions")));
        assertEquals(List.of("t-1"), partitions(run("topics", "--describe", "--under-min-isr-partitions")));
        assertEquals(List.of("t-2"), partitions(run("topics", "--describe", "--at-min-isr-partitions")));
        assertEquals(List.of("u-0"), partitions(run("topics", "--describe", "--topic", "u", "--unavailable-partitions")));
        assertEquals(List.of(), partitions(run("topics", "--describe", "--topic", "u", "--under-replicated-partitions")));
        // no topic summary lines with a filter, as kafka-topics.sh
        assertTrue(run("topics", "--describe", "--unavailable-partitions").out().lines().allMatch(l -> l.startsWith("\t")));
    }

    /**
     * A leader its broker reported offline only for a full disk, kept by the controller because no
     * replica in service could replace it, serves reads and refuses appends: "read-only", not
     * "unavailable" (found probing full disks: every such partition showed unavailable). Any other
     * reason, or a fenced broker, is still "unavailable".
     */
    @Test
    void describe_aLeaderKeptOnAFullDisk_isReadOnly_notUnavailable() {
        assertEquals(0, run("topics", "--create", "--topic", "w", "--partitions", "3", "--replication-factor", "3").code());
        // p0: every replica out of space, leader 1 kept
        for (int b = 1; b <= 3; b++) {
            cluster.setReplicaOffline(b, "w", 0, "disk full: 8163328 bytes free, log.dir.reserved.bytes 67108864");
        }
        cluster.setIsr("w", 0, List.of(1), List.of());
        // p1: the leader's replica is corrupt (not only out of space)
        cluster.moveLeader("w", 1, 2);
        cluster.setReplicaOffline(2, "w", 1, "corrupt batch at offset 17: crc mismatch");
        // p2: the leader is out of space but fenced (not live)
        cluster.moveLeader("w", 2, 3);
        cluster.setReplicaOffline(3, "w", 2, "disk full: 0 bytes free");
        cluster.setFenced(3, true);

        List<String> lines = run("topics", "--describe", "--topic", "w").out().lines().toList();
        assertEquals("\tTopic: w\tPartition: 0\tLeader: 1\tLeaderEpoch: 0\tReplicas: 1,2,3\tIsr: 1\tElr: \tOffline: 1,2,3"
                + "\tStatus: read-only,under-replicated,at-min-isr", lines.get(1));
        assertTrue(lines.get(2).endsWith("\tStatus: unavailable"), lines.get(2));
        assertTrue(lines.get(3).endsWith("\tStatus: unavailable"), lines.get(3));
        // the filter lists them all: none takes writes
        assertEquals(List.of("w-0", "w-1", "w-2"), partitions(run("topics", "--describe", "--unavailable-partitions")));

        cluster.setReplicaOffline(1, "w", 0, null); // space freed on broker 1
        String freed = run("topics", "--describe", "--topic", "w").out().lines().toList().get(1);
        assertTrue(freed.endsWith("\tOffline: 2,3\tStatus: under-replicated,at-min-isr"), freed);
    }

    @Test
    void describe_filters_usageErrors() {
        assertEquals(BasaltCli.USAGE, run("topics", "--describe", "--under-replicated-partitions", "--unavailable-partitions").code());
        assertEquals(BasaltCli.USAGE, run("topics", "--list", "--under-replicated-partitions").code());
    }

    @Test
    void create_passesTheReplicationFactor() {
        Result c = run("topics", "--create", "--topic", "rf", "--partitions", "2", "--replication-factor", "2");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("replication factor 2"), c.out());
        Result d = run("topics", "--describe", "--topic", "rf");
        assertTrue(d.out().contains("ReplicationFactor: 2"), d.out());
        assertTrue(d.out().contains("\tPartition: 0\tLeader: 1\tLeaderEpoch: 0\tReplicas: 1,2\tIsr: 1,2\t"), d.out());
        assertEquals(BasaltCli.CLUSTER_ERROR, run("topics", "--create", "--topic", "rf4", "--replication-factor", "4").code());
        // found probing a cluster: after a reassignment grew one partition, the summary still showed partition 0's count
        cluster.setReplicas("rf", 1, List.of(1, 2, 3));
        Result mixed = run("topics", "--describe", "--topic", "rf");
        assertTrue(mixed.out().contains("ReplicationFactor: 2-3\t"), mixed.out());
    }

    /**
     * While a move runs, the replicas it adds are listed but not counted in the replication factor
     * (found probing a cluster: a 2 -> 2 move of every partition showed "ReplicationFactor: 3");
     * the partition line names what is added and removed.
     */
    @Test
    void describe_duringAReassignment_countsTheFactorWithoutAddingReplicas_andNamesTheMove() {
        assertEquals(0, run("topics", "--create", "--topic", "mv", "--partitions", "2", "--replication-factor", "2").code());
        cluster.startReassignment("mv", 0, List.of(2, 3));
        cluster.startReassignment("mv", 1, List.of(3, 1));
        Result d = run("topics", "--describe", "--topic", "mv");
        assertEquals(0, d.code(), d.err());
        List<String> lines = d.out().lines().toList();
        assertTrue(lines.get(0).contains("PartitionCount: 2\tReplicationFactor: 2\t"), lines.get(0));
        // not under-replicated: both replicas of the factor are in sync while 3 copies (as kafka-topics.sh;
        // found probing: every planned move was listed by --under-replicated-partitions for its whole copy)
        assertEquals("\tTopic: mv\tPartition: 0\tLeader: 1\tLeaderEpoch: 0\tReplicas: 2,3,1\tIsr: 1,2\tElr: \tOffline: "
                + "\tAdding Replicas: 3\tRemoving Replicas: 1", lines.get(1));
        assertEquals(List.of(), partitions(run("topics", "--describe", "--topic", "mv", "--under-replicated-partitions")));
        assertTrue(lines.get(2).contains("\tReplicas: 3,1,2\t") && lines.get(2).contains("\tAdding Replicas: 1\tRemoving Replicas: 2"),
                lines.get(2));
        // growing a partition: the added replica is not counted until the move completes
        assertEquals(0, run("topics", "--create", "--topic", "grow", "--partitions", "1", "--replication-factor", "1").code());
        cluster.startReassignment("grow", 0, List.of(1, 2));
        assertTrue(run("topics", "--describe", "--topic", "grow").out().contains("ReplicationFactor: 1\t"));
        cluster.setReplicas("grow", 0, List.of(1, 2));
        assertTrue(run("topics", "--describe", "--topic", "grow").out().contains("ReplicationFactor: 2\t"));
    }

    @Test
    void cluster_showsBrokersRacksFencingControllerAndQuorum() {
        cluster.broker(2).setRack("rack-b");
        cluster.setFenced(3, true);
        Result r = run("cluster");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals("Controller: 1", lines.get(1));
        String b1 = lines.stream().filter(l -> l.startsWith("1 ")).findFirst().orElseThrow();
        assertTrue(b1.contains("127.0.0.1:" + cluster.broker(1).port()) && b1.contains("running")
                && b1.contains("(active controller)"), b1);
        String b2 = lines.stream().filter(l -> l.startsWith("2 ")).findFirst().orElseThrow();
        assertTrue(b2.contains("rack-b") && b2.contains("running"), b2);
        String b3 = lines.stream().filter(l -> l.startsWith("3 ")).findFirst().orElseThrow();
        assertTrue(b3.contains("fenced"), b3);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("leader ") && l.contains(" 1 ")), r.out());
        assertEquals(2, lines.stream().filter(l -> l.startsWith("observer ")).count(), r.out());
    }

    @Test
    void everyCommand_acceptsABootstrapListWithADeadAddress() {
        String bootstrap = FakeCluster.deadAddress() + "," + cluster.bootstrap();
        assertEquals(0, run("topics", "--create", "--topic", "b", "-b", bootstrap).code());
        assertEquals("b\n", run("topics", "--list", "-b", bootstrap).out());
        assertEquals(0, run("topics", "--describe", "-b", bootstrap).code());
        assertEquals(0, run("cluster", "--bootstrap-server", bootstrap).code());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = BasaltCli.run(new String[] {"produce", "--topic", "b", "-b", bootstrap},
                new ByteArrayInputStream("one\ntwo\n".getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(0, code);
        Result c = run("consume", "--topic", "b", "--from-beginning", "--max-messages", "2", "-b", bootstrap);
        assertEquals(0, c.code(), c.err());
        assertEquals("one\ntwo\n", c.out());
    }

    /**
     * Found probing: with one broker of three stopped, `groups --list` printed nothing and exited 3
     * ("cannot connect"). The groups of the brokers that answer are printed, and the missing
     * broker is named on stderr.
     */
    @Test
    void groupsList_withABrokerDown_printsTheOthersGroups_andWarns() {
        cluster.groups().setListedGroups(List.of("orders"));
        String down = "127.0.0.1:" + cluster.broker(3).port();
        cluster.broker(3).stop();
        Result r = run("groups", "--list", "--timeout-ms", "3000");
        assertEquals(0, r.code(), r.err());
        assertEquals("orders\n", r.out());
        assertTrue(r.err().contains("basalt: warning: broker " + down + " did not answer, so the groups it coordinates are not listed"),
                r.err());
    }
}

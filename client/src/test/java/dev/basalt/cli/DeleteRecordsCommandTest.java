package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.testkit.FakeCluster;
import dev.basalt.proto.v1.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code basalt delete-records} against a {@link FakeCluster} of two brokers (partition p led by
 * broker p % 2 + 1): Kafka's offset JSON file and the {@code --topic} form, -1 for the high
 * watermark, one {@code partition: T-P<TAB>low_watermark: N} line per partition as
 * kafka-delete-records.sh prints them, a refused partition's error line with exit 1, REQUEST_TIMED_OUT
 * with exit 4, an unreachable cluster with exit 3, and malformed files and options as usage errors
 * (exit 2) with nothing sent. Method: stdout is compared line by line, and the fake's record of every
 * DeleteRecords partition ("broker:topic-partition@offset") and its log start offsets are checked.
 * Reproduce: {@code ./mvnw -B -ntp -o -q test -pl client -am -Dtest=DeleteRecordsCommandTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Djacoco.skip=true}.
 */
class DeleteRecordsCommandTest {
    private FakeCluster cluster;
    private CliRunner cli;
    @TempDir
    Path dir;

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(2);
        cli = new CliRunner(cluster);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private Path file(String json) throws IOException {
        Path f = dir.resolve("offsets-" + System.nanoTime() + ".json");
        Files.writeString(f, json, StandardCharsets.UTF_8);
        return f;
    }

    private List<String> ok(String... args) {
        CliRunner.Result r = cli.run(args);
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        return r.lines();
    }

    /** A usage error: exit 2, the one error line, nothing on stdout, nothing sent. */
    private void usage(String says, String... args) {
        CliRunner.Result r = cli.run(args);
        assertEquals(BasaltCli.USAGE, r.code(), r.err());
        assertEquals("basalt: error: " + says, r.err().lines().findFirst().orElse(""), r.err());
        assertEquals("", r.out());
        assertEquals(List.of(), cluster.deleteRecordsRequests());
    }

    @Test
    void offsetJsonFile_deletesEachPartitionAtItsLeader_andPrintsKafkasLines() throws Exception {
        cluster.createTopic("t", 2);
        cli.append("t", 0, 5, 1_000);
        cli.append("t", 1, 2, 1_000);
        Path f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 1, \"offset\": -1},\n"
                + "  {\"topic\": \"t\", \"partition\": 0, \"offset\": 3}], \"version\": 1}");
        assertEquals(List.of("partition: t-0\tlow_watermark: 3", "partition: t-1\tlow_watermark: 2"),
                ok("delete-records", "--offset-json-file", f.toString()));
        assertEquals(List.of("1:t-0@3", "2:t-1@-1"), cluster.deleteRecordsRequests().stream().sorted().toList());
        assertEquals(List.of("t:0:3", "t:1:2"), ok("get-offsets", "--topic", "t", "--time", "earliest"));
        // Kafka's tool reads a file without "version" as version 1; a repeat changes nothing
        Path noVersion = file("{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":1}]}");
        assertEquals(List.of("partition: t-0\tlow_watermark: 3"), ok("delete-records", "--offset-json-file", noVersion.toString()));
        assertEquals(3, cluster.logStartOffset("t", 0));
    }

    @Test
    void topicForm_everyPartitionByDefault_orThoseNamed() {
        cluster.createTopic("t", 3);
        cli.append("t", 0, 4, 1_000);
        cli.append("t", 1, 3, 1_000);
        cli.append("t", 2, 2, 1_000);
        assertEquals(List.of("partition: t-1\tlow_watermark: 1", "partition: t-2\tlow_watermark: 1"),
                ok("delete-records", "--topic", "t", "--partition", "2", "--partition", "1", "--offset", "1"));
        assertEquals(0, cluster.logStartOffset("t", 0));
        assertEquals(List.of("partition: t-0\tlow_watermark: 4", "partition: t-1\tlow_watermark: 3",
                "partition: t-2\tlow_watermark: 2"), ok("delete-records", "--topic", "t", "--offset", "-1"));
        assertEquals(List.of("t:0:4", "t:1:3", "t:2:2"), ok("get-offsets", "--topic", "t", "--time", "-2"));
        cli.append("t", 0, 2, 1_000);
        cli.append("t", 2, 2, 1_000);
        assertEquals(List.of("partition: t-0\tlow_watermark: 6", "partition: t-2\tlow_watermark: 4"),
                ok("delete-records", "--topic", "t", "--partitions", "0,2", "--offset", "-1"),
                "--partitions P,P as get-offsets takes them");
        assertEquals(List.of("t:0:6", "t:1:3", "t:2:4"), ok("get-offsets", "--topic", "t", "--time", "-2"));
        int sent = cluster.lastDeleteRecordsTimeoutMs();
        assertTrue(sent > 0 && sent <= 30_000, "timeout_ms within the default --timeout-ms: " + sent);
        ok("delete-records", "--topic", "t", "--offset", "-1", "--timeout-ms", "5000");
        sent = cluster.lastDeleteRecordsTimeoutMs();
        assertTrue(sent > 0 && sent <= 5_000, "timeout_ms within --timeout-ms: " + sent);
    }

    /** Refused partitions get an error line each, the others their low watermark; stderr counts them; exit 1. */
    @Test
    void aRefusedPartition_isAnErrorLine_andExit1() throws Exception {
        cluster.createTopic("t", 2);
        cli.append("t", 0, 3, 1_000);
        cli.append("t", 1, 3, 1_000);
        Path f = file("{\"version\": 1, \"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 2},"
                + " {\"topic\": \"t\", \"partition\": 1, \"offset\": 99}, {\"topic\": \"missing\", \"partition\": 0, \"offset\": 0}]}");
        CliRunner.Result r = cli.run("delete-records", "--offset-json-file", f.toString());
        assertEquals(BasaltCli.CLUSTER_ERROR, r.code(), r.err());
        assertEquals(List.of(
                "partition: missing-0\terror: delete records of missing-0: UNKNOWN_TOPIC (topic missing does not exist)",
                "partition: t-0\tlow_watermark: 2",
                "partition: t-1\terror: delete records of t-1 at broker 2 (127.0.0.1:" + cluster.broker(2).port() + "):"
                        + " OFFSET_OUT_OF_RANGE (offset 99 is above the high watermark 3): only committed records can be deleted"),
                r.lines());
        assertEquals("basalt: error: the records of 2 of 3 partitions were not deleted (see their error lines)\n", r.err());
        assertEquals(2, cluster.logStartOffset("t", 0));
        assertEquals(0, cluster.logStartOffset("t", 1));
    }

    /** REQUEST_TIMED_OUT: the leader deleted but the replicas had not followed; exit 4 (timed out). */
    @Test
    void requestTimedOut_saysTheDeletionStands_exit4() {
        cluster.createTopic("t", 1);
        cli.append("t", 0, 3, 1_000);
        cluster.injectDeleteRecordsError(ErrorCode.REQUEST_TIMED_OUT, 1, true);
        CliRunner.Result r = cli.run("delete-records", "--topic", "t", "--offset", "2");
        assertEquals(BasaltCli.TIMEOUT_OR_UNKNOWN, r.code(), r.err());
        assertEquals(1, r.lines().size(), r.out());
        assertTrue(r.lines().get(0).startsWith("partition: t-0\terror: delete records of t-0 at broker 1 "), r.out());
        assertTrue(r.lines().get(0).endsWith(": the leader moved the partition's log start up to offset 2, but an in-sync replica"
                + " had not followed within the request's timeout; replicas normally follow with their next fetch, but a leader"
                + " change before they do would undo the deletion (ask again to make sure)"), r.out());
        assertEquals(2, cluster.logStartOffset("t", 0));
    }

    /** The metadata names the old leader: the NOT_LEADER answer's hint is followed, and the command succeeds. */
    @Test
    void aStaleLeader_isFollowedToTheNewOne() {
        cluster.createTopic("t", 1, 2);
        cli.append("t", 0, 3, 1_000);
        cluster.moveLeader("t", 0, 2);
        cluster.staleMetadataLeader("t", 0, 1, 0);
        assertEquals(List.of("partition: t-0\tlow_watermark: 3"), ok("delete-records", "--topic", "t", "--offset", "-1"));
        assertEquals(List.of("1:t-0@-1", "2:t-0@-1"), cluster.deleteRecordsRequests());
    }

    @Test
    void cannotConnect_exit3() throws Exception {
        Path f = file("{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":1}],\"version\":1}");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = BasaltCli.run(new String[] {"delete-records", "--offset-json-file", f.toString(), "--timeout-ms", "500",
                        "--bootstrap-server", FakeCluster.deadAddress()}, new ByteArrayInputStream(new byte[0]),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(BasaltCli.CANNOT_CONNECT, code, err.toString(StandardCharsets.UTF_8));
        String line = out.toString(StandardCharsets.UTF_8);
        assertTrue(line.startsWith("partition: t-0\terror: cannot connect to the cluster: records of t-0 below offset 1 not deleted"
                + " within 500 ms: no metadata: metadata from "), line);
        assertEquals(1, line.lines().count(), line);
    }

    @Test
    void topicForm_anUnknownTopicOrPartition_isExit1_beforeAnythingIsSent() {
        cluster.createTopic("t", 2);
        CliRunner.Result unknown = cli.run("delete-records", "--topic", "nope", "--offset", "0");
        assertEquals(BasaltCli.CLUSTER_ERROR, unknown.code(), unknown.err());
        assertEquals("basalt: error: topic nope does not exist\n", unknown.err());
        CliRunner.Result lacking = cli.run("delete-records", "--topic", "t", "--partition", "5", "--partition", "1", "--offset", "0");
        assertEquals(BasaltCli.CLUSTER_ERROR, lacking.code(), lacking.err());
        assertEquals("basalt: error: topic t has 2 partitions (0-1): no partition 5\n", lacking.err());
        assertEquals(List.of(), cluster.deleteRecordsRequests());
    }

    @Test
    void malformedOffsetFiles_areUsageErrors_namingTheFileAndWhy() throws Exception {
        cluster.createTopic("t", 1);
        Path f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 1}");
        usage(f + " is not valid JSON: the file ends too soon at line 1 column 60 path $.partitions[1]",
                "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0}], \"version\": 1}");
        usage(f + ": entry 1 of \"partitions\" has no \"offset\"", "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 1}], \"version\": 2}");
        usage(f + ": version 2 is not supported (expected 1)", "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": -2}]}");
        usage(f + ": entry 1 of \"partitions\": \"offset\" must be an offset from 0, or -1 for the high watermark, not -2",
                "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 1.5}]}");
        usage(f + ": entry 1 of \"partitions\": \"offset\" must be a whole number from -1, not 1.5",
                "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": \"0\", \"offset\": 1}]}");
        usage(f + ": entry 1 of \"partitions\": \"partition\" must be a number, not a string",
                "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": -1, \"offset\": 1}]}");
        usage(f + ": entry 1 of \"partitions\": \"partition\" must be a whole number from 0 to 2147483647, not -1",
                "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 1}, {\"topic\": \"t\", \"partition\": 0,"
                + " \"offset\": 2}]}");
        usage(f + ": t-0 appears more than once", "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 1, \"offset\": 2}]}");
        usage(f + ": entry 1 of \"partitions\": key \"offset\" appears twice", "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"ofset\": 1}]}");
        usage(f + ": entry 1 of \"partitions\" has an unknown key \"ofset\" (expected topic, partition, offset)",
                "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": []}");
        usage(f + ": \"partitions\" is empty: no records to delete", "delete-records", "--offset-json-file", f.toString());
        f = file("{\"version\": 1}");
        usage(f + ": no \"partitions\" key (expected {\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 10}],"
                + " \"version\": 1})", "delete-records", "--offset-json-file", f.toString());
        f = file("[]");
        usage(f + ": expected a JSON object {\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 10}], \"version\":"
                + " 1}, found a list", "delete-records", "--offset-json-file", f.toString());
        f = file("{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 1}]} {}");
        usage(f + " is not valid JSON: there is more after the top-level object", "delete-records", "--offset-json-file",
                f.toString());
        f = file("{\"partitions\": [{topic: \"t\", \"partition\": 0, \"offset\": 1}]}");
        usage(f + " is not valid JSON: malformed JSON at line 1 column 19 path $.partitions[0].", "delete-records",
                "--offset-json-file", f.toString());
        f = file("");
        usage(f + " is not valid JSON: the file ends too soon at line 1 column 1 path $", "delete-records", "--offset-json-file",
                f.toString());
        assertEquals(0, cluster.logStartOffset("t", 0));
    }

    @Test
    void anOffsetFileThatCannotBeRead_isExit5() {
        CliRunner.Result r = cli.run("delete-records", "--offset-json-file", dir.resolve("absent.json").toString());
        assertEquals(BasaltCli.IO_ERROR, r.code(), r.err());
        assertEquals("basalt: error: cannot read " + dir.resolve("absent.json") + ": no such file\n", r.err());
    }

    @Test
    void optionsThatDoNotGoTogether_orAreMissing_areUsageErrors() throws Exception {
        cluster.createTopic("t", 1);
        Path f = file("{\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"offset\":0}]}");
        usage("give --offset-json-file FILE, or --topic T [--partition P] --offset O", "delete-records");
        usage("--offset-json-file names the partitions and offsets: --topic, --partition and --offset cannot be used with it",
                "delete-records", "--offset-json-file", f.toString(), "--topic", "t");
        usage("--partition and --offset need --topic", "delete-records", "--offset", "1");
        usage("--topic needs --offset O (the records below O are deleted; -1: every committed record)",
                "delete-records", "--topic", "t");
        usage("--offset must be an offset from 0, or -1 for the high watermark, not -2", "delete-records", "--topic", "t",
                "--offset", "-2");
        usage("--partition takes partition numbers (0 or more), not -1", "delete-records", "--topic", "t", "--partition", "-1",
                "--offset", "0");
        usage("--timeout-ms must be positive, not 0", "delete-records", "--topic", "t", "--offset", "0", "--timeout-ms", "0");
    }

    @Test
    void theHelpListsTheCommand() {
        CliRunner.Result r = cli.run("--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("delete-records  Delete partitions' records below an offset"), r.out());
        CliRunner.Result own = cli.run("delete-records", "--help");
        assertEquals(0, own.code());
        assertTrue(own.out().contains("--offset-json-file=FILE"), own.out());
    }
}

package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.testkit.FakeCluster;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code basalt get-offsets} against a {@link FakeCluster}: one {@code topic:partition:offset}
 * line per partition for --time latest / earliest / a time (epoch ms or ISO-8601), --partitions,
 * a regular expression --topic, nothing printed (and a note) for a time past the last record, as
 * kafka-get-offsets.sh; and each error with its exit code. Method: records with known timestamps
 * are appended to the fake's logs directly, then stdout is compared line by line. Reproduce:
 * {@code ./mvnw -B -ntp -o -q test -pl client -am -Dtest=GetOffsetsCommandTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Djacoco.skip=true}.
 */
class GetOffsetsCommandTest {
    private FakeCluster cluster;
    private CliRunner cli;

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(1);
        cli = new CliRunner(cluster);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private List<String> ok(String... args) {
        CliRunner.Result r = cli.run(args);
        assertEquals(0, r.code(), r.err());
        return r.lines();
    }

    private void refused(int code, String says, String... args) {
        CliRunner.Result r = cli.run(args);
        assertEquals(code, r.code(), r.err());
        assertTrue(r.err().startsWith("basalt: error: ") && r.err().contains(says), r.err());
        assertEquals("", r.out());
    }

    @Test
    void latestByDefault_oneLinePerPartition_inPartitionNumberOrder() {
        cluster.createTopic("t", 11); // t:10 after t:9, not after t:1
        cli.append("t", 0, 3, 1_000);
        cli.append("t", 10, 2, 1_000);
        List<String> expected = new java.util.ArrayList<>();
        for (int p = 0; p < 11; p++) {
            expected.add("t:" + p + ":" + (p == 0 ? 3 : p == 10 ? 2 : 0));
        }
        assertEquals(expected, ok("get-offsets", "--topic", "t"));
        assertEquals(expected, ok("get-offsets", "--topic", "t", "--time", "-1"));
        assertEquals(expected, ok("get-offsets", "--topic", "t", "--time", "latest"));
    }

    @Test
    void earliest_isTheLogStart() {
        cluster.createTopic("t", 2);
        cli.append("t", 0, 5, 1_000);
        cluster.truncateLogStart("t", 0, 3);
        assertEquals(List.of("t:0:3", "t:1:0"), ok("get-offsets", "--topic", "t", "--time", "-2"));
        assertEquals(List.of("t:0:3", "t:1:0"), ok("get-offsets", "--topic", "t", "--time", "earliest"));
    }

    @Test
    void partitions_selectsThose() {
        cluster.createTopic("t", 3);
        cli.append("t", 2, 4, 1_000);
        assertEquals(List.of("t:0:0", "t:2:4"), ok("get-offsets", "--topic", "t", "--partitions", "2,0"));
    }

    /**
     * A time: the first offset whose timestamp is at or after it, in ms or ISO-8601. Past the last
     * record: no line for the partition (kafka-get-offsets.sh's "No offset is returned"), a note
     * naming it on stderr, exit 0.
     */
    @Test
    void aTime_isTheFirstOffsetAtOrAfterIt_andNoLineWhenNoRecordIs() {
        cluster.createTopic("t", 2);
        cli.append("t", 0, 2, 1_000);
        cli.append("t", 0, 2, 2_000); // offsets 2, 3
        cli.append("t", 1, 1, 5_000);
        assertEquals(List.of("t:0:2", "t:1:0"), ok("get-offsets", "--topic", "t", "--time", "1500"));
        assertEquals(List.of("t:0:2", "t:1:0"), ok("get-offsets", "--topic", "t", "--time", "1970-01-01T00:00:01.500Z"));
        assertEquals(List.of("t:0:2", "t:1:0"), ok("get-offsets", "--topic", "t", "--time", "1970-01-01T01:00:02+01:00"));
        CliRunner.Result past = cli.run("get-offsets", "--topic", "t", "--time", "3000");
        assertEquals(0, past.code(), past.err());
        assertEquals(List.of("t:1:0"), past.lines());
        assertTrue(past.err().contains("basalt: note: no record at or after 3000 (1970-01-01T00:00:03Z) in [t-0]: no line printed"
                + " for it"), past.err());
        CliRunner.Result none = cli.run("get-offsets", "--topic", "t", "--time", "9000");
        assertEquals(0, none.code(), none.err());
        assertEquals("", none.out());
        assertTrue(none.err().contains("in [t-0, t-1]: no line printed for them"), none.err());
    }

    /** As topics --describe: a value that cannot be a topic name is a regular expression over the names. */
    @Test
    void aTopicThatCannotBeAName_isARegularExpression() {
        cluster.createTopic("app-a", 1);
        cluster.createTopic("app-b", 2);
        cluster.createTopic("other", 1);
        cli.append("app-b", 1, 2, 1_000);
        assertEquals(List.of("app-a:0:0", "app-b:0:0", "app-b:1:2"), ok("get-offsets", "--topic", "app-.*"));
        CliRunner.Result some = cli.run("get-offsets", "--topic", "app-.*", "--partitions", "1");
        assertEquals(0, some.code(), some.err());
        assertEquals(List.of("app-b:1:2"), some.lines());
        assertTrue(some.err().contains("skipped [app-a-1]: the topic matches 'app-.*' but has no such partition"), some.err());
        // a legal name is that topic only ('.' included): app.a is not app-a
        refused(BasaltCli.CLUSTER_ERROR, "topic app.a does not exist", "get-offsets", "--topic", "app.a");
        refused(BasaltCli.CLUSTER_ERROR, "no topic matches the regular expression 'zz.*'", "get-offsets", "--topic", "zz.*");
        refused(BasaltCli.CLUSTER_ERROR, "no topic matching 'app-.*' has partition 7", "get-offsets", "--topic", "app-.*",
                "--partitions", "7");
        refused(BasaltCli.USAGE, "--topic with get-offsets is a name or a regular expression", "get-offsets", "--topic", "app-(");
    }

    @Test
    void errors_areOneLineWithTheirExitCode() {
        cluster.createTopic("t", 2);
        refused(BasaltCli.CLUSTER_ERROR, "topic nope does not exist", "get-offsets", "--topic", "nope");
        refused(BasaltCli.CLUSTER_ERROR, "topic t has 2 partitions (0-1): no partition 2, 5", "get-offsets", "--topic", "t",
                "--partitions", "0,2,5");
        refused(BasaltCli.USAGE, "--partitions takes partition numbers (0 or more), not -1", "get-offsets", "--topic", "t",
                "--partitions", "-1");
        refused(BasaltCli.USAGE, "'x' is not a whole number", "get-offsets", "--topic", "t", "--partitions", "0,x");
        refused(BasaltCli.USAGE, "--time -3 is not supported", "get-offsets", "--topic", "t", "--time", "-3");
        refused(BasaltCli.USAGE, "--time must be ISO-8601 with an offset, e.g. 2026-11-30T12:00:00Z, not 'yesterday'",
                "get-offsets", "--topic", "t", "--time", "yesterday");
        refused(BasaltCli.USAGE, "--time must be ISO-8601 with an offset", "get-offsets", "--topic", "t", "--time",
                "2026-11-30T12:00:00");
        refused(BasaltCli.USAGE, "is before 1970", "get-offsets", "--topic", "t", "--time", "1969-12-31T23:59:59Z");
        refused(BasaltCli.USAGE, "--time 99999999999999999999 is out of range", "get-offsets", "--topic", "t", "--time",
                "99999999999999999999");
        refused(BasaltCli.USAGE, "--timeout-ms must be positive", "get-offsets", "--topic", "t", "--timeout-ms", "0");
        refused(BasaltCli.USAGE, "Missing required option: '--topic", "get-offsets");
    }

    @Test
    void parseTime_specialValuesMsAndIso() {
        assertEquals(-1L, GetOffsetsCommand.parseTime("latest"));
        assertEquals(-1L, GetOffsetsCommand.parseTime("-1"));
        assertEquals(-2L, GetOffsetsCommand.parseTime("earliest"));
        assertEquals(-2L, GetOffsetsCommand.parseTime("-2"));
        assertEquals(0L, GetOffsetsCommand.parseTime("0"));
        assertEquals(1_764_504_000_000L, GetOffsetsCommand.parseTime("2025-11-30T12:00:00Z"));
        assertEquals(1_764_504_000_000L, GetOffsetsCommand.parseTime("1764504000000"));
        assertThrows(BasaltCli.UsageException.class, () -> GetOffsetsCommand.parseTime("-4"));
    }
}

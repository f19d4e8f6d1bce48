package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.testkit.FakeCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code basalt groups --reset-offsets} against a {@link FakeCluster}: the partition selections
 * ({@code --topic T[:P,P...]}, repeated; {@code --all-topics}; {@code --from-file}), the targets
 * {@code --to-current} and {@code --by-duration}, {@code --export} (CSV that {@code --from-file}
 * reads back), clamping into the log, the dry-run default, the refusal while the group has members,
 * and every usage or cluster error with its exit code. Method: the fake's logs (with record
 * timestamps) and the group's committed offsets are set directly; the plan is read from stdout
 * (the {@code --export} CSV, one {@code topic,partition,offset} line each) and what --execute
 * wrote from the fake. Reproduce: {@code ./mvnw -B -ntp -o -q test -pl client -am
 * -Dtest=GroupsResetOffsetsTest -Dsurefire.failIfNoSpecifiedTests=false -Djacoco.skip=true}.
 */
class GroupsResetOffsetsTest {
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

    /** A dry run's plan as CSV lines (--export), checked to exit 0. */
    private List<String> plan(String... resetArgs) {
        List<String> args = new java.util.ArrayList<>(List.of("groups", "--reset-offsets", "--group", "g", "--export"));
        args.addAll(List.of(resetArgs));
        CliRunner.Result r = cli.run(args.toArray(new String[0]));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("(dry run: add --execute to write these offsets)"), r.err());
        return r.lines();
    }

    private CliRunner.Result reset(String... resetArgs) {
        List<String> args = new java.util.ArrayList<>(List.of("groups", "--reset-offsets", "--group", "g"));
        args.addAll(List.of(resetArgs));
        return cli.run(args.toArray(new String[0]));
    }

    private void refused(int code, String says, String... resetArgs) {
        CliRunner.Result r = reset(resetArgs);
        assertEquals(code, r.code(), r.err());
        assertTrue(r.err().startsWith("basalt: error: ") && r.err().contains(says), r.err());
        assertEquals("", r.out());
    }

    /** t: 3 partitions of 10 records each (timestamps 1000 ms), log start 0. */
    private void topicT() {
        cluster.createTopic("t", 3);
        for (int p = 0; p < 3; p++) {
            cli.append("t", p, 10, 1_000);
        }
    }

    @Test
    void topicWithPartitions_resetsOnlyThose_andRepeatedTopicsAddUp() {
        topicT();
        cluster.createTopic("u", 2);
        assertEquals(List.of("t,0,0", "t,2,0"), plan("--topic", "t:0,2", "--to-earliest"));
        assertEquals(List.of("t,1,10", "u,0,0", "u,1,0"), plan("--topic", "t:1", "--topic", "u", "--to-latest"));
        assertEquals(List.of("t,0,4", "t,1,4", "t,2,4"), plan("--topic", "t:1", "--topic", "t", "--to-offset", "4"),
                "a whole topic wins over some of its partitions");
        refused(BasaltCli.CLUSTER_ERROR, "topic t has 3 partitions (0-2): no partition 3, 7", "--topic", "t:0,3,7", "--to-earliest");
        refused(BasaltCli.CLUSTER_ERROR, "topic nope does not exist", "--topic", "nope", "--to-earliest");
        refused(BasaltCli.CLUSTER_ERROR, "topics nope, nope2 do not exist", "--topic", "nope", "--topic", "t", "--topic", "nope2",
                "--to-earliest");
        refused(BasaltCli.USAGE, "--topic t:x: 'x' is not a partition number", "--topic", "t:x", "--to-earliest");
        refused(BasaltCli.USAGE, "--topic t:: '' is not a partition number", "--topic", "t:", "--to-earliest");
        refused(BasaltCli.USAGE, "--topic takes T or T:P[,P...], not ':1'", "--topic", ":1", "--to-earliest");
        assertNull(cluster.groups().committed("t", 0), "dry runs and refusals write nothing");
    }

    /** --to-current: the committed offset, moved into [log start, log end] only when outside it; none: the log end. */
    @Test
    void toCurrent_keepsTheCommittedOffset_clampedIntoTheLog() {
        topicT();
        cluster.truncateLogStart("t", 2, 4);
        cluster.groups().commit("t", 0, 5);
        cluster.groups().commit("t", 2, 1); // below the log start now (retention)
        CliRunner.Result r = reset("--topic", "t", "--to-current", "--export");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("t,0,5", "t,1,10", "t,2,4"), r.lines());
        assertTrue(r.err().contains("basalt: note: no committed offset for [t-1]: --to-current took the log end there"), r.err());
        cluster.groups().commit("t", 1, 99); // past the log end
        assertEquals(List.of("t,0,5", "t,1,10", "t,2,4"), plan("--topic", "t", "--to-current"));
        CliRunner.Result done = reset("--topic", "t", "--to-current", "--execute");
        assertEquals(0, done.code(), done.err());
        assertEquals(4L, cluster.groups().committed("t", 2));
        assertEquals(10L, cluster.groups().committed("t", 1));
    }

    /** --by-duration: the first record at or after now minus the duration; none that recent: the log end. */
    @Test
    void byDuration_countsBackFromNow() {
        cluster.createTopic("t", 2);
        long now = System.currentTimeMillis();
        cli.append("t", 0, 3, now - 7_200_000); // two hours ago: offsets 0-2
        cli.append("t", 0, 2, now - 600_000); // ten minutes ago: offsets 3-4
        cli.append("t", 1, 2, now - 7_200_000);
        assertEquals(List.of("t,0,3", "t,1,2"), plan("--topic", "t", "--by-duration", "PT1H"));
        assertEquals(List.of("t,0,0", "t,1,0"), plan("--topic", "t", "--by-duration", "P1DT2H"));
        assertEquals(List.of("t,0,0", "t,1,0"), plan("--topic", "t", "--by-duration", "PT9999999999999H"),
                "longer than since 1970: the log start");
        assertEquals(List.of("t,0,5", "t,1,2"), plan("--topic", "t", "--by-duration", "PT1M"));
        assertEquals(List.of("t,0,3", "t,1,2"), plan("--topic", "t", "--to-datetime",
                java.time.Instant.ofEpochMilli(now - 3_600_000).toString()), "--to-datetime looks times up the same way");
        refused(BasaltCli.USAGE, "--to-datetime must be ISO-8601 with an offset, e.g. 2026-11-30T12:00:00Z, not 'yesterday'",
                "--topic", "t", "--to-datetime", "yesterday");
        refused(BasaltCli.USAGE, "--by-duration must be an ISO-8601 duration PnDTnHnMnS, e.g. PT30M or P1DT2H, not '1h'",
                "--topic", "t", "--by-duration", "1h");
        refused(BasaltCli.USAGE, "--by-duration must not be negative", "--topic", "t", "--by-duration", "-PT1H");
        // after review: -1 ms was taken as "latest" by the offsets lookup
        refused(BasaltCli.USAGE, "is before 1970-01-01T00:00:00Z", "--topic", "t", "--to-datetime", "1969-12-31T23:59:59.999Z");
    }

    /** --all-topics: every partition of each topic the group has a committed offset in; deleted topics left out with a warning. */
    @Test
    void allTopics_resetsEveryTopicWithACommittedOffset() {
        topicT();
        cluster.createTopic("u", 2);
        cluster.createTopic("untouched", 1);
        cluster.createTopic("doomed", 1);
        cluster.groups().commit("t", 1, 3);
        cluster.groups().commit("u", 0, 0);
        assertEquals(List.of("t,0,10", "t,1,10", "t,2,10", "u,0,0", "u,1,0"), plan("--all-topics", "--to-latest"));
        cluster.groups().commit("doomed", 0, 0);
        cluster.deleteTopic("doomed");
        CliRunner.Result r = reset("--all-topics", "--shift-by", "-1", "--export");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("t,0,0", "t,1,2", "t,2,0", "u,0,0", "u,1,0"), r.lines());
        assertTrue(r.err().contains("basalt: warning: group g has committed offsets in topics that no longer exist, left out: [doomed]"),
                r.err());
        refused(BasaltCli.USAGE, "--topic and --all-topics exclude each other", "--all-topics", "--topic", "t", "--to-latest");
    }

    @Test
    void allTopics_withNothingCommitted_isAnError() {
        topicT();
        refused(BasaltCli.CLUSTER_ERROR, "group g has no committed offsets: --all-topics selects nothing", "--all-topics",
                "--to-earliest");
        cluster.createTopic("doomed", 1);
        cluster.groups().commit("doomed", 0, 0);
        cluster.deleteTopic("doomed");
        refused(BasaltCli.CLUSTER_ERROR, "none of the topics group g has committed offsets in exists now: [doomed]", "--all-topics",
                "--to-earliest");
    }

    /** --export writes what --from-file reads: a plan saved, then carried out as it was planned. */
    @Test
    void export_thenFromFile_writesThePlannedOffsets(@TempDir Path dir) throws Exception {
        topicT();
        cluster.createTopic("u", 1);
        cli.append("u", 0, 4, 1_000);
        CliRunner.Result dry = reset("--topic", "t:0,2", "--topic", "u", "--to-offset", "3", "--export");
        assertEquals(0, dry.code(), dry.err());
        assertEquals("t,0,3\nt,2,3\nu,0,3\n", dry.out(), "stdout is the CSV only");
        Path csv = dir.resolve("plan.csv");
        Files.writeString(csv, dry.out());
        CliRunner.Result done = reset("--from-file", csv.toString(), "--execute");
        assertEquals(0, done.code(), done.err());
        assertTrue(done.out().startsWith("GROUP"), "the table without --export: " + done.out());
        assertEquals(3L, cluster.groups().committed("t", 0));
        assertEquals(3L, cluster.groups().committed("t", 2));
        assertEquals(3L, cluster.groups().committed("u", 0));
        assertNull(cluster.groups().committed("t", 1), "a partition the file does not name is left as it is");
    }

    @Test
    void fromFile_offsetsOutsideTheLogAreClamped_andSaidSo(@TempDir Path dir) throws Exception {
        topicT();
        cluster.truncateLogStart("t", 1, 5);
        Path csv = dir.resolve("plan.csv");
        Files.writeString(csv, "t,0,99\n\nt,1,2\n t , 2 , 7 \n");
        CliRunner.Result r = reset("--from-file", csv.toString(), "--export");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("t,0,10", "t,1,5", "t,2,7"), r.lines());
        assertTrue(r.err().contains("basalt: note: offsets of --from-file outside the log were moved into it: [t-0 99 -> 10,"
                + " t-1 2 -> 5]"), r.err());
    }

    @Test
    void fromFile_errors(@TempDir Path dir) throws Exception {
        topicT();
        Path csv = dir.resolve("plan.csv");
        String where = csv + ":2";
        Files.writeString(csv, "t,0,1\nt,1\n");
        refused(BasaltCli.USAGE, where + ": expected topic,partition,offset, not 't,1'", "--from-file", csv.toString());
        Files.writeString(csv, "t,0,1\ng,t,1,2\n");
        refused(BasaltCli.USAGE, where + ": expected topic,partition,offset (one group's lines, without the group column",
                "--from-file", csv.toString());
        Files.writeString(csv, "t,0,1\nt,0,2\n");
        refused(BasaltCli.USAGE, where + ": t-0 is given twice", "--from-file", csv.toString());
        Files.writeString(csv, "t,0,1\nt,1,-3\n");
        refused(BasaltCli.USAGE, where + ": offset -3 is below 0", "--from-file", csv.toString());
        Files.writeString(csv, "t,0,1\nt,1,x\n");
        refused(BasaltCli.USAGE, where + ": 'x' is not an offset", "--from-file", csv.toString());
        Files.writeString(csv, "t,0,1\nt,-1,1\n");
        refused(BasaltCli.USAGE, where + ": '-1' is not a partition number", "--from-file", csv.toString());
        Files.writeString(csv, "\n\n");
        refused(BasaltCli.USAGE, "names no partition", "--from-file", csv.toString());
        Files.writeString(csv, "t,0,1\nnope,0,1\n");
        refused(BasaltCli.CLUSTER_ERROR, "topic nope does not exist", "--from-file", csv.toString());
        Files.writeString(csv, "t,5,1\n");
        refused(BasaltCli.CLUSTER_ERROR, "topic t has 3 partitions (0-2): no partition 5 (in --from-file)", "--from-file",
                csv.toString());
        refused(BasaltCli.IO_ERROR, "cannot read --from-file " + dir.resolve("missing.csv") + ": no such file", "--from-file",
                dir.resolve("missing.csv").toString());
        Files.writeString(csv, "t,0,1\n");
        refused(BasaltCli.USAGE, "--from-file names its partitions: it goes without --topic and --all-topics", "--from-file",
                csv.toString(), "--topic", "t");
        refused(BasaltCli.USAGE, "--from-file gives the new offsets: it goes without --to-*", "--from-file", csv.toString(),
                "--to-earliest");
        assertNull(cluster.groups().committed("t", 0));
    }

    @Test
    void fromFile_boundsItsLines(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("big.csv");
        StringBuilder lines = new StringBuilder();
        for (int p = 0; p <= ResetOffsetsSpec.FROM_FILE_LINES_MAX; p++) {
            lines.append("t,").append(p).append(",1\n");
        }
        Files.writeString(csv, lines);
        refused(BasaltCli.USAGE, "has more than " + ResetOffsetsSpec.FROM_FILE_LINES_MAX + " lines", "--from-file", csv.toString());
    }

    /** The coordinator refuses a reset while the group has members: nothing printed as if written; a dry run warns. */
    @Test
    void aGroupWithMembers_isRefusedOnExecute_andWarnedOnADryRun(@TempDir Path dir) throws Exception {
        topicT();
        cluster.groups().commit("t", 0, 7);
        cluster.groups().setMembers(List.of("m1"));
        refused(BasaltCli.CLUSTER_ERROR, "group g has members: stop its consumers before resetting offsets", "--all-topics",
                "--to-earliest", "--execute");
        Path csv = dir.resolve("plan.csv");
        Files.writeString(csv, "t,0,1\n");
        refused(BasaltCli.CLUSTER_ERROR, "has members", "--from-file", csv.toString(), "--execute");
        // Found probing: held only by a static member that left, "stop its consumers" named none running.
        cluster.groups().setMembersLeftStatic(true);
        refused(BasaltCli.CLUSTER_ERROR, "group g has members: static member inst-m1 left and keeps the group until the session"
                + " times out (group.consumer.session.timeout.ms on the brokers, 45 s by default) or the instance rejoins; wait for"
                + " that before resetting offsets", "--all-topics", "--to-earliest", "--execute");
        cluster.groups().setMembersLeftStatic(false);
        assertEquals(7L, cluster.groups().committed("t", 0));
        CliRunner.Result dry = reset("--topic", "t", "--to-current", "--export");
        assertEquals(0, dry.code(), dry.err());
        assertTrue(dry.err().contains("group g has 1 member(s) now: --execute is refused while it has any"), dry.err());
        cluster.groups().setMembers(List.of());
        assertEquals(0, reset("--all-topics", "--to-earliest", "--execute").code());
        assertEquals(0L, cluster.groups().committed("t", 0));
    }

    @Test
    void targetsAndScopes_exactlyOneEach() {
        refused(BasaltCli.USAGE, "--reset-offsets needs --topic, --all-topics or --from-file", "--to-earliest");
        refused(BasaltCli.USAGE, "give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --by-duration,"
                + " --shift-by, --to-current, --from-file", "--topic", "t");
        refused(BasaltCli.USAGE, "give exactly one of", "--topic", "t", "--to-current", "--by-duration", "PT1H");
        refused(BasaltCli.USAGE, "give exactly one of", "--topic", "t", "--to-current", "--to-earliest");
    }

    /** The new options outside --reset-offsets are refused by name, as the others were. */
    @Test
    void resetOptionsElsewhere_areUsageErrors() {
        for (List<String> opt : List.of(List.of("--all-topics"), List.of("--to-current"), List.of("--by-duration", "PT1H"),
                List.of("--from-file", "x.csv"), List.of("--export"))) {
            List<String> args = new java.util.ArrayList<>(List.of("groups", "--describe", "--group", "g"));
            args.addAll(opt);
            CliRunner.Result r = cli.run(args.toArray(new String[0]));
            assertEquals(BasaltCli.USAGE, r.code(), r.err());
            assertTrue(r.err().contains(opt.get(0) + " goes with --reset-offsets"), r.err());
        }
    }

    /** The pure text forms: --topic selections and the CSV round trip. */
    @Test
    void spec_parsesTopicsAndWritesWhatItReads(@TempDir Path dir) throws Exception {
        assertEquals("{a=[], b=[0, 2, 3]}", ResetOffsetsSpec.parseTopics(List.of("a:1", "b:3,0", "a", "b:2")).toString());
        var plan = new java.util.LinkedHashMap<dev.basalt.client.TopicPartition, dev.basalt.client.OffsetAndMetadata>();
        plan.put(new dev.basalt.client.TopicPartition("a.b_c-d", 12), new dev.basalt.client.OffsetAndMetadata(42));
        plan.put(new dev.basalt.client.TopicPartition("x", 0), new dev.basalt.client.OffsetAndMetadata(0));
        Path csv = dir.resolve("p.csv");
        Files.writeString(csv, ResetOffsetsSpec.csv(plan));
        var read = ResetOffsetsSpec.readCsv(csv);
        assertEquals(List.of(42L, 0L), List.copyOf(read.values()));
        assertEquals(List.copyOf(plan.keySet()), List.copyOf(read.keySet()));
    }
}

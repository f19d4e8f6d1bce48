package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Consumer;
import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.harness.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consumer groups through the {@code basalt} CLI against a real node, each command its own JVM:
 * {@code consume --group} commits what it printed, {@code groups --describe} shows the offsets and
 * lag, {@code --reset-offsets} is a dry run unless {@code --execute} and rewinds an empty group
 * (also from a plan it exported to a CSV file, and by a duration back from now), {@code lag}
 * totals it, {@code --delete} removes it; {@code get-offsets} reads the log end, start and the
 * offset of a time.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am -Dtest=GroupsCliE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 *
 * <p>The cases use their own topics and groups on the one node and run side by side: almost all of
 * their time is CLI JVMs starting, one after another.
 */
class GroupsCliE2ETest {
    @TempDir
    static Path dir;
    static NodeProcess node;

    @BeforeAll
    static void start() {
        node = NodeProcess.singleNode(dir, Map.of("offsets.topic.num.partitions", "2")).start(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static CliE2ETest.Result cli(String stdin, String... args) throws Exception {
        return CliE2ETest.cli(node, dir, stdin, args);
    }

    private static CliE2ETest.Result ok(String stdin, String... args) throws Exception {
        CliE2ETest.Result r = cli(stdin, args);
        assertEquals(0, r.exitCode(), List.of(args) + ": " + r.err() + r.out());
        return r;
    }

    private static long column(String out, String header, String row) {
        String[] cols = out.lines().filter(l -> l.startsWith(row)).findFirst().orElseThrow(() -> new AssertionError(out)).trim().split("\\s+");
        List<String> heads = List.of(out.lines().filter(l -> l.startsWith("GROUP")).findFirst().orElseThrow().trim().split("\\s+"));
        return Long.parseLong(cols[heads.indexOf(header)]);
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aPartitionNothingWasPrintedFrom_isCommittedAtItsPosition_notSkippedNextTime() throws Exception {
        ok(null, "topics", "--create", "--topic", "two", "--partitions", "2");
        ok("a0\na1\na2\n", "produce", "--topic", "two", "--partition", "0", "--acks", "all");
        ok("b0\nb1\nb2\n", "produce", "--topic", "two", "--partition", "1", "--acks", "all");
        // Two records from whichever partition answers first; the other partition gets nothing
        // printed (or less than all), yet its place is committed: the next run, which starts at the
        // committed offsets (else "latest"), prints the other four.
        List<String> first = ok(null, "consume", "--topic", "two", "--group", "g2", "--from-beginning", "--max-messages", "2",
                "--timeout-ms", "30000").out().lines().toList();
        List<String> rest = ok(null, "consume", "--topic", "two", "--group", "g2", "--max-messages", "4", "--timeout-ms", "10000")
                .out().lines().toList();
        List<String> all = new java.util.ArrayList<>(first);
        all.addAll(rest);
        assertEquals(List.of("a0", "a1", "a2", "b0", "b1", "b2"), all.stream().sorted().toList(), "first " + first + ", then " + rest);
        assertEquals(0, column(ok(null, "lag", "--group", "g2").out(), "TOTAL-LAG", "g2 "));
    }

    /**
     * A group whose committed offset is outside the log (retention passed it; here, an offset
     * past the end): the reset policy moves the member, and the group's offset moves with it,
     * said on stderr. Found probing a cluster: the committed offset stayed where it was, so the
     * group's lag counted deleted records forever and nothing said why records were skipped.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aCommittedOffsetOutsideTheLog_isMovedWhereTheResetPolicyPutTheMember() throws Exception {
        ok(null, "topics", "--create", "--topic", "gone", "--partitions", "1");
        ok("r0\nr1\nr2\n", "produce", "--topic", "gone", "--acks", "all");
        TopicPartition tp = new TopicPartition("gone", 0);
        try (Consumer<String, String> c = new Consumer<>(Map.of("bootstrap.servers", node.bootstrap(), "group.id", "g-gone"),
                new StringDeserializer(), new StringDeserializer())) {
            c.assign(List.of(tp));
            c.commitSync(Map.of(tp, new OffsetAndMetadata(1_000)));
        }
        CliE2ETest.Result r = ok(null, "consume", "--topic", "gone", "--group", "g-gone", "--timeout-ms", "8000");
        assertEquals("", r.out().strip());
        assertTrue(r.err().contains("committed offset 1000 of gone-0 is outside the log (0..3); auto.offset.reset=latest moved it to 3"),
                r.err());
        assertEquals(3, column(ok(null, "groups", "--describe", "--group", "g-gone").out(), "CURRENT-OFFSET", "g-gone "));
        ok("r3\n", "produce", "--topic", "gone", "--acks", "all");
        assertEquals(List.of("r3"), ok(null, "consume", "--topic", "gone", "--group", "g-gone", "--max-messages", "1",
                "--timeout-ms", "10000").out().lines().toList());
    }

    /**
     * A group member killed with -9 (no exit commit) left nothing committed, and the partitions'
     * next owner started at "latest", skipping every record since (found probing a cluster: about
     * 4,200 records never delivered to the group). It commits what it printed as it goes now.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aKilledMember_hadCommittedWhatItPrinted() throws Exception {
        ok(null, "topics", "--create", "--topic", "kill9", "--partitions", "1");
        ok("k0\nk1\nk2\n", "produce", "--topic", "kill9", "--acks", "all");
        List<String> cmd = CliJvm.command();
        cmd.addAll(List.of("--bootstrap", node.bootstrap(), "consume", "--topic", "kill9", "--group", "g9",
                "--from-beginning", "--consumer-property", "auto.commit.interval.ms=300"));
        Path out = java.nio.file.Files.createTempFile(dir, "kill9", ".txt");
        Process member = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (java.nio.file.Files.readAllLines(out).size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(List.of("k0", "k1", "k2"), java.nio.file.Files.readAllLines(out));
            // A reset while the group has a member is refused before anything is printed as the new offsets.
            CliE2ETest.Result refused = cli(null, "groups", "--reset-offsets",
                    "--group", "g9", "--topic", "kill9", "--to-earliest", "--execute");
            assertEquals(1, refused.exitCode(), refused.err());
            assertEquals("", refused.out(), "nothing printed as if written");
            assertTrue(refused.err().contains("has members"), refused.err());
            // A dry run says so (it used to print the plan as if it could be carried out).
            CliE2ETest.Result dry = ok(null, "groups", "--reset-offsets", "--group", "g9", "--topic", "kill9", "--to-earliest");
            assertTrue(dry.err().contains("group g9 has 1 member(s) now: --execute is refused while it has any"), dry.err());
            // found probing: fixed column widths ran GROUP-INSTANCE-ID into HOST and overflowed CLIENT-ID
            List<String> table = ok(null, "groups", "--describe", "--group", "g9", "--members").out().lines().toList();
            assertEquals(2, table.size(), table.toString());
            java.util.regex.Matcher head = java.util.regex.Pattern.compile("\\S+").matcher(table.get(0));
            while (head.find()) {
                int at = head.start();
                assertTrue(at < table.get(1).length() && table.get(1).charAt(at) != ' ' && (at == 0 || table.get(1).charAt(at - 1) == ' '),
                        "column " + head.group() + " does not line up:\n" + String.join("\n", table));
            }
            Thread.sleep(1_500); // a few commit intervals
        } finally {
            member.destroyForcibly().waitFor(); // SIGKILL: no exit commit
        }
        assertEquals(3, column(ok(null, "groups", "--describe", "--group", "g9").out(), "CURRENT-OFFSET", "g9 "));
    }

    /**
     * The topic of a running {@code consume --group} deleted (found probing a cluster): the commit
     * on giving up its partitions failed with UNKNOWN_TOPIC and the command exited. It says so and
     * goes on, as Kafka's console consumer does, and prints the records of the topic re-created.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void aTopicDeletedUnderARunningGroupConsumer_doesNotEndIt() throws Exception {
        ok(null, "topics", "--create", "--topic", "doomed", "--partitions", "1");
        ok("d0\nd1\n", "produce", "--topic", "doomed", "--acks", "all");
        List<String> cmd = CliJvm.command();
        cmd.addAll(List.of("--bootstrap", node.bootstrap(), "consume", "--topic", "doomed", "--group", "gd", "--from-beginning"));
        Path out = java.nio.file.Files.createTempFile(dir, "doomed", ".txt");
        Path err = java.nio.file.Files.createTempFile(dir, "doomed", ".err");
        Process member = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            awaitLines(out, 2);
            ok(null, "topics", "--delete", "--topic", "doomed");
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!java.nio.file.Files.readString(err).contains("on giving them up") && member.isAlive()
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            String said = java.nio.file.Files.readString(err);
            assertTrue(member.isAlive(), "the consumer exited: " + said);
            assertTrue(said.contains("Could not commit the printed offsets of [doomed-0] on giving them up"), said);
            ok(null, "topics", "--create", "--topic", "doomed", "--partitions", "1");
            ok("r0\n", "produce", "--topic", "doomed", "--acks", "all");
            awaitLines(out, 3);
            assertEquals(List.of("d0", "d1", "r0"), java.nio.file.Files.readAllLines(out), java.nio.file.Files.readString(err));
        } finally {
            member.destroy();
            member.waitFor();
        }
    }

    private static void awaitLines(Path file, int count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (java.nio.file.Files.readAllLines(file).size() < count && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
    }

    /**
     * get-offsets against the node's ListOffsets (log end, log start, the first offset at or after a
     * time, no line for a partition with no record that recent), then a reset planned with
     * --export, saved, and carried out with --from-file; and --by-duration over every topic of the
     * group.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void getOffsets_andAResetExportedToAFileThenCarriedOutFromIt() throws Exception {
        ok(null, "topics", "--create", "--topic", "go", "--partitions", "2");
        ok("a\nb\nc\n", "produce", "--topic", "go", "--partition", "0", "--acks", "all");
        ok("x\n", "produce", "--topic", "go", "--partition", "1", "--acks", "all");
        // each CLI call is a JVM of its own (a second or more): the records before and after differ in time
        String between = java.time.Instant.now().toString();
        ok("d\ne\n", "produce", "--topic", "go", "--partition", "0", "--acks", "all");

        assertEquals(List.of("go:0:5", "go:1:1"), ok(null, "get-offsets", "--topic", "go").out().lines().toList());
        assertEquals(List.of("go:0:0", "go:1:0"), ok(null, "get-offsets", "--topic", "go", "--time", "earliest").out()
                .lines().toList());
        CliE2ETest.Result byTime = ok(null, "get-offsets", "--topic", "go", "--time", between);
        assertEquals(List.of("go:0:3"), byTime.out().lines().toList(), "partition 1 has no record that recent: " + byTime.err());
        assertTrue(byTime.err().contains("in [go-1]: no line printed for it"), byTime.err());
        CliE2ETest.Result unknown = cli(null, "get-offsets", "--topic", "no-such-topic");
        assertEquals(1, unknown.exitCode(), unknown.err());
        assertTrue(unknown.err().contains("topic no-such-topic does not exist"), unknown.err());

        CliE2ETest.Result plan = ok(null, "groups", "--reset-offsets", "--group", "gf", "--topic", "go:0", "--to-datetime", between,
                "--export");
        assertEquals("go,0,3\n", plan.out(), "stdout is the CSV alone: " + plan.err());
        Path csv = java.nio.file.Files.writeString(dir.resolve("gf-plan.csv"), plan.out());
        ok(null, "groups", "--reset-offsets", "--group", "gf", "--from-file", csv.toString(), "--execute");
        assertEquals(3, column(ok(null, "groups", "--describe", "--group", "gf").out(), "CURRENT-OFFSET", "gf "));
        CliE2ETest.Result back = ok(null, "groups", "--reset-offsets", "--group", "gf", "--all-topics", "--by-duration", "PT1H",
                "--execute", "--export");
        assertEquals(List.of("go,0,0", "go,1,0"), back.out().lines().toList(), back.err());
        assertEquals(List.of("a", "b", "c", "d", "e", "x"), ok(null, "consume", "--topic", "go", "--group", "gf", "--max-messages",
                "6", "--timeout-ms", "30000").out().lines().sorted().toList(), "the group starts where the reset put it");
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void consumeDescribeResetLagDelete() throws Exception {
        ok(null, "topics", "--create", "--topic", "gt", "--partitions", "1");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            lines.append("r").append(i).append('\n');
        }
        ok(lines.toString(), "produce", "--topic", "gt", "--acks", "all");

        CliE2ETest.Result first = ok(null, "consume", "--topic", "gt", "--group", "cg", "--from-beginning", "--max-messages", "4",
                "--timeout-ms", "30000");
        assertEquals(List.of("r0", "r1", "r2", "r3"), first.out().lines().toList());
        CliE2ETest.Result next = ok(null, "consume", "--topic", "gt", "--group", "cg", "--max-messages", "3", "--timeout-ms", "30000");
        assertEquals(List.of("r4", "r5", "r6"), next.out().lines().toList(), "continues from the committed offset");

        assertTrue(ok(null, "groups", "--list").out().lines().anyMatch("cg"::equals));
        CliE2ETest.Result described = ok(null, "groups", "--describe", "--group", "cg");
        assertEquals(7, column(described.out(), "CURRENT-OFFSET", "cg "));
        assertEquals(10, column(described.out(), "LOG-END-OFFSET", "cg "));
        assertEquals(3, column(described.out(), "LAG", "cg "));
        String stateTable = ok(null, "groups", "--describe", "--group", "cg", "--state").out();
        assertTrue(stateTable.contains("EMPTY"), stateTable);
        assertEquals(node.nodeId(), column(stateTable, "COORDINATOR", "cg "), "the one node coordinates it: " + stateTable);

        CliE2ETest.Result dry = ok(null, "groups", "--reset-offsets", "--group", "cg", "--topic", "gt", "--shift-by", "-5");
        assertTrue(dry.out().contains("dry run"), dry.out());
        assertEquals(7, column(ok(null, "groups", "--describe", "--group", "cg").out(), "CURRENT-OFFSET", "cg "));
        ok(null, "groups", "--reset-offsets", "--group", "cg", "--topic", "gt", "--to-earliest", "--execute");
        assertEquals(0, column(ok(null, "groups", "--describe", "--group", "cg").out(), "CURRENT-OFFSET", "cg "));
        assertEquals(10, column(ok(null, "lag", "--group", "cg").out(), "TOTAL-LAG", "cg "));

        ok(null, "groups", "--delete", "--group", "cg");
        assertTrue(ok(null, "groups", "--list").out().lines().noneMatch("cg"::equals));
        // An unknown group is named as such (found probing: a bare GROUP_ID_NOT_FOUND, or "describe group").
        CliE2ETest.Result again = cli(null, "groups", "--delete", "--group", "cg");
        assertEquals(1, again.exitCode(), again.err());
        assertTrue(again.err().contains("group cg does not exist: nothing deleted"), again.err());
        CliE2ETest.Result lag = cli(null, "lag", "--group", "cg");
        assertEquals(1, lag.exitCode(), lag.err());
        assertTrue(lag.err().contains("group cg does not exist") && !lag.err().contains("describe group"), lag.err());
        // Resetting an unknown group's offsets creates it (to start its consumers there), and says so.
        CliE2ETest.Result plan = ok(null, "groups", "--reset-offsets", "--group", "fresh", "--topic", "gt", "--to-offset", "6");
        assertTrue(plan.err().contains("group fresh did not exist; --execute creates it with these offsets"), plan.err());
        CliE2ETest.Result shifted = ok(null, "groups", "--reset-offsets", "--group", "fresh", "--topic", "gt", "--shift-by", "3");
        assertEquals(3, column(shifted.out(), "NEW-OFFSET", "fresh "));
        assertTrue(shifted.err().contains("no committed offset for [gt-0]: --shift-by counted from the log start there"),
                shifted.err());
        assertEquals(1, cli(null, "groups", "--describe", "--group", "fresh").exitCode(), "a dry run creates nothing");
        CliE2ETest.Result made = ok(null, "groups", "--reset-offsets", "--group", "fresh", "--topic", "gt", "--to-offset", "6",
                "--execute");
        assertTrue(made.err().contains("group fresh did not exist; it was created with these offsets"), made.err());
        assertEquals(6, column(ok(null, "groups", "--describe", "--group", "fresh").out(), "CURRENT-OFFSET", "fresh "));
        // found probing a cluster: a shift past Long.MAX_VALUE wrapped around and went to the log start
        assertEquals(10, column(ok(null, "groups", "--reset-offsets", "--group", "fresh", "--topic", "gt", "--shift-by",
                String.valueOf(Long.MAX_VALUE)).out(), "NEW-OFFSET", "fresh "));
        assertEquals(0, column(ok(null, "groups", "--reset-offsets", "--group", "fresh", "--topic", "gt", "--shift-by",
                String.valueOf(Long.MIN_VALUE)).out(), "NEW-OFFSET", "fresh "));
    }
}

package dev.basalt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.testkit.FakeCluster;
import dev.basalt.record.Record;
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
 * The CLI against a {@link FakeCluster}: every subcommand's happy path and output, and the
 * error contract (one line on stderr, no stack trace unless --verbose, documented exit codes).
 */
class BasaltCliTest {
    private FakeCluster cluster;

    record Result(int code, String out, String err) {
    }

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(1);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    private Result withInput(String stdin, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (all.stream().noneMatch(a -> a.equals("--bootstrap") || a.equals("--bootstrap-server") || a.equals("-b"))) {
            all.add("--bootstrap");
            all.add(cluster.bootstrap());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = BasaltCli.run(all.toArray(new String[0]), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Result run(String... args) {
        return withInput("", args);
    }

    @Test
    void commandConfig_givesEachClientTheKeysItAccepts_andRefusesKeysNoClientKnows(@org.junit.jupiter.api.io.TempDir
                                                                                     java.nio.file.Path dir) throws Exception {
        cluster.createTopic("cc", 1);
        java.nio.file.Path cfg = dir.resolve("client.properties");
        // client.rack: consumers only; acks: producers only; request.timeout.ms: every client
        java.nio.file.Files.writeString(cfg, "client.rack=r1\nacks=all\nrequest.timeout.ms=20000\n");
        Result e2e = run("--command-config", cfg.toString(), "perf", "e2e", "--topic", "cc", "--records", "5", "--record-size", "16");
        assertEquals(0, e2e.code(), "perf e2e makes an admin client, a producer and a consumer from one file: " + e2e.err());
        assertEquals(0, run("--command-config", cfg.toString(), "topics", "--list").code());
        java.nio.file.Files.writeString(cfg, "client.rack=r1\nno.such.key=1\n");
        Result bad = run("--command-config", cfg.toString(), "topics", "--list");
        assertTrue(bad.code() != 0, bad.out());
        assertTrue(bad.err().contains("unknown configuration key 'no.such.key'") && !bad.err().contains("did you mean"), bad.err());
        // found probing: a misspelt key read "invalid value '1' for configuration ...", as if the key were right
        Result typo = run("consume", "--topic", "cc", "--consumer-property", "fetch.max.byte=1000", "--timeout-ms", "100");
        assertEquals(BasaltCli.USAGE, typo.code(), typo.err());
        assertTrue(typo.err().contains("unknown configuration key 'fetch.max.byte' (did you mean fetch.max.bytes?)"), typo.err());
    }

    /** Found probing: picocli's own parse errors read "basalt: Invalid value ...", not the documented format. */
    @Test
    void aValueThatDoesNotParse_isAUsageError_inTheOneErrorFormat() {
        Result r = run("consume", "--topic", "t", "--max-messages", "99999999999999999999");
        assertEquals(BasaltCli.USAGE, r.code(), r.err());
        assertTrue(r.err().startsWith("basalt: error: ") && r.err().contains("--max-messages")
                && r.err().contains("99999999999999999999"), r.err());
        assertTrue(r.err().contains("Try 'basalt consume --help' for usage."), r.err());
        assertEquals("", r.out());
        Result word = run("topics", "--list", "--partitions", "x");
        assertEquals(BasaltCli.USAGE, word.code());
        assertTrue(word.err().startsWith("basalt: error: Invalid value for option '--partitions': 'x' is not a whole number in range\n"),
                word.err());
    }

    /** Found probing: "Error: Error: ...", "option option", "Unmatched argument at index 0", and a bare `perf` exiting 0. */
    /** Found probing: options without a command exited 0; plain {@code basalt} still prints the usage and exits 0. */
    @Test
    void optionsWithoutACommand_areAUsageError() {
        Result r = run("-b", "127.0.0.1:1");
        assertEquals(BasaltCli.USAGE, r.code(), r.err());
        assertTrue(r.err().startsWith("basalt: error: no command given"), r.err());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int plain = BasaltCli.run(new String[0], new ByteArrayInputStream(new byte[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(0, plain);
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("Usage"), out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void picocliWording_isCleanedUp() {
        Result both = run("topics", "--list", "--describe");
        assertEquals(BasaltCli.USAGE, both.code());
        assertTrue(both.err().startsWith("basalt: error: --list, --describe are mutually exclusive"), both.err());
        Result prop = run("produce", "--topic", "t", "--producer-property", "acks");
        assertEquals(BasaltCli.USAGE, prop.code());
        assertTrue(prop.err().contains("Value for option '--producer-property'"), prop.err());
        Result cmd = run("nope");
        assertEquals(BasaltCli.USAGE, cmd.code());
        assertTrue(cmd.err().startsWith("basalt: error: unknown command 'nope' (commands: "), cmd.err());
        Result perf = run("perf");
        assertEquals(BasaltCli.USAGE, perf.code(), perf.err());
        assertTrue(perf.err().contains("perf needs a measurement: produce, consume or e2e"), perf.err());
    }

    /**
     * Found probing: a usage error found by a command's own checks (--partitions 0, a bad
     * --record-size) had no hint line, where picocli's parse errors had one. Every usage error,
     * whichever path finds it, is the error line and then the hint naming that command's --help.
     */
    @Test
    void everyUsageError_endsWithTheHint_whicheverPathFindsIt() throws Exception {
        java.nio.file.Path cfg = java.nio.file.Files.createTempFile("basalt-cli-test", ".properties");
        try {
            java.nio.file.Files.writeString(cfg, "no.such.key=1\n");
            List<List<String>> cases = List.of(
                    List.of("basalt topics", "topics", "--list", "--partitions", "x"), // picocli: bad value
                    List.of("basalt consume", "consume", "--topic", "t", "--bogus"), // picocli: unknown option
                    List.of("basalt topics", "topics", "--create", "--topic", "t", "--partitions", "0"), // command code
                    List.of("basalt topics", "topics", "--alter", "--topic", "t"), // command code
                    List.of("basalt perf produce", "perf", "produce", "--topic", "t", "--records", "1", "--record-size", "-1"),
                    List.of("basalt delete-records", "delete-records", "--topic", "t"), // command code
                    List.of("basalt consume", "consume", "--topic", "t", "--consumer-property", "fetch.max.byte=1"), // client config
                    List.of("basalt topics", "--command-config", cfg.toString(), "topics", "--list"), // --command-config
                    List.of("basalt perf", "perf"), // a ParameterException thrown by a command
                    List.of("basalt", "-b", cluster.bootstrap())); // no command
            for (List<String> c : cases) {
                Result r = run(c.subList(1, c.size()).toArray(new String[0]));
                assertEquals(BasaltCli.USAGE, r.code(), c + ": " + r.err());
                List<String> lines = r.err().lines().toList();
                assertEquals(2, lines.size(), c + ": " + r.err());
                assertTrue(lines.get(0).startsWith("basalt: error: "), c + ": " + r.err());
                assertEquals("Try '" + c.get(0) + " --help' for usage.", lines.get(1), c + ": " + r.err());
            }
        } finally {
            java.nio.file.Files.deleteIfExists(cfg);
        }
        // not a usage error: no hint
        Result gone = run("topics", "--describe", "--topic", "no-such-topic");
        assertNotEquals(BasaltCli.USAGE, gone.code(), gone.err());
        assertFalse(gone.err().contains("for usage"), gone.err());
    }

    /** Found probing: `leaders --bogus` said only "Missing required option: '--rebalance'". */
    @Test
    void anUnknownOption_isNamed_evenWhenARequiredOneIsMissingToo() {
        Result r = run("leaders", "--bogus");
        assertEquals(BasaltCli.USAGE, r.code(), r.err());
        assertTrue(r.err().startsWith("basalt: error: Unknown option: '--bogus'\n"), r.err());
    }

    @Test
    void topics_createListDescribeAlterDelete() {
        Result r = run("topics", "--create", "--topic", "t", "--partitions", "3", "--config", "cleanup.policy=compact");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Created topic t (3 partitions"), r.out());
        assertEquals("t\n", run("topics", "--list").out());
        Result d = run("topics", "--describe", "--topic", "t");
        assertTrue(d.out().contains("PartitionCount: 3"), d.out());
        assertTrue(d.out().contains("Configs: cleanup.policy=compact"), d.out());
        assertTrue(d.out().contains("\tTopic: t\tPartition: 2\tLeader: 1\tLeaderEpoch: 0\tReplicas: 1\tIsr: 1\tElr: \tOffline: \n"), d.out());
        assertEquals(0, run("topics", "--alter", "--topic", "t", "--partitions", "5").code());
        assertTrue(run("topics", "--describe").out().contains("PartitionCount: 5"));
        assertEquals(0, run("topics", "--delete", "--topic", "t").code());
        assertEquals("", run("topics", "--list").out());
    }

    /** Found probing: "retention.ms= 100" was stored as " 100"; configs --add-config already trimmed. */
    @Test
    void topicConfigs_areTrimmed_asConfigsAddConfigDoes() {
        assertEquals(0, run("topics", "--create", "--topic", "w", "--config", " retention.ms= 100 ").code());
        assertTrue(run("topics", "--describe", "--topic", "w").out().contains("Configs: retention.ms=100\n"),
                run("topics", "--describe", "--topic", "w").out());
        assertEquals(0, run("topics", "--alter", "--topic", "w", "--config", "retention.ms =200").code());
        assertTrue(run("topics", "--describe", "--topic", "w").out().contains("Configs: retention.ms=200\n"),
                run("topics", "--describe", "--topic", "w").out());
        // equal once trimmed: refused as a repeat or a conflict, as configs --add-config refuses them (found by review)
        Result twice = run("topics", "--alter", "--topic", "w", "--config", "retention.ms=1", "--config", "retention.ms =2");
        assertEquals(BasaltCli.USAGE, twice.code(), twice.err());
        assertTrue(twice.err().contains("config retention.ms is given twice"), twice.err());
        Result both = run("topics", "--alter", "--topic", "w", "--config", "retention.ms=1", "--delete-config", " retention.ms");
        assertEquals(BasaltCli.USAGE, both.code(), both.err());
        assertTrue(both.err().contains("both set"), both.err());
    }

    @Test
    void produceThenConsume_fromBeginning_withKeys() {
        cluster.createTopic("t", 2);
        Result p = withInput("a:1\nb:2\nc:3\n", "produce", "--topic", "t", "--key-separator", ":", "--acks", "1");
        assertEquals(0, p.code(), p.err());
        int stored = cluster.records("t", 0).size() + cluster.records("t", 1).size();
        assertEquals(3, stored);
        Result c = run("consume", "--topic", "t", "--from-beginning", "--max-messages", "3", "--print-key");
        assertEquals(0, c.code(), c.err());
        List<String> lines = new ArrayList<>(c.out().lines().toList());
        lines.sort(null);
        assertEquals(List.of("a\t1", "b\t2", "c\t3"), lines);
        assertTrue(c.err().contains("Processed a total of 3 messages"), c.err());
    }

    /** A one-record batch with the given timestamp and timestamp type, as a broker stores it. */
    private static java.nio.ByteBuffer batchAt(long timestamp, dev.basalt.record.TimestampType type, String key, String value) {
        dev.basalt.record.RecordBatchBuilder b = new dev.basalt.record.RecordBatchBuilder(java.nio.ByteBuffer.allocate(256), timestamp)
                .timestampType(type);
        b.tryAppend(timestamp, key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8), List.of());
        return b.build().buffer();
    }

    /** Found probing: Kafka's console consumer prints CreateTime:MS / LogAppendTime:MS; Basalt had no way to show a timestamp. */
    @Test
    void consume_printTimestamp_printsItsTypeAndValueFirst() {
        cluster.createTopic("t", 1);
        cluster.appendBatches("t", 0, batchAt(1_700_000_000_000L, dev.basalt.record.TimestampType.CREATE_TIME, "k1", "v1"));
        cluster.appendBatches("t", 0, batchAt(1_700_000_000_123L, dev.basalt.record.TimestampType.LOG_APPEND_TIME, "k2", "v2"));
        Result c = run("consume", "--topic", "t", "--from-beginning", "--max-messages", "2", "--print-timestamp",
                "--print-partition", "--print-offset", "--print-key");
        assertEquals(0, c.code(), c.err());
        assertEquals(List.of("CreateTime:1700000000000\t0\t0\tk1\tv1", "LogAppendTime:1700000000123\t0\t1\tk2\tv2"),
                c.out().lines().toList());
        Result alone = run("consume", "--topic", "t", "--from-beginning", "--max-messages", "1", "--print-timestamp",
                "--key-separator", "|");
        assertEquals(List.of("CreateTime:1700000000000|v1"), alone.out().lines().toList());
    }

    /** Found probing: a refused batch named its first line, which read as that line being at fault. */
    @Test
    void produce_invalidBatch_saysTheLineNamedMayNotBeTheOneAtFault() {
        cluster.createTopic("t", 1);
        cluster.injectProduceError(dev.basalt.proto.v1.ErrorCode.INVALID_RECORD, 1);
        Result p = withInput("a\nb\nc\n", "produce", "--topic", "t", "--acks", "1", "--linger-ms", "50");
        assertEquals(1, p.code(), p.err());
        assertTrue(p.err().contains("the first record that failed was line 1 (its whole batch was refused: the record at fault"
                + " may be a later line)"), p.err());
    }

    @Test
    void produce_nullMarker_sendsTombstonesAndNullKeys() {
        cluster.createTopic("t", 1);
        Result p = withInput("a:1\na:NULL\nNULL:v\nb:NULLx\n", "produce", "--topic", "t", "--key-separator", ":",
                "--null-marker", "NULL", "--acks", "1");
        assertEquals(0, p.code(), p.err());
        List<dev.basalt.record.Record> rs = cluster.records("t", 0);
        assertEquals(4, rs.size());
        assertTrue(rs.get(1).isTombstone() && "a".equals(new String(rs.get(1).keyBytes(), StandardCharsets.UTF_8)),
                "a value that is exactly the marker is a tombstone");
        assertTrue(!rs.get(2).hasKey() && "v".equals(new String(rs.get(2).valueBytes(), StandardCharsets.UTF_8)), "a null key");
        assertEquals("NULLx", new String(rs.get(3).valueBytes(), StandardCharsets.UTF_8), "only an exact match is null");
        // What consume prints for a null ('null') reads back as null with --null-marker null.
        Result c = run("consume", "--topic", "t", "--from-beginning", "--max-messages", "4", "--print-key");
        assertEquals(List.of("a\t1", "a\tnull", "null\tv", "b\tNULLx"), c.out().lines().toList());
    }

    @Test
    void produce_headersDelimiter_sendsEachLinesHeaders_andNamesAMalformedLine() {
        cluster.createTopic("t", 1);
        Result p = withInput("h1=x,h2=,h3=N|a:1\n|b:2\nh1=y|c:3\nnot-a-header|d:4\ne:5\n", "produce", "--topic", "t",
                "--headers-delimiter", "|", "--key-separator", ":", "--null-marker", "N", "--acks", "1");
        assertEquals(BasaltCli.USAGE, p.code(), p.err());
        assertTrue(p.err().contains("line 4 has a header 'not-a-header' that is not key=value (headers: k=v pairs joined by"
                + " commas); stopped there, 3 line(s) before it were sent"), p.err());
        List<dev.basalt.record.Record> rs = cluster.records("t", 0);
        assertEquals(3, rs.size(), "the lines before the bad one are stored, none after");
        assertEquals(List.of(new dev.basalt.record.Header("h1", "x".getBytes(StandardCharsets.UTF_8)),
                new dev.basalt.record.Header("h2", new byte[0]), new dev.basalt.record.Header("h3", null)), rs.get(0).headers());
        assertEquals(List.of(), rs.get(1).headers());
        Result c = run("consume", "--topic", "t", "--from-beginning", "--max-messages", "3", "--print-key", "--print-headers");
        assertEquals(List.of("a\t1\th1=x,h2=,h3=null", "b\t2\t", "c\t3\th1=y"), c.out().lines().toList());
        // consume's output, headers moved to the front, reads back as it was: nulls included
        Result back = withInput("h1=x,h2=,h3=null|a:1\n", "produce", "--topic", "t", "--headers-delimiter", "|",
                "--key-separator", ":", "--null-marker", "null", "--acks", "1");
        assertEquals(0, back.code(), back.err());
        assertEquals(rs.get(0).headers(), cluster.records("t", 0).get(3).headers());
        Result custom = run("consume", "--topic", "t", "--from-beginning", "--max-messages", "1", "--print-headers",
                "--null-literal", "<null>");
        assertEquals(List.of("1\th1=x,h2=,h3=<null>"), custom.out().lines().toList());
        Result noDelimiter = withInput("a:1\n", "produce", "--topic", "t", "--headers-delimiter", "|", "--key-separator", ":");
        assertEquals(BasaltCli.USAGE, noDelimiter.code());
        assertTrue(noDelimiter.err().contains("line 1 has no headers delimiter '|' (with --headers-delimiter every line must"
                + " contain it; a line without headers starts with it); stopped there, 0 line(s) before it were sent"),
                noDelimiter.err());
        // found probing: the help did not say so
        String help = run("produce", "--help").out().replaceAll("\\s+", " ");
        assertTrue(help.contains("Every line must contain S, even one without headers (it starts with S): the first line"
                + " without it stops the command (exit 2), the lines before it sent."), help);
        assertEquals(BasaltCli.USAGE, run("produce", "--topic", "t", "--headers-delimiter", "").code());
    }

    @Test
    void produce_lineWithoutSeparator_sendsTheLinesBefore_andNamesTheLine() {
        cluster.createTopic("t", 1);
        Result p = withInput("a:1\nb:2\nno separator\nc:3\n", "produce", "--topic", "t", "--key-separator", ":", "--acks", "1");
        assertEquals(BasaltCli.USAGE, p.code(), p.err());
        assertTrue(p.err().contains("line 3 has no key separator ':'; stopped there, 2 line(s) before it were sent: no separator"),
                p.err());
        assertEquals(2, cluster.records("t", 0).size(), "the two lines before the bad one are stored, none after");
    }

    /** Found probing a cluster: the error named neither the line nor what had been sent before it. */
    @Test
    void produce_lineTooLarge_sendsTheLinesBefore_andNamesTheLine() {
        cluster.createTopic("t", 1);
        // 600,000 characters of two bytes each: within the line bound, over max.request.size (1 MiB) as a record
        Result p = withInput("a\nb\n" + "\u00e9".repeat(600_000) + "\nc\n", "produce", "--topic", "t", "--acks", "1");
        assertEquals(BasaltCli.CLUSTER_ERROR, p.code(), p.err());
        assertTrue(p.err().contains("line 3: record of about"), p.err());
        assertTrue(p.err().contains("exceeds max.request.size") && p.err().contains("stopped there, 2 line(s) before it were sent"),
                p.err());
        assertEquals(2, cluster.records("t", 0).size(), "the two lines before the large one are stored, none after");
    }

    /**
     * Found probing: a 200 MB line without a newline was read whole before its size was checked,
     * and the CLI died of OutOfMemoryError with a stack trace. A line is read only up to
     * max.request.size characters.
     */
    @Test
    void produce_lineLongerThanARequest_isRefusedWithoutReadingItWhole() {
        cluster.createTopic("t", 1);
        Result p = withInput("a\n" + "x".repeat(2 * 1024 * 1024) + "\nc\n", "produce", "--topic", "t", "--acks", "1",
                "--producer-property", "max.request.size=65536");
        assertEquals(BasaltCli.CLUSTER_ERROR, p.code(), p.err());
        assertTrue(p.err().contains("line 2: longer than 65536 characters, more than max.request.size (65536 bytes) allows;"
                + " stopped there, 1 line(s) before it were sent"), p.err());
        assertEquals(1, cluster.records("t", 0).size(), "the line before the long one is stored, none after");
    }

    @Test
    void produce_lineReader_endsLinesAsReadLineDoes() throws java.io.IOException {
        ProduceCommand.LineReader in = new ProduceCommand.LineReader(new java.io.BufferedReader(
                new java.io.StringReader("a\r\nb\rc\n\r\n\nlonger\nd")));
        for (String expected : List.of("a", "b", "c", "", "")) {
            assertEquals(expected, in.next(5));
        }
        org.junit.jupiter.api.Assertions.assertSame(ProduceCommand.TOO_LONG, in.next(5), "6 characters");
        ProduceCommand.LineReader endsWithCr = new ProduceCommand.LineReader(new java.io.BufferedReader(new java.io.StringReader("x\r")));
        assertEquals("x", endsWithCr.next(5));
        assertEquals(null, endsWithCr.next(5));
    }

    /**
     * Found probing: --timeout-ms above 30 s was cut at 30 s (the admin client's request timeout
     * stayed at its default, and the controller was given 29 s whatever was asked).
     */
    @Test
    void topicsCreate_givesTheControllerItsTimeout() {
        assertEquals(0, run("topics", "--create", "--topic", "slow", "--partitions", "1", "--timeout-ms", "45000").code());
        int asked = cluster.lastCreateTopicsTimeoutMs();
        assertTrue(asked >= 45_000 && asked <= 47_000, "timeout_ms " + asked + ": --timeout-ms, not the client's 30 s default");
        assertEquals(0, run("topics", "--create", "--topic", "quick", "--partitions", "1", "--timeout-ms", "5000").code());
        asked = cluster.lastCreateTopicsTimeoutMs();
        assertTrue(asked >= 5_000 && asked <= 7_000, "timeout_ms " + asked);
    }

    /** Found probing: topics --list --partitions 3 listed every topic, as if the option had been read. */
    @Test
    void topicsOptionsTheActionDoesNotUse_areRefused_andListFiltersByTopic() {
        cluster.createTopic("orders", 1);
        cluster.createTopic("orders-dlq", 1);
        cluster.createTopic("payments", 1);
        Result r = run("topics", "--list", "--partitions", "3");
        assertEquals(BasaltCli.USAGE, r.code(), r.out());
        assertTrue(r.err().contains("--partitions cannot be used with --list"), r.err());
        Result alter = run("topics", "--alter", "--topic", "orders", "--replication-factor", "3");
        assertEquals(BasaltCli.USAGE, alter.code(), alter.out());
        assertTrue(alter.err().contains("--replication-factor (change replicas with basalt reassign) cannot be used with --alter"),
                alter.err());
        assertEquals(BasaltCli.USAGE, run("topics", "--delete", "--topic", "orders", "--config", "retention.ms=1").code());
        assertEquals(BasaltCli.USAGE, run("topics", "--describe", "--delete-config", "retention.ms").code());
        assertEquals(List.of("orders", "orders-dlq", "payments"), run("topics", "--list").out().lines().toList(), "nothing deleted");

        assertEquals(List.of("orders"), run("topics", "--list", "--topic", "orders").out().lines().toList());
        assertEquals(List.of("orders", "orders-dlq"), run("topics", "--list", "--topic", "orders.*").out().lines().toList());
        assertEquals(List.of(), run("topics", "--list", "--topic", "nope").out().lines().toList());
        Result badRegex = run("topics", "--list", "--topic", "orders[");
        assertEquals(BasaltCli.USAGE, badRegex.code());
        assertTrue(badRegex.err().contains("a name or a regular expression"), badRegex.err());
    }

    /**
     * Found probing: describe --topic 'app.*' failed with UNKNOWN_TOPIC although --list takes a
     * regex (kafka-topics.sh reads --topic as one for --describe, --alter and --delete). A legal
     * name stays exactly that topic: '.' in "app.a" does not match "appXa".
     */
    @Test
    void describeAndDelete_takeARegex_aLegalNameIsThatTopicOnly() {
        cluster.createTopic("app.a", 1);
        cluster.createTopic("appXa", 2);
        cluster.createTopic("app.b", 3);
        cluster.createTopic("other", 1);
        Result d = run("topics", "--describe", "--topic", "app.*");
        assertEquals(0, d.code(), d.err());
        List<String> summaries = d.out().lines().filter(l -> l.startsWith("Topic: ")).map(l -> l.split("\t")[0]).sorted().toList();
        assertEquals(List.of("Topic: app.a", "Topic: app.b", "Topic: appXa"), summaries, d.out());
        Result exact = run("topics", "--describe", "--topic", "app.a");
        assertEquals(List.of("Topic: app.a"), exact.out().lines().filter(l -> l.startsWith("Topic: "))
                .map(l -> l.split("\t")[0]).toList(), exact.out());
        Result missing = run("topics", "--describe", "--topic", "app.c");
        assertEquals(BasaltCli.CLUSTER_ERROR, missing.code());
        assertTrue(missing.err().contains("app.c") && !missing.err().contains("no topic matches"), "a name, as before: " + missing.err());
        Result none = run("topics", "--describe", "--topic", "nope.*");
        assertEquals(BasaltCli.CLUSTER_ERROR, none.code());
        assertTrue(none.err().contains("no topic matches the regular expression 'nope.*'"), none.err());
        Result bad = run("topics", "--describe", "--topic", "app[");
        assertEquals(BasaltCli.USAGE, bad.code());
        assertTrue(bad.err().contains("--topic with --describe is a name or a regular expression"), bad.err());

        Result del = run("topics", "--delete", "--topic", "app\\.[ab]");
        assertEquals(0, del.code(), del.err());
        assertEquals(List.of("Deleted topic app.a.", "Deleted topic app.b."), del.out().lines().sorted().toList());
        assertEquals(List.of("appXa", "other"), run("topics", "--list").out().lines().toList());
        Result delNone = run("topics", "--delete", "--topic", "app\\.[ab]");
        assertEquals(BasaltCli.CLUSTER_ERROR, delNone.code(), "a regex that matches nothing is an error");
        assertTrue(delNone.err().contains("no topic matches the regular expression 'app\\.[ab]'"), delNone.err());
        Result delNoneIfExists = run("topics", "--delete", "--topic", "app\\.[ab]", "--if-exists");
        assertEquals(0, delNoneIfExists.code(), delNoneIfExists.err());
        assertEquals("No topic matches 'app\\.[ab]': nothing deleted (--if-exists).\n", delNoneIfExists.out());
        Result alter = run("topics", "--alter", "--topic", "app.*", "--partitions", "4");
        assertEquals(BasaltCli.USAGE, alter.code());
        assertTrue(alter.err().contains("--alter takes one topic's name, not a regular expression"), alter.err());
        assertEquals(List.of("appXa", "other"), run("topics", "--list").out().lines().toList());
    }

    /** A delete by regex that fails for some topics still says which ones it deleted, and ends with an error. */
    @Test
    void deleteOfARegex_someRefused_namesTheDeletedAndTheRefused() {
        cluster.createTopic("app.a", 1);
        cluster.createTopic("app.b", 1);
        cluster.createTopic("app.c", 1);
        cluster.injectAdminError(dev.basalt.proto.v1.ErrorCode.INVALID_REQUEST, 2, false); // the first two in the request
        Result r = run("topics", "--delete", "--topic", "app\\..");
        assertEquals(BasaltCli.CLUSTER_ERROR, r.code(), r.err());
        List<String> kept = List.of("app.a", "app.b", "app.c").stream().filter(cluster::hasTopic).toList();
        assertEquals(2, kept.size(), "two refused");
        String deleted = List.of("app.a", "app.b", "app.c").stream().filter(n -> !kept.contains(n)).findFirst().orElseThrow();
        assertEquals("Deleted topic " + deleted + ".\n", r.out());
        List<String> errLines = r.err().lines().toList();
        assertEquals(2, errLines.size(), r.err());
        assertTrue(errLines.get(0).startsWith("Not deleted: topic " + kept.get(1) + " (") && errLines.get(0).contains("INVALID_REQUEST"),
                r.err());
        assertTrue(errLines.get(1).startsWith("basalt: error: " + kept.get(0) + ": INVALID_REQUEST"), r.err());
    }

    /**
     * Found probing: --replication-factor 1 on a cluster whose brokers default min.insync.replicas
     * to 2 was created without a word, and every acks=all write to the topic was then refused.
     */
    @Test
    void createBelowTheBrokersMinIsr_warns_andATopicThatMeetsIt_doesNot() {
        cluster.setBrokerDefault("min.insync.replicas", "2");
        Result r = run("topics", "--create", "--topic", "t", "--partitions", "1", "--replication-factor", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("WARNING: min.insync.replicas is 2 (the brokers' default), above the replication factor 1:"
                + " every acks=all write to t is refused (NOT_ENOUGH_REPLICAS)"), r.err());
        Result own = run("topics", "--create", "--topic", "u", "--partitions", "1", "--replication-factor", "1",
                "--config", "min.insync.replicas=1");
        assertEquals("", own.err(), "the topic's own min.insync.replicas is within its factor");
        cluster.setBrokerDefault("min.insync.replicas", "1");
        assertEquals("", run("topics", "--create", "--topic", "v", "--partitions", "1", "--replication-factor", "1").err());
    }

    /**
     * Found probing a cluster: one partition without a leader kept the whole topic unread (0
     * records from a live partition; without --timeout-ms it hung silently), and the error named
     * another partition. The live partitions are read; the leaderless one is named, once.
     */
    @Test
    void consumeOfATopic_readsItsPartitionsWithALeader_andNamesTheOneWithout() {
        cluster.createTopic("t", 3);
        assertEquals(0, withInput("a0\na1\n", "produce", "--topic", "t", "--partition", "0").code());
        assertEquals(0, withInput("c0\n", "produce", "--topic", "t", "--partition", "2").code());
        cluster.moveLeader("t", 1, -1);
        Result c = run("consume", "--topic", "t", "--from-beginning", "--timeout-ms", "3000", "--lookup-timeout-ms", "1000");
        assertEquals(java.util.Set.of("a0", "a1", "c0"), java.util.Set.copyOf(c.out().lines().toList()), c.err());
        assertEquals(BasaltCli.TIMEOUT_OR_UNKNOWN, c.code(), c.err());
        assertTrue(c.err().contains("t-1 was not read"), c.err());
        assertTrue(c.err().contains("warning: t-1 is not being read"), c.err());
        assertFalse(c.err().contains("t-0 was not read") || c.err().contains("t-2 was not read"), c.err());
    }

    /** Found probing a cluster: a partition without a leader, read from "earliest", looked empty (exit 0). */
    @Test
    void consumeFromEarliest_ofAPartitionWithoutLeader_isATimeout_notAnEmptyPartition() {
        cluster.createTopic("t", 2);
        assertEquals(0, withInput("x0\n", "produce", "--topic", "t", "--partition", "1").code());
        cluster.moveLeader("t", 1, -1);
        Result c = run("consume", "--topic", "t", "--partition", "1", "--offset", "earliest", "--timeout-ms", "1500",
                "--consumer-property", "default.api.timeout.ms=1000");
        assertEquals(BasaltCli.TIMEOUT_OR_UNKNOWN, c.code(), c.err());
        assertTrue(c.err().contains("t-1 was not read"), c.err());
        Result other = run("consume", "--topic", "t", "--partition", "0", "--offset", "earliest", "--timeout-ms", "500");
        assertEquals(0, other.code(), "an empty partition with a leader is simply empty: " + other.err());
    }

    @Test
    void consume_partitionAndOffset_andTimeout() {
        cluster.createTopic("t", 1);
        assertEquals(0, withInput("x0\nx1\nx2\nx3\n", "produce", "--topic", "t").code());
        Result c = run("consume", "--topic", "t", "--partition", "0", "--offset", "2", "--timeout-ms", "500", "--print-offset");
        assertEquals(0, c.code(), c.err());
        assertEquals("2\tx2\n3\tx3\n", c.out());
    }

    @Test
    void produce_keepsLineOrderInOnePartition() {
        cluster.createTopic("t", 1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            sb.append("line-").append(i).append('\n');
        }
        assertEquals(0, withInput(sb.toString(), "produce", "--topic", "t").code());
        List<Record> rs = cluster.records("t", 0);
        assertEquals(1000, rs.size());
        for (int i = 0; i < 1000; i++) {
            assertEquals("line-" + i, new String(rs.get(i).valueBytes(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void cluster_showsBrokersAndQuorum() {
        Result r = run("cluster");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Cluster ID: " + cluster.clusterId()), r.out());
        assertTrue(r.out().contains("Controller: 1"));
        assertTrue(r.out().contains("leader"));
    }

    @Test
    void unknownTopic_isOneLineError_exit1() {
        Result r = run("produce", "--topic", "missing", "--timeout-ms", "300");
        assertEquals(BasaltCli.CLUSTER_ERROR, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("basalt: error: "), r.err());
        assertTrue(r.err().contains("missing"));
        Result d = run("topics", "--delete", "--topic", "missing");
        assertEquals(BasaltCli.CLUSTER_ERROR, d.code());
        assertFalse(d.err().contains("\tat "), d.err());
    }

    @Test
    void topicExists_andInvalidConfig_exit1() {
        cluster.createTopic("t", 1);
        assertEquals(BasaltCli.CLUSTER_ERROR, run("topics", "--create", "--topic", "t").code());
        Result r = run("topics", "--create", "--topic", "u", "--config", "retention.ms=soon");
        assertEquals(BasaltCli.CLUSTER_ERROR, r.code());
        assertTrue(r.err().contains("INVALID_CONFIG"), r.err());
    }

    /** kafka-topics.sh's --if-not-exists / --if-exists: a script that makes sure of a topic need not parse an error. */
    @Test
    void ifNotExists_andIfExists_makeTheTopicsStateNoError() {
        cluster.createTopic("t", 2);
        Result again = run("topics", "--create", "--topic", "t", "--partitions", "5", "--if-not-exists");
        assertEquals(0, again.code(), again.err());
        assertEquals("Topic t already exists: nothing created (--if-not-exists).\n", again.out());
        assertTrue(run("topics", "--describe", "--topic", "t").out().contains("PartitionCount: 2"), "left as it was");
        Result fresh = run("topics", "--create", "--topic", "u", "--if-not-exists");
        assertEquals(0, fresh.code(), fresh.err());
        assertTrue(fresh.out().startsWith("Created topic u"), fresh.out());

        Result del = run("topics", "--delete", "--topic", "missing", "--if-exists");
        assertEquals(0, del.code(), del.err());
        assertEquals("Topic missing does not exist: nothing deleted (--if-exists).\n", del.out());
        Result alter = run("topics", "--alter", "--topic", "missing", "--partitions", "3", "--if-exists");
        assertEquals(0, alter.code(), alter.err());
        assertEquals("Topic missing does not exist: nothing altered (--if-exists).\n", alter.out());
        Result alterConfig = run("topics", "--alter", "--topic", "missing", "--config", "retention.ms=1000", "--if-exists");
        assertEquals(0, alterConfig.code(), alterConfig.err());
        Result delExisting = run("topics", "--delete", "--topic", "u", "--if-exists");
        assertEquals(0, delExisting.code(), delExisting.err());
        assertEquals("Deleted topic u.\n", delExisting.out());
        assertFalse(cluster.hasTopic("u"));
        // without the options, as before
        assertEquals(BasaltCli.CLUSTER_ERROR, run("topics", "--delete", "--topic", "missing").code());
        assertEquals(BasaltCli.CLUSTER_ERROR, run("topics", "--alter", "--topic", "missing", "--partitions", "3").code());
        // each only where it means something
        Result wrong = run("topics", "--create", "--topic", "v", "--if-exists");
        assertEquals(BasaltCli.USAGE, wrong.code());
        assertTrue(wrong.err().contains("--if-exists (--create takes --if-not-exists) cannot be used with --create"), wrong.err());
        assertEquals(BasaltCli.USAGE, run("topics", "--delete", "--topic", "t", "--if-not-exists").code());
        assertTrue(cluster.hasTopic("t") && !cluster.hasTopic("v"));
    }

    /**
     * Found probing: topics --create --timeout-ms 5000 during a quorum outage said "no answer
     * within 6000 ms" (the CLI waits a second longer than the client's deadline); the message names
     * the timeout given.
     */
    @Test
    void createUnanswered_timesOutNamingTheTimeoutGiven() {
        cluster.holdCreateTopics();
        try {
            Result r = run("topics", "--create", "--topic", "t", "--timeout-ms", "500");
            assertEquals(BasaltCli.TIMEOUT_OR_UNKNOWN, r.code(), r.err());
            assertTrue(r.err().contains("t: no answer within 500 ms (--timeout-ms); the change may still be applied"), r.err());
            assertFalse(r.err().contains("1500"), r.err());
        } finally {
            cluster.releaseCreateTopics();
        }
    }

    @Test
    void usageErrors_exit2() {
        assertEquals(BasaltCli.USAGE, run("topics").code());
        assertEquals(BasaltCli.USAGE, run("topics", "--list", "--delete").code());
        assertEquals(BasaltCli.USAGE, run("topics", "--create").code());
        assertEquals(BasaltCli.USAGE, run("consume", "--topic", "t", "--offset", "3").code());
        // found probing: --offset 5 --from-beginning silently started at 5
        Result offsetAndStart = run("consume", "--topic", "t", "--partition", "0", "--offset", "5", "--from-beginning");
        assertEquals(BasaltCli.USAGE, offsetAndStart.code(), offsetAndStart.err());
        assertTrue(offsetAndStart.err().contains("--offset and --from-beginning exclude each other"), offsetAndStart.err());
        // found probing: these were accepted (a negative count exited 0 at once; a negative offset was written as 0)
        assertEquals(BasaltCli.USAGE, run("consume", "--topic", "t", "--max-messages", "-5").code());
        assertEquals(BasaltCli.USAGE, run("consume", "--topic", "t", "--timeout-ms", "0").code());
        assertEquals(BasaltCli.USAGE, run("groups", "--reset-offsets", "--group", "g", "--topic", "t", "--to-offset", "-5",
                "--execute").code());
        assertEquals(BasaltCli.USAGE, run("nonsense").code());
        // found probing a cluster: the delete won in silence
        Result both = run("topics", "--alter", "--topic", "t", "--config", "retention.ms=1000", "--delete-config", "retention.ms");
        assertEquals(BasaltCli.USAGE, both.code());
        assertTrue(both.err().contains("config retention.ms is both set (--config) and removed (--delete-config)"), both.err());
        assertEquals(BasaltCli.USAGE, run("topics", "--list", "--bootstrap", "no-port").code());
        // found probing a cluster: these exited 1, as if the cluster had refused
        assertEquals(BasaltCli.USAGE, run("consume", "--topic", "t", "--partition", "-1").code());
        assertEquals(BasaltCli.USAGE, run("consume", "--topic", "t", "--group", "").code());
        assertEquals(BasaltCli.USAGE, run("produce", "--topic", "t", "--key-separator", "").code());
        // found probing a cluster: -100 printed a table first, then failed with exit 1; 0 busy-looped
        Result watch = run("lag", "--watch", "--interval-ms", "-100");
        assertEquals(BasaltCli.USAGE, watch.code());
        assertEquals("", watch.out());
        assertEquals(BasaltCli.USAGE, run("lag", "--watch", "--interval-ms", "0").code());
        assertEquals(BasaltCli.USAGE, run("lag", "--watch", "--interval-ms", "99999999999").code());
        assertEquals(BasaltCli.USAGE, run("lag", "--timeout-ms", "0").code());
        Result lone = run("lag", "--interval-ms", "-5"); // found probing: it connected, the option ignored
        assertEquals(BasaltCli.USAGE, lone.code(), lone.err());
        assertTrue(lone.err().contains("--interval-ms goes with --watch"), lone.err());
        // found probing a cluster: an empty group went to the cluster (INVALID_REQUEST, exit 1), and
        // options that do not go together were ignored
        assertEquals(BasaltCli.USAGE, run("lag", "--group", "").code());
        // configs: what is missing or does not go together is a usage error before any request
        assertEquals(BasaltCli.USAGE, run("configs", "--describe", "--entity-type", "brokers").code());
        assertEquals(BasaltCli.USAGE, run("configs", "--alter", "--entity-type", "brokers", "--entity-name", "1").code());
        Result noValue = run("configs", "--alter", "--entity-type", "brokers", "--entity-name", "1", "--add-config", "k");
        assertEquals(BasaltCli.USAGE, noValue.code());
        assertTrue(noValue.err().contains("--add-config takes KEY=VALUE, not 'k'"), noValue.err());
        assertEquals(BasaltCli.USAGE, run("configs", "--describe", "--entity-type", "topics", "--entity-default").code());
        assertEquals(BasaltCli.USAGE, run("configs", "--describe", "--entity-type", "brokers", "--entity-name", "one").code());
        assertEquals(BasaltCli.USAGE, run("configs", "--describe", "--entity-type", "brokers", "--entity-name", "1",
                "--add-config", "a=b").code());
        assertEquals(BasaltCli.USAGE, run("configs", "--alter", "--entity-type", "topics", "--entity-name", "t",
                "--add-config", "a=b", "--delete-config", "a").code());
        assertEquals(BasaltCli.USAGE, run("groups", "--describe", "--group", "").code());
        assertEquals(BasaltCli.USAGE, run("groups", "--describe", "--group", "g", "--members", "--state").code());
        assertEquals(BasaltCli.USAGE, run("groups", "--delete", "--group", "g", "--members").code());
        assertEquals(BasaltCli.USAGE, run("groups", "--list", "--group", "g").code());
        // found probing a cluster: the reset's options were ignored in silence elsewhere
        Result ignored = run("groups", "--describe", "--group", "g", "--to-earliest");
        assertEquals(BasaltCli.USAGE, ignored.code());
        assertTrue(ignored.err().contains("--to-earliest goes with --reset-offsets"), ignored.err());
        assertEquals(BasaltCli.USAGE, run("groups", "--delete", "--group", "g", "--topic", "t").code());
        assertEquals(BasaltCli.USAGE, run("groups", "--describe", "--group", "g", "--execute").code());
        // found probing: these named the client keys they were mapped to instead of the option
        Result produceTimeout = run("produce", "--topic", "t", "--timeout-ms", "-1");
        assertEquals(BasaltCli.USAGE, produceTimeout.code());
        assertTrue(produceTimeout.err().contains("--timeout-ms"), produceTimeout.err());
        assertTrue(run("topics", "--list", "--timeout-ms", "0").err().contains("--timeout-ms"));
        // found probing a cluster: a huge record size ran out of heap (a stack trace, exit 1); -3 was taken as unlimited
        Result huge = run("perf", "produce", "--topic", "t", "--records", "1", "--record-size", "999999999");
        assertEquals(BasaltCli.USAGE, huge.code(), huge.err());
        assertTrue(huge.err().contains("over max.request.size"), huge.err());
        assertEquals(BasaltCli.USAGE, run("perf", "produce", "--topic", "t", "--records", "1", "--record-size", "10",
                "--throughput", "-3").code());
        // found probing: idempotence with perf's default --acks 1 named acks=1, a value the user never typed
        Result idem = run("perf", "produce", "--topic", "t", "--records", "1", "--record-size", "10",
                "--producer-property", "enable.idempotence=true");
        assertEquals(BasaltCli.USAGE, idem.code(), idem.err());
        assertTrue(idem.err().contains("needs --acks all"), idem.err());
        Result idemAcksAsProperty = run("perf", "produce", "--topic", "t", "--records", "1", "--record-size", "10",
                "--producer-property", "enable.idempotence=true", "--producer-property", "acks=all");
        assertTrue(!idemAcksAsProperty.err().contains("needs --acks all"), "acks=all given as a property: " + idemAcksAsProperty.err());
    }

    /** Found probing a cluster: 0 and -1 created a topic with the broker defaults, exit 0. */
    @Test
    void createWithPartitionsOrReplicationBelowOne_refusedNothingCreated() {
        for (String[] bad : List.of(new String[] {"--partitions", "0"}, new String[] {"--partitions", "-1"},
                new String[] {"--replication-factor", "0"}, new String[] {"--replication-factor", "-1"})) {
            Result r = run("topics", "--create", "--topic", "z", bad[0], bad[1]);
            assertEquals(BasaltCli.USAGE, r.code(), String.join(" ", bad) + ": " + r.err());
            assertTrue(r.err().contains(bad[0] + " must be at least 1"), r.err());
        }
        assertEquals("", run("topics", "--list").out());
        assertThrows(IllegalArgumentException.class, () -> new dev.basalt.client.admin.NewTopic("z", 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new dev.basalt.client.admin.NewTopic("z", 1, -2));
    }

    /** Found probing a cluster: a partition the topic does not have printed "0 messages" and exit 0. */
    @Test
    void consumePartitionTheTopicDoesNotHave_clusterError() {
        cluster.createTopic("t", 3);
        Result r = run("consume", "--topic", "t", "--partition", "7", "--offset", "0", "--timeout-ms", "300");
        assertEquals(BasaltCli.CLUSTER_ERROR, r.code(), r.err());
        assertTrue(r.err().contains("has partitions 0..2, not 7"), r.err());
    }

    /** Found probing: the same mistake exited 2 from produce and 1 from consume; both are the cluster's answer now. */
    @Test
    void producePartitionTheTopicDoesNotHave_clusterError_negativeOne_usage() {
        cluster.createTopic("t", 3);
        Result r = withInput("x\n", "produce", "--topic", "t", "--partition", "7");
        assertEquals(BasaltCli.CLUSTER_ERROR, r.code(), r.err());
        assertTrue(r.err().contains("has partitions 0..2, not 7"), r.err());
        assertEquals(BasaltCli.USAGE, withInput("x\n", "produce", "--topic", "t", "--partition", "-1").code());
    }

    /** Found probing a cluster: an offset past the end silently read from the end instead. */
    @Test
    void consumeFromAnOffsetPastTheEnd_saysWhereItReadsFrom() {
        cluster.createTopic("t", 1);
        assertEquals(0, withInput("a\nb\nc\n", "produce", "--topic", "t", "--acks", "1").code());
        Result r = run("consume", "--topic", "t", "--partition", "0", "--offset", "99", "--timeout-ms", "300");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("Offset 99 is outside t-0's offsets 0..3 (log start..end): reading from the end 3"), r.err());
        Result inside = run("consume", "--topic", "t", "--partition", "0", "--offset", "1", "--max-messages", "2");
        assertEquals(List.of("b", "c"), inside.out().lines().toList());
        assertTrue(!inside.err().contains("is outside"), inside.err());
    }

    @Test
    void cannotConnect_exit3() {
        Result r = run("topics", "--list", "--bootstrap", "127.0.0.1:1", "--timeout-ms", "300");
        assertEquals(BasaltCli.CANNOT_CONNECT, r.code(), r.err());
        assertTrue(r.err().contains("cannot connect"), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }

    @Test
    void verbose_printsStackTrace() {
        Result r = run("topics", "--delete", "--topic", "missing", "--verbose");
        assertEquals(BasaltCli.CLUSTER_ERROR, r.code());
        assertTrue(r.err().contains("\tat "), r.err());
    }

    @Test
    void help_andVersion_exit0() {
        Result r = run("--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Exit codes:"), r.out());
        assertEquals(0, run("--version").code());
        assertEquals(0, run("topics", "--help").code());
    }

    /** Found probing: picocli skips its checks when help is asked for, so a missing command's --help exited 0. */
    @Test
    void helpOfACommandThatDoesNotExist_isAUsageError() {
        Result r = run("config", "--help");
        assertEquals(BasaltCli.USAGE, r.code());
        assertTrue(r.err().contains("unknown command 'config' (commands: topics,"), r.err());
        assertEquals("", r.out());
        assertEquals(BasaltCli.USAGE, run("topics", "nope", "--help").code());
    }

    @Test
    void perfProduce_consume_e2e_report() {
        Result p = run("perf", "produce", "--topic", "perf", "--partitions", "3", "--records", "2000", "--record-size", "100",
                "--acks", "all", "--batch-size", "16384", "--linger-ms", "2");
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("2000 records sent"), p.out());
        assertTrue(p.out().contains("99.9th"), p.out());
        // the producer's own metrics() at the end: every record acknowledged, none failed
        assertTrue(p.out().contains("record-send-total=2000 "), p.out());
        assertTrue(p.out().contains("record-error-total=0 "), p.out());
        long stored = 0;
        for (int i = 0; i < 3; i++) {
            stored += cluster.records("perf", i).size();
            for (var r : cluster.records("perf", i)) {
                // letters, as Kafka's perf tool sends: one line per record when consumed (found probing:
                // random bytes held newlines, and `consume | wc -l` counted twice the records)
                assertTrue(new String(r.valueBytes(), java.nio.charset.StandardCharsets.ISO_8859_1).matches("[A-Z]{100}"));
            }
        }
        assertEquals(2000, stored);
        Result c = run("perf", "consume", "--topic", "perf", "--records", "2000");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("2000 records consumed"), c.out());
        // the consumer's metrics(): it fetched at least every record and caught up
        assertTrue(c.out().contains("Consumer metrics:") && c.out().contains("records-lag-max=0 "), c.out());
        Result e = run("perf", "e2e", "--topic", "perf", "--records", "20", "--record-size", "64");
        assertEquals(0, e.code(), e.err());
        assertTrue(e.out().contains("Percentiles: 50th"), e.out());
        assertTrue(e.out().contains("Producer metrics: record-send-total=20 ") && e.out().contains("Consumer metrics:"), e.out());
        Result w = run("perf", "e2e", "--topic", "perf", "--records", "10", "--warmup-records", "5", "--record-size", "64");
        assertEquals(0, w.code(), w.err());
        // the warm-up's records travel like the others but stay out of the figures
        assertTrue(w.out().contains("Warm-up: 5 records sent and received, not counted"), w.out());
        assertTrue(w.out().contains("10 records received") && w.out().contains("record-send-total=15 "), w.out());
        assertEquals(BasaltCli.USAGE, run("perf", "e2e", "--topic", "perf", "--records", "1", "--warmup-records", "-1").code());
    }

    @Test
    void produce_deliveryTimeoutShorterThanTheRequestTimeout_failsAtTheDeliveryBound() {
        cluster.createTopic("held", 1);
        cluster.holdProduce();
        try {
            long start = System.nanoTime();
            Result r = withInput("x\n", "produce", "--topic", "held", "--delivery-timeout-ms", "1500");
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertNotEquals(0, r.code(), r.out());
            assertTrue(r.err().contains("outcome unknown"), r.err());
            // The request timeout (30 s by default) shrinks to fit the bound instead of outlasting it.
            assertTrue(tookMs < 20_000, "failed after " + tookMs + " ms: " + r.err());
        } finally {
            cluster.releaseProduce();
        }
        assertEquals(BasaltCli.USAGE, withInput("x\n", "produce", "--topic", "held", "--delivery-timeout-ms", "5").code());
    }

    @Test
    void perfConsume_notEnoughRecords_exit4() {
        cluster.createTopic("few", 1);
        assertEquals(0, withInput("a\nb\n", "produce", "--topic", "few").code());
        Result c = run("perf", "consume", "--topic", "few", "--records", "5", "--timeout-ms", "300");
        assertEquals(BasaltCli.TIMEOUT_OR_UNKNOWN, c.code(), c.err());
    }

    /** Found probing a cluster: a group member of a topic that does not exist waited forever, printing nothing. */
    @Test
    void consumeWithAGroup_ofAMissingTopic_failsAfterTheLookupTimeoutNamingIt() {
        Result r = run("consume", "--topic", "nosuch", "--group", "g", "--lookup-timeout-ms", "500");
        assertEquals(BasaltCli.CLUSTER_ERROR, r.code(), r.err());
        assertTrue(r.err().contains("topic nosuch does not exist"), r.err());
    }

    /** A missing topic without --partitions: the producer waited max.block.ms (60 s) before failing. */
    @Test
    void perfProduceAndE2e_missingTopic_failAtOnceNamingIt() {
        for (String cmd : List.of("produce", "e2e")) {
            Result r = run("perf", cmd, "--topic", "nowhere-" + cmd, "--records", "10", "--record-size", "16");
            assertEquals(BasaltCli.CLUSTER_ERROR, r.code(), r.err());
            assertTrue(r.err().contains("topic nowhere-" + cmd + " does not exist") && r.err().contains("--partitions"), r.err());
        }
    }
}

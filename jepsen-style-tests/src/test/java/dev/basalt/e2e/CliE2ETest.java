package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.harness.NodeProcess;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quick start through the {@code basalt} CLI, each command a separate JVM as a user runs it,
 * against a real node: create, describe, produce lines from stdin (with keys), consume them back
 * from the beginning, grow partitions, delete; and errors as one line with a meaningful exit code.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am -Dtest=CliE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 *
 * <p>The two cases use their own topics on the one node and run side by side (their time is CLI
 * JVMs starting).
 */
class CliE2ETest {
    @TempDir
    static Path dir;
    static NodeProcess node;

    record Result(int exitCode, String out, String err) {
    }

    @BeforeAll
    static void start() {
        node = NodeProcess.singleNode(dir, Map.of()).start(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    static Result cli(String stdin, String... args) throws IOException, InterruptedException {
        return cli(node, dir, stdin, args);
    }

    /** Runs one CLI command against {@code node}, its output kept in files under {@code dir}. */
    static Result cli(NodeProcess node, Path dir, String stdin, String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("--bootstrap", node.bootstrap()));
        argv.addAll(List.of(args));
        CliJvm.Launch launch = CliJvm.launch(argv);
        int exit = -1; // reported to the archive whatever happens here, so that a later command can write it
        Path out;
        Path err;
        Process p;
        try {
            out = Files.createTempFile(dir, "out", ".txt");
            err = Files.createTempFile(dir, "err", ".txt");
            p = new ProcessBuilder(launch.argv()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            try (OutputStream in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("CLI " + List.of(args) + " did not finish within 60 s");
            }
            exit = p.exitValue();
        } finally {
            launch.archive().exited(exit);
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void quickStartThroughTheCli() throws Exception {
        Result created = cli(null, "topics", "--create", "--topic", "demo", "--partitions", "3");
        assertEquals(0, created.exitCode(), created.err());

        Result listed = cli(null, "topics", "--list");
        assertTrue(listed.out().lines().anyMatch("demo"::equals), listed.out());

        Result produced = cli("alpha\nbeta\ngamma\ndelta\n", "produce", "--topic", "demo", "--acks", "all");
        assertEquals(0, produced.exitCode(), produced.err());

        Result consumed = cli(null, "consume", "--topic", "demo", "--from-beginning", "--max-messages", "4", "--timeout-ms", "20000");
        assertEquals(0, consumed.exitCode(), consumed.err());
        assertEquals(List.of("alpha", "beta", "delta", "gamma"), consumed.out().lines().sorted().toList());

        Result keyed = cli("user-1:login\nuser-2:login\nuser-1:logout\n", "produce", "--topic", "demo", "--key-separator", ":");
        assertEquals(0, keyed.exitCode(), keyed.err());
        Result withKeys = cli(null, "consume", "--topic", "demo", "--from-beginning", "--max-messages", "7", "--print-key",
                "--timeout-ms", "20000");
        assertEquals(0, withKeys.exitCode(), withKeys.err());
        List<String> user1 = withKeys.out().lines().filter(l -> l.startsWith("user-1")).toList();
        assertEquals(2, user1.size(), withKeys.out());
        assertTrue(user1.get(0).endsWith("login") && user1.get(1).endsWith("logout"), "one key, one partition, in order: " + user1);

        Result described = cli(null, "topics", "--describe", "--topic", "demo");
        assertEquals(0, described.exitCode(), described.err());
        assertTrue(described.out().contains("PartitionCount: 3"), described.out());

        assertEquals(0, cli(null, "topics", "--alter", "--topic", "demo", "--partitions", "5").exitCode());
        assertTrue(cli(null, "topics", "--describe", "--topic", "demo").out().contains("PartitionCount: 5"));

        Result cluster = cli(null, "cluster");
        assertEquals(0, cluster.exitCode(), cluster.err());
        assertTrue(cluster.out().contains("leader 1"), cluster.out());
        // Each broker's own storage: free space, scrubbing (on by default), directory state.
        assertTrue(cluster.out().contains("SCRUB-VERIFIED") && cluster.out().lines().anyMatch(l -> l.startsWith("1 ")
                && l.contains("/s") && l.trim().endsWith("ok")), cluster.out());

        assertEquals(0, cli(null, "topics", "--delete", "--topic", "demo").exitCode());
        assertFalse(cli(null, "topics", "--list").out().lines().anyMatch("demo"::equals));
    }

    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void errorsAreOneLineWithMeaningfulExitCodes() throws Exception {
        Result unknown = cli(null, "topics", "--describe", "--topic", "nope");
        assertEquals(1, unknown.exitCode(), unknown.out() + unknown.err());
        assertEquals(1, unknown.err().strip().lines().count(), "one line, no stack trace: " + unknown.err());

        Result badConfig = cli(null, "topics", "--create", "--topic", "cfg", "--config", "retention.ms=soon");
        assertEquals(1, badConfig.exitCode(), badConfig.err());
        assertTrue(badConfig.err().contains("retention.ms"), badConfig.err());

        Result usage = cli(null, "topics", "--create");
        assertEquals(2, usage.exitCode(), usage.err());

        Path nothing = dir.resolve("nothing-listens");
        Files.createDirectories(nothing);
        List<String> cmd = CliJvm.command();
        cmd.addAll(List.of("--bootstrap", "127.0.0.1:1", "topics", "--list"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));

        // Group commands too: a refused connection is "cannot connect" (exit 3), not a bare gRPC status.
        List<String> groups = new ArrayList<>(cmd.subList(0, cmd.size() - 2));
        groups.addAll(List.of("groups", "--list"));
        Process g = new ProcessBuilder(groups).redirectErrorStream(true).start();
        String gSaid = new String(g.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(g.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, g.exitValue(), gSaid);
        assertTrue(gSaid.contains("cannot connect"), gSaid);

        // A name that does not resolve: gRPC's own warnings (a stack trace per attempt) stay quiet.
        List<String> unresolvable = new ArrayList<>(cmd);
        unresolvable.set(unresolvable.indexOf("127.0.0.1:1"), "nosuchhost.invalid:9400");
        Process q = new ProcessBuilder(unresolvable).redirectErrorStream(true).start();
        String said = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(q.waitFor(60, TimeUnit.SECONDS));
        assertEquals(3, q.exitValue(), said);
        assertEquals(1, said.strip().lines().count(), "one line, no stack traces: " + said);
        assertTrue(said.contains("cannot connect") && said.contains("nosuchhost.invalid"), said);
    }

    /**
     * {@code basalt configs} sets the reassignment catch-up throttle for every broker and for one,
     * the broker's own value wins and describes as such, removing it falls back to the default,
     * a static key is refused, and topics are configured the same way.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void configsCommand_setsAndDescribesBrokerAndTopicConfigs() throws Exception {
        String key = "reassignment.throttle.bytes.per.second";
        String id = Integer.toString(node.nodeId());
        Result def = cli(null, "configs", "--alter", "--entity-type", "brokers", "--entity-default", "--add-config", key + "=5000000");
        assertEquals(0, def.exitCode(), def.err());
        assertEquals("Updated configs of the broker default.\n", def.out());
        Result own = cli(null, "configs", "--alter", "--entity-type", "brokers", "--entity-name", id, "--add-config", key + "=1000000");
        assertEquals(0, own.exitCode(), own.err());

        Result described = cli(null, "configs", "--describe", "--entity-type", "brokers", "--entity-name", id);
        assertEquals("Overrides of broker " + id + ":\n  " + key + "=1000000  (DYNAMIC_BROKER_CONFIG)\n", described.out(), described.err());
        Result ofDefault = cli(null, "configs", "--describe", "--entity-type", "brokers", "--entity-default");
        assertEquals("Overrides of the broker default:\n  " + key + "=5000000  (DYNAMIC_DEFAULT_BROKER_CONFIG)\n", ofDefault.out(),
                ofDefault.err());

        Result removed = cli(null, "configs", "--alter", "--entity-type", "brokers", "--entity-name", id, "--delete-config", key);
        assertEquals(0, removed.exitCode(), removed.err());
        assertEquals("Overrides of broker " + id + ": none.\n",
                cli(null, "configs", "--describe", "--entity-type", "brokers", "--entity-name", id).out());
        Result everything = cli(null, "configs", "--describe", "--all", "--entity-type", "brokers", "--entity-name", id);
        assertTrue(everything.out().contains("  " + key + "=5000000  (DYNAMIC_DEFAULT_BROKER_CONFIG)\n"), everything.out());
        assertTrue(everything.out().contains("  node.id=" + id + "  ("), everything.out());

        Result staticKey = cli(null, "configs", "--alter", "--entity-type", "brokers", "--entity-name", id, "--add-config", "data.dir=/tmp/x");
        assertEquals(1, staticKey.exitCode(), staticKey.err());
        assertTrue(staticKey.err().startsWith("basalt: error: ") && staticKey.err().contains("is static"), staticKey.err());
        Result unknownKey = cli(null, "configs", "--alter", "--entity-type", "brokers", "--entity-name", id, "--add-config", "foo=1");
        assertEquals(1, unknownKey.exitCode(), unknownKey.err());
        assertTrue(unknownKey.err().contains("unknown broker configuration foo"), "not 'is static': " + unknownKey.err());
        Result typo = cli(null, "configs", "--alter", "--entity-type", "brokers", "--entity-name", "99", "--add-config", key + "=1000");
        assertEquals(1, typo.exitCode(), typo.err());
        assertTrue(typo.err().contains("no broker 99 is registered (brokers: " + id + ")"), typo.err());
        Result badValue = cli(null, "configs", "--alter", "--entity-type", "brokers", "--entity-default", "--add-config", key + "=-5");
        assertEquals(1, badValue.exitCode(), badValue.err());
        assertTrue(badValue.err().contains("must be >= 0"), badValue.err());
        assertTrue(badValue.err().startsWith("basalt: error: the broker default: INVALID_CONFIG (the broker default config "),
                "the entity named (it printed an empty name): " + badValue.err());
        assertEquals(0, cli(null, "configs", "--alter", "--entity-type", "brokers", "--entity-default", "--delete-config", key).exitCode());

        assertEquals(0, cli(null, "topics", "--create", "--topic", "cfgt", "--partitions", "1").exitCode());
        Result topic = cli(null, "configs", "--alter", "--entity-type", "topics", "--entity-name", "cfgt", "--add-config",
                "retention.ms=3600000,cleanup.policy=compact");
        assertEquals(0, topic.exitCode(), topic.err());
        assertEquals("Overrides of topic cfgt:\n  cleanup.policy=compact  (TOPIC_CONFIG)\n  retention.ms=3600000  (TOPIC_CONFIG)\n",
                sortedBody(cli(null, "configs", "--describe", "--entity-type", "topics", "--entity-name", "cfgt").out()));

        Result usage = cli(null, "configs", "--describe", "--entity-type", "nodes", "--entity-name", "1");
        assertEquals(2, usage.exitCode(), usage.err());
        assertTrue(usage.err().contains("--entity-type is brokers or topics, not 'nodes'"), usage.err());
    }

    /**
     * kafka-topics.sh and console-consumer habits against a real node: --print-timestamp shows the
     * broker's LogAppendTime for a topic configured so (the producer's CreateTime otherwise),
     * --if-not-exists / --if-exists, and --describe / --delete of a regular expression.
     */
    @Test
    @Execution(ExecutionMode.CONCURRENT)
    void kafkaToolHabits_timestampsIfExistsAndRegexes() throws Exception {
        assertEquals(0, cli(null, "topics", "--create", "--topic", "ts-log", "--partitions", "1", "--config",
                "message.timestamp.type=LogAppendTime").exitCode());
        Result again = cli(null, "topics", "--create", "--topic", "ts-log", "--if-not-exists");
        assertEquals(0, again.exitCode(), again.err());
        assertEquals("Topic ts-log already exists: nothing created (--if-not-exists).\n", again.out());
        assertEquals(0, cli(null, "topics", "--create", "--topic", "ts-create", "--partitions", "1").exitCode());
        long before = System.currentTimeMillis();
        for (String t : List.of("ts-log", "ts-create")) {
            Result produced = cli("k:v\n", "produce", "--topic", t, "--key-separator", ":");
            assertEquals(0, produced.exitCode(), produced.err());
        }
        Result log = cli(null, "consume", "--topic", "ts-log", "--from-beginning", "--max-messages", "1", "--print-timestamp",
                "--print-offset", "--print-key", "--timeout-ms", "20000");
        assertEquals(0, log.exitCode(), log.err());
        assertTrue(log.out().matches("LogAppendTime:\\d+\t0\tk\tv\n"), log.out());
        long stamped = Long.parseLong(log.out().substring("LogAppendTime:".length(), log.out().indexOf('\t')));
        assertTrue(stamped >= before - 60_000 && stamped <= System.currentTimeMillis() + 60_000, "the broker's clock: " + stamped);
        Result create = cli(null, "consume", "--topic", "ts-create", "--from-beginning", "--max-messages", "1", "--print-timestamp",
                "--timeout-ms", "20000");
        assertTrue(create.out().matches("CreateTime:\\d+\tv\n"), create.out());

        Result described = cli(null, "topics", "--describe", "--topic", "ts-.*");
        assertEquals(0, described.exitCode(), described.err());
        assertEquals(List.of("Topic: ts-create", "Topic: ts-log"), described.out().lines().filter(l -> l.startsWith("Topic: "))
                .map(l -> l.split("\t")[0]).sorted().toList(), described.out());
        Result deleted = cli(null, "topics", "--delete", "--topic", "ts-.*");
        assertEquals(0, deleted.exitCode(), deleted.err());
        assertEquals(List.of("Deleted topic ts-create.", "Deleted topic ts-log."), deleted.out().lines().sorted().toList());
        Result none = cli(null, "topics", "--delete", "--topic", "ts-.*");
        assertEquals(1, none.exitCode(), none.out());
        assertTrue(none.err().contains("no topic matches the regular expression 'ts-.*'"), none.err());
        Result ifExists = cli(null, "topics", "--delete", "--topic", "ts-log", "--if-exists");
        assertEquals(0, ifExists.exitCode(), ifExists.err());
    }

    /** The first line, then the others sorted (the order of keys is the server's). */
    private static String sortedBody(String out) {
        List<String> lines = new ArrayList<>(out.lines().toList());
        List<String> body = new ArrayList<>(lines.subList(1, lines.size()));
        java.util.Collections.sort(body);
        return lines.get(0) + "\n" + String.join("\n", body) + "\n";
    }
}

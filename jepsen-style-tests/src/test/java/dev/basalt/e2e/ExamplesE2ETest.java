package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.harness.NodeProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The any-language examples (examples/python, examples/node) against a real node, as a user runs
 * them: records produced by Python are read back by Node and by the Java CLI, in order per
 * partition, with keys and headers intact; records produced by Node are read by Python; two Node
 * group members (examples/node/group-consume.js, GroupService over gRPC) split a topic's
 * partitions and consume every record exactly once across the handoff between them.
 *
 * <p>Needs Debian's python3-grpcio, protobuf-compiler and protobuf-compiler-grpc, and Node.js with
 * examples/node's packages installed (`npm ci` there). {@code .ci/run} installs them and sets
 * BASALT_REQUIRE_EXAMPLES=1, which turns a missing tool into a failure; elsewhere the test is
 * skipped with the list of what is missing. Reproduce: {@code ./mvnw -B -ntp verify -pl
 * jepsen-style-tests -am -Dtest=ExamplesE2ETest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ExamplesE2ETest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final String GROUP_TOPIC = "group-node";
    private static final String MIXED_GROUP_TOPIC = "group-mixed";

    @TempDir
    static Path dir;
    static NodeProcess node;

    @BeforeAll
    static void start() throws Exception {
        List<String> missing = missingTools();
        if (!missing.isEmpty()) {
            String why = "the examples need " + String.join(", ", missing);
            if ("1".equals(System.getenv("BASALT_REQUIRE_EXAMPLES"))) {
                throw new AssertionError(why + " (BASALT_REQUIRE_EXAMPLES=1: .ci/run should have installed them)");
            }
            Assumptions.abort(why + "; install them (see .ci/run) to run this test");
        }
        // heartbeats every 500 ms so that the group example's handoff takes about a second
        node = NodeProcess.singleNode(dir, Map.of("group.consumer.heartbeat.interval.ms", "500", "offsets.topic.num.partitions", "3"))
                .start(Duration.ofSeconds(60));
        try (Admin admin = new Admin(Map.of("bootstrap.servers", node.bootstrap()))) {
            for (String t : List.of("from-python", "from-node")) {
                admin.createTopics(List.of(new NewTopic(t, 3, 1, Map.of())), false).get(t).get(30, TimeUnit.SECONDS);
            }
            for (String t : List.of(GROUP_TOPIC, MIXED_GROUP_TOPIC)) {
                admin.createTopics(List.of(new NewTopic(t, 4, 1, Map.of())), false).get(t).get(30, TimeUnit.SECONDS);
            }
        }
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static List<String> missingTools() {
        List<String> missing = new ArrayList<>();
        if (!Files.isExecutable(PYTHON) || run(List.of(PYTHON.toString(), "-c", "import grpc"), 30).code != 0) {
            missing.add("/usr/bin/python3 with grpc (Debian: python3-grpcio)");
        }
        if (run(List.of("sh", "-c", "command -v protoc && command -v grpc_python_plugin"), 10).code != 0) {
            missing.add("protoc and grpc_python_plugin (Debian: protobuf-compiler protobuf-compiler-grpc)");
        }
        if (run(List.of("sh", "-c", "command -v node"), 10).code != 0) {
            missing.add("node (Debian: nodejs)");
        }
        if (!Files.isDirectory(ROOT.resolve("examples/node/node_modules/@grpc/grpc-js"))) {
            missing.add("examples/node/node_modules (run `npm ci` in examples/node)");
        }
        return missing;
    }

    private record Run(int code, String out, String err) {
    }

    private static Run run(List<String> cmd, int timeoutS) {
        try {
            Path out = Files.createTempFile("basalt-example", ".out");
            Path err = Files.createTempFile("basalt-example", ".err");
            try {
                Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectOutput(out.toFile())
                        .redirectError(err.toFile()).start();
                if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    return new Run(-1, Files.readString(out), Files.readString(err) + "\n(timed out after " + timeoutS + " s)");
                }
                return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            return new Run(-1, "", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Run(-1, "", e.toString());
        }
    }

    private static Run ok(List<String> cmd) {
        Run r = run(cmd, 120);
        assertEquals(0, r.code, cmd + " failed:\n" + r.out + r.err);
        return r;
    }

    private static String address() {
        return "127.0.0.1:" + node.clientPort();
    }

    /** Lines of the producers' output (partition, offset, key, value) grouped by partition, in order. */
    private static Map<Integer, List<String>> byPartition(String out) {
        Map<Integer, List<String>> m = new TreeMap<>();
        for (String line : out.strip().split("\n")) {
            m.computeIfAbsent(Integer.parseInt(line.split("\t")[0]), k -> new ArrayList<>()).add(line);
        }
        return m;
    }

    @Test
    void pythonProducesAndNodeAndTheJavaCliReadItBack() {
        Run produced = ok(List.of(PYTHON.toString(), "examples/python/produce.py", "--address", address(), "--topic", "from-python",
                "--count", "60", "--key-prefix", "user"));
        Map<Integer, List<String>> sent = byPartition(produced.out);
        assertEquals(60, sent.values().stream().mapToInt(List::size).sum());
        for (Map.Entry<Integer, List<String>> e : sent.entrySet()) {
            List<String> expected = new ArrayList<>();
            for (String line : e.getValue()) {
                String seq = line.split("\t")[3].substring("python-".length());
                expected.add(line + "\tsource=python,seq=" + seq);
            }
            Run viaNode = ok(List.of("node", "examples/node/consume.js", "--address", address(), "--topic", "from-python",
                    "--partition", String.valueOf(e.getKey()), "--count", String.valueOf(e.getValue().size())));
            assertEquals(expected, List.of(viaNode.out.strip().split("\n")), "Node read partition " + e.getKey());
            List<String> cliCmd = CliJvm.command();
            cliCmd.addAll(List.of("-b", node.bootstrap(), "consume", "--topic", "from-python", "--partition", String.valueOf(e.getKey()),
                    "--offset", "earliest", "--max-messages", String.valueOf(e.getValue().size()), "--print-partition",
                    "--print-offset", "--print-key", "--print-headers", "--timeout-ms", "30000"));
            Run cli = ok(cliCmd);
            assertEquals(expected, List.of(cli.out.strip().split("\n")), "the Java CLI read partition " + e.getKey());
        }
    }

    @Test
    void nodeProducesAndPythonReadsItBack() {
        Run produced = ok(List.of("node", "examples/node/produce.js", "--address", address(), "--topic", "from-node",
                "--count", "20"));
        Map<Integer, List<String>> sent = byPartition(produced.out);
        assertEquals(1, sent.size(), "keyless records of one request stay in one partition: " + sent.keySet());
        int partition = sent.keySet().iterator().next();
        Run py = ok(List.of(PYTHON.toString(), "examples/python/consume.py", "--address", address(), "--topic", "from-node",
                "--partition", String.valueOf(partition), "--count", "20"));
        List<String> lines = List.of(py.out.strip().split("\n"));
        assertEquals(20, lines.size());
        for (int i = 0; i < 20; i++) {
            assertEquals(partition + "\t" + i + "\t\tnode-" + i + "\tsource=node", lines.get(i));
        }
    }

    /** A running examples/node/group-consume.js: records on stdout, assignment changes on stderr. */
    private static final class GroupMember implements AutoCloseable {
        final String name;
        final Path out;
        final Path err;
        final Process process;

        /** {@code command}: the example to run (Node's or Python's group member); both print the same lines. */
        GroupMember(String name, String group, String topic, List<String> command) throws IOException {
            this.name = name;
            this.out = dir.resolve(name + ".out");
            this.err = dir.resolve(name + ".err");
            List<String> cmd = new ArrayList<>(command);
            cmd.addAll(List.of("--address", address(), "--group", group, "--topic", topic, "--session-timeout-ms", "45000"));
            this.process = new ProcessBuilder(cmd).directory(ROOT.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        }

        /** Record lines printed so far: partition, offset, key, value (headers left out). */
        List<String> records() throws IOException {
            List<String> lines = new ArrayList<>();
            for (String line : Files.readAllLines(out)) {
                String[] f = line.split("\t", -1);
                if (f.length >= 4) {
                    lines.add(String.join("\t", f[0], f[1], f[2], f[3]));
                }
            }
            return lines;
        }

        /** The partitions it owns now, replaying its "# assigned / # revoked / # lost" lines. */
        java.util.Set<Integer> owns() throws IOException {
            java.util.Set<Integer> owned = new java.util.TreeSet<>();
            for (String line : Files.readAllLines(err)) {
                String[] f = line.split(" ", 3);
                if (f.length < 3 || !f[0].equals("#") || !List.of("assigned", "revoked", "lost").contains(f[1])) {
                    continue;
                }
                for (String tp : f[2].split(" ")[0].split(",")) {
                    int p = Integer.parseInt(tp.substring(tp.lastIndexOf('-') + 1));
                    if (f[1].equals("assigned")) {
                        owned.add(p);
                    } else if (f[1].equals("revoked") || f[1].equals("lost")) {
                        owned.remove(p);
                    }
                }
            }
            return owned;
        }

        String log() throws IOException {
            return name + " stderr:\n" + Files.readString(err);
        }

        /** SIGTERM: the member commits, leaves and exits 0. */
        @Override
        public void close() throws IOException {
            try {
                process.destroy();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private interface Check {
        boolean ok() throws IOException;
    }

    private static boolean await(Check c, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (c.ok()) {
                return true;
            }
            Thread.sleep(100);
        }
        return c.ok();
    }

    /** Lines "partition offset key value" the producer example acknowledged. */
    private static List<String> produceKeyed(String topic, String prefix, int count) {
        Run r = ok(List.of("node", "examples/node/produce.js", "--address", address(), "--topic", topic, "--count",
                String.valueOf(count), "--key-prefix", prefix));
        return List.of(r.out.strip().split("\n"));
    }

    private static final List<String> NODE_MEMBER = List.of("node", "examples/node/group-consume.js");

    @Test
    void twoNodeGroupMembersSplitTheTopic_andConsumeEveryRecordOnce() throws Exception {
        splitAndConsumeOnce(GROUP_TOPIC, "node-group", NODE_MEMBER, NODE_MEMBER);
    }

    /** A Python member and a Node member in one group: the protocol is the same from any language. */
    @Test
    void aPythonAndANodeGroupMemberSplitTheTopic_andConsumeEveryRecordOnce() throws Exception {
        splitAndConsumeOnce(MIXED_GROUP_TOPIC, "mixed-group", List.of(PYTHON.toString(), "examples/python/group_consume.py"),
                NODE_MEMBER);
    }

    private void splitAndConsumeOnce(String topic, String group, List<String> first, List<String> second) throws Exception {
        List<String> produced = new ArrayList<>(produceKeyed(topic, "before", 30)); // read by whoever joins first
        GroupMember m1 = new GroupMember(group + "-1", group, topic, first);
        GroupMember m2 = new GroupMember(group + "-2", group, topic, second);
        try {
            boolean split = await(() -> !m1.owns().isEmpty() && !m2.owns().isEmpty() && m1.owns().size() + m2.owns().size() == 4,
                    Duration.ofSeconds(60));
            assertTrue(split, "the two members did not split the 4 partitions: " + m1.owns() + " / " + m2.owns() + "\n" + m1.log()
                    + m2.log());
            java.util.Set<Integer> overlap = new java.util.TreeSet<>(m1.owns());
            overlap.retainAll(m2.owns());
            assertEquals(java.util.Set.of(), overlap, "partitions owned by both members");
            produced.addAll(produceKeyed(topic, "after", 30)); // read by the member that owns each partition now
            boolean all = await(() -> {
                java.util.Set<String> seen = new java.util.HashSet<>(m1.records());
                seen.addAll(m2.records());
                return seen.containsAll(produced);
            }, Duration.ofSeconds(60));
            assertTrue(all, "not every record was consumed:\n" + m1.log() + m2.log());
        } finally {
            m1.close();
            m2.close();
        }
        assertEquals(0, m1.process.exitValue(), m1.log());
        assertEquals(0, m2.process.exitValue(), m2.log());
        List<String> consumed = new ArrayList<>(m1.records());
        consumed.addAll(m2.records());
        assertEquals(new java.util.TreeSet<>(produced), new java.util.TreeSet<>(consumed), "consumed exactly the produced records");
        assertEquals(produced.size(), consumed.size(), "no record consumed twice (the handoff commits before it confirms)");
    }
}

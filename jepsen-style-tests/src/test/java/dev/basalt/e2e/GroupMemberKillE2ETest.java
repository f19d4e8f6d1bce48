package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.Consumer;
import dev.basalt.client.GroupAdmin;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.harness.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a group member: a {@code basalt consume --group} process shares a topic with a consumer
 * of this JVM; after the process is killed its partitions move to the survivor once the member's
 * session times out on the coordinator (not before: the coordinator cannot tell a dead member from
 * a slow one), and only then.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am -Dtest=GroupMemberKillE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class GroupMemberKillE2ETest {
    private static final long SESSION_MS = 4_000;
    @TempDir
    static Path dir;
    static NodeProcess node;

    @BeforeAll
    static void start() throws Exception {
        node = NodeProcess.singleNode(dir, Map.of("group.consumer.session.timeout.ms", String.valueOf(SESSION_MS),
                "group.consumer.heartbeat.interval.ms", "300", "offsets.topic.num.partitions", "2")).start(Duration.ofSeconds(60));
        try (Admin admin = new Admin(Map.of("bootstrap.servers", node.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic("k", 6, 1, Map.of())), false).get("k").get(30, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void killedMembersPartitionsMoveAfterTheSessionTimeout() throws Exception {
        List<String> cmd = CliJvm.command();
        cmd.addAll(List.of("--bootstrap", node.bootstrap(), "consume", "--topic", "k", "--group", "kg", "--consumer-property",
                "session.timeout.ms=" + SESSION_MS));
        Process member = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("member.log").toFile()).start();
        try (GroupAdmin admin = new GroupAdmin(Map.of("bootstrap.servers", node.bootstrap()));
             Consumer<String, String> survivor = new Consumer<>(Map.of("bootstrap.servers", node.bootstrap(), "group.id", "kg",
                     "session.timeout.ms", String.valueOf(SESSION_MS)), new StringDeserializer(), new StringDeserializer())) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && !memberOwnsEverything(admin)) {
                Thread.sleep(100);
            }
            survivor.subscribe(List.of("k"));
            while (System.nanoTime() < deadline && survivor.assignment().size() != 3) {
                survivor.poll(Duration.ofMillis(100));
            }
            assertEquals(3, survivor.assignment().size(), "the two members share the 6 partitions");

            long killedAt = System.nanoTime();
            member.destroyForcibly(); // SIGKILL
            member.waitFor(10, TimeUnit.SECONDS);
            while (System.nanoTime() < deadline && survivor.assignment().size() != 6) {
                survivor.poll(Duration.ofMillis(50));
            }
            long movedMs = (System.nanoTime() - killedAt) / 1_000_000;
            System.out.println("FIGURES member kill -9: partitions moved after " + movedMs + " ms (session timeout " + SESSION_MS + " ms)");
            assertEquals(6, survivor.assignment().size(), "the killed member's partitions moved");
            assertTrue(movedMs >= SESSION_MS - 1_000, "moved after " + movedMs + " ms: before the session could have timed out");
        } finally {
            member.destroyForcibly();
        }
    }

    private static boolean memberOwnsEverything(GroupAdmin admin) {
        try {
            GroupAdmin.GroupDescription d = admin.describeGroup("kg");
            return d.members().size() == 1 && d.members().get(0).assignment().size() == 6;
        } catch (RuntimeException e) {
            return false;
        }
    }
}

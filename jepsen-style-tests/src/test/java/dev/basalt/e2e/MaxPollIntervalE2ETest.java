package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.CommitFailedException;
import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRebalanceListener;
import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.harness.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: {@code max.poll.interval.ms} against a real coordinator. Two members share a 6-partition
 * topic; one stops calling poll. Its heartbeat thread must take it out of the group after
 * max.poll.interval.ms, so the other member gets all 6 partitions within about max.poll.interval.ms
 * plus a heartbeat — long before the session timeout (30 s here, so a move by session expiry
 * cannot pass the test). The slow member's commit is refused (CommitFailedException); its next
 * poll reports its partitions lost (not revoked) and it rejoins, and the two share the partitions
 * again.
 *
 * <p>Method: one node process (NodeProcess), two consumers of this JVM polled by the test thread;
 * "stops polling" is simply not calling poll on one of them. Figures are printed (FIGURES ...).
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am -Dtest=MaxPollIntervalE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class MaxPollIntervalE2ETest {
    private static final int MAX_POLL_INTERVAL_MS = 3_000;
    private static final int SESSION_MS = 30_000;
    private static final int HEARTBEAT_MS = 300;
    @TempDir
    static Path dir;
    static NodeProcess node;

    @BeforeAll
    static void start() throws Exception {
        node = NodeProcess.singleNode(dir, Map.of("group.consumer.session.timeout.ms", String.valueOf(SESSION_MS),
                "group.consumer.heartbeat.interval.ms", String.valueOf(HEARTBEAT_MS), "offsets.topic.num.partitions", "2"))
                .start(Duration.ofSeconds(60));
        try (Admin admin = new Admin(Map.of("bootstrap.servers", node.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic("slow", 6, 1, Map.of())), false).get("slow").get(30, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static Consumer<String, String> member() {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", node.bootstrap());
        cfg.put("group.id", "slow-group");
        cfg.put("session.timeout.ms", SESSION_MS);
        cfg.put("max.poll.interval.ms", MAX_POLL_INTERVAL_MS);
        cfg.put("fetch.max.wait.ms", 50);
        return new Consumer<>(cfg, new StringDeserializer(), new StringDeserializer());
    }

    /** Records the callbacks a member saw: "assigned 3", "lost 3", ... */
    private static ConsumerRebalanceListener recorder(List<String> calls) {
        return new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                calls.add("revoked " + partitions.size());
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                calls.add("assigned " + partitions.size());
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                calls.add("lost " + partitions.size());
            }
        };
    }

    @Test
    void aMemberThatStopsPolling_leaves_othersTakeItsPartitions_andItRejoinsOnItsNextPoll() throws Exception {
        List<String> slowCalls = new CopyOnWriteArrayList<>();
        try (Consumer<String, String> slow = member(); Consumer<String, String> steady = member()) {
            slow.subscribe(List.of("slow"), recorder(slowCalls));
            steady.subscribe(List.of("slow"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long lastSlowPoll = System.nanoTime(); // no later than the start of the slow member's poll timer
            while (System.nanoTime() < deadline && (slow.assignment().size() != 3 || steady.assignment().size() != 3)) {
                lastSlowPoll = System.nanoTime();
                slow.poll(Duration.ofMillis(50));
                steady.poll(Duration.ofMillis(50));
            }
            assertEquals(3, slow.assignment().size(), "the members share the 6 partitions");
            assertEquals(3, steady.assignment().size());
            TopicPartition slowOwned = slow.assignment().iterator().next();
            // Which member joined first decides the callbacks so far ("assigned 3", or "assigned 6"
            // then "revoked 3"); only what comes after the stall is the test's business.
            List<String> beforeStall = List.copyOf(slowCalls);

            long stoppedAt = lastSlowPoll;
            while (System.nanoTime() < deadline && steady.assignment().size() != 6) {
                steady.poll(Duration.ofMillis(50));
            }
            long movedMs = (System.nanoTime() - stoppedAt) / 1_000_000;
            System.out.println("FIGURES max.poll.interval.ms " + MAX_POLL_INTERVAL_MS + " ms: the stalled member's partitions moved"
                    + " after " + movedMs + " ms (heartbeat " + HEARTBEAT_MS + " ms, session " + SESSION_MS + " ms)");
            assertEquals(6, steady.assignment().size(), "the stalled member's partitions moved to the other member");
            assertTrue(movedMs >= MAX_POLL_INTERVAL_MS, "moved after " + movedMs + " ms: before max.poll.interval.ms");
            assertTrue(movedMs < MAX_POLL_INTERVAL_MS + 5_000, "moved after " + movedMs + " ms: not by the poll timer");

            assertThrows(CommitFailedException.class, () -> slow.commitSync(Map.of(slowOwned, new OffsetAndMetadata(0))),
                    "the member that left cannot commit");
            assertEquals(beforeStall, slowCalls, "nothing runs on the application's thread until it polls");

            // the slow member polls again: its partitions are lost, it rejoins, and the group shares again
            while (System.nanoTime() < deadline && (slow.assignment().size() != 3 || steady.assignment().size() != 3)) {
                slow.poll(Duration.ofMillis(50));
                steady.poll(Duration.ofMillis(50));
            }
            assertEquals(3, slow.assignment().size(), "the slow member rejoined: " + slowCalls);
            assertEquals(3, steady.assignment().size());
            assertEquals("lost 3", slowCalls.get(beforeStall.size()), "the partitions were lost, not revoked: " + slowCalls);
            assertEquals("assigned 3", slowCalls.get(slowCalls.size() - 1), slowCalls.toString());
            slow.commitSync(Map.of(slow.assignment().iterator().next(), new OffsetAndMetadata(0))); // a member again
        }
    }
}

package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.CommitFailedException;
import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRebalanceListener;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consumer groups end to end on a real node process, through the public client only.
 *
 * <p>Goal: two members share a topic's partitions without ever owning one at the same time; a
 * member joining takes partitions only after the other revoked (and committed) them, and a member
 * leaving hands its partitions over at once; a clean handoff re-reads nothing committed; a fenced
 * commit is refused. Method: one node (short group session), 6 partitions × 50 records, consumers
 * polled from this thread in turn; ownership is tracked from the rebalance listeners.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am -Dtest=GroupConsumerE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}; the node's log is in the test's temp dir.
 */
class GroupConsumerE2ETest {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final String TOPIC = "orders";
    private static final int PARTITIONS = 6;
    private static final int PER_PARTITION = 50;

    @TempDir
    static Path dir;
    static NodeProcess node;

    @BeforeAll
    static void start() throws Exception {
        node = NodeProcess.singleNode(dir, Map.of("group.consumer.session.timeout.ms", "6000",
                "group.consumer.heartbeat.interval.ms", "200", "offsets.topic.num.partitions", "4")).start(READY_TIMEOUT);
        try (Admin admin = new Admin(Map.of("bootstrap.servers", node.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, 1, Map.of())), false).get(TOPIC).get(30, TimeUnit.SECONDS);
        }
        try (Producer<String, String> p = new Producer<>(Map.of("bootstrap.servers", node.bootstrap(), "acks", "all"),
                new StringSerializer(), new StringSerializer())) {
            List<java.util.concurrent.CompletableFuture<?>> acks = new ArrayList<>();
            for (int part = 0; part < PARTITIONS; part++) {
                for (int i = 0; i < PER_PARTITION; i++) {
                    acks.add(p.send(new ProducerRecord<>(TOPIC, part, null, part + ":" + i)));
                }
            }
            p.flush();
            for (var f : acks) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    /** Ownership as the listeners report it, checked for overlap at every change. */
    static final class Owners {
        final Map<TopicPartition, String> owner = new HashMap<>();

        ConsumerRebalanceListener listenerFor(String name) {
            return new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    partitions.forEach(tp -> owner.remove(tp, name));
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    for (TopicPartition tp : partitions) {
                        String before = owner.putIfAbsent(tp, name);
                        assertTrue(before == null || before.equals(name), tp + " assigned to " + name + " while " + before + " owns it");
                    }
                }
            };
        }
    }

    private static Consumer<String, String> member(String group, String clientId) {
        return new Consumer<>(Map.of("bootstrap.servers", node.bootstrap(), "group.id", group, "client.id", clientId,
                "auto.offset.reset", "earliest", "session.timeout.ms", "6000", "auto.commit.interval.ms", "200"),
                new StringDeserializer(), new StringDeserializer());
    }

    private static void pollInto(Consumer<String, String> c, String name, Map<String, String> consumedBy) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(100))) {
            String before = consumedBy.put(r.value(), name);
            assertTrue(before == null, "record " + r.value() + " consumed by " + before + " and again by " + name);
        }
    }

    @Test
    void twoMembers_shareWithoutOverlap_andHandOverCleanly() throws Exception {
        Owners owners = new Owners();
        Map<String, String> consumedBy = new HashMap<>();
        try (Consumer<String, String> a = member("g1", "a")) {
            a.subscribe(List.of(TOPIC), owners.listenerFor("a"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (a.assignment().size() < PARTITIONS && System.nanoTime() < deadline) {
                pollInto(a, "a", consumedBy);
            }
            assertEquals(PARTITIONS, a.assignment().size());
            // consume about half, then commit
            while (consumedBy.size() < PARTITIONS * PER_PARTITION / 2 && System.nanoTime() < deadline) {
                pollInto(a, "a", consumedBy);
            }
            a.commitSync();
            Consumer<String, String> b = member("g1", "b");
            b.subscribe(List.of(TOPIC), owners.listenerFor("b"));
            while ((a.assignment().size() != PARTITIONS / 2 || b.assignment().size() != PARTITIONS / 2) && System.nanoTime() < deadline) {
                pollInto(a, "a", consumedBy);
                pollInto(b, "b", consumedBy);
            }
            assertEquals(PARTITIONS / 2, a.assignment().size(), "a keeps half");
            assertEquals(PARTITIONS / 2, b.assignment().size(), "b takes half");
            Set<TopicPartition> overlap = new HashSet<>(a.assignment());
            overlap.retainAll(b.assignment());
            assertTrue(overlap.isEmpty(), "overlap " + overlap);

            // a leaves at once (commits first): b takes everything and finishes without re-reading
            a.close();
            while ((consumedBy.size() < PARTITIONS * PER_PARTITION || b.assignment().size() < PARTITIONS)
                    && System.nanoTime() < deadline) {
                pollInto(b, "b", consumedBy);
            }
            assertEquals(PARTITIONS, b.assignment().size());
            for (int i = 0; i < 5; i++) {
                pollInto(b, "b", consumedBy); // nothing committed by a is read again
            }
            assertEquals(PARTITIONS * PER_PARTITION, consumedBy.size(), "every record consumed exactly once");
            b.commitSync();
            Map<TopicPartition, OffsetAndMetadata> committed = b.committed(new HashSet<>(b.assignment()));
            committed.values().forEach(o -> assertEquals(PER_PARTITION, o.offset()));
            b.close();
        }
    }

    @Test
    void aMemberlessCommit_isRefusedWhileTheGroupHasMembers() {
        try (Consumer<String, String> m = member("g2", "m"); Consumer<String, String> loose = member("g2", "loose")) {
            m.subscribe(List.of(TOPIC));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (m.assignment().isEmpty() && System.nanoTime() < deadline) {
                m.poll(Duration.ofMillis(100));
            }
            TopicPartition tp = new TopicPartition(TOPIC, 0);
            loose.assign(List.of(tp));
            assertThrows(CommitFailedException.class, () -> loose.commitSync(Map.of(tp, new OffsetAndMetadata(1))));
        }
    }
}

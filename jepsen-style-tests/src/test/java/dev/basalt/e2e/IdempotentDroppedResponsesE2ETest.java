package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.harness.AckedWrites;
import dev.basalt.harness.NodeProcess;
import dev.basalt.harness.Ports;
import dev.basalt.harness.ResponseDroppingProxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The classic duplicate generator against the idempotent producer (issue 11): answers lost after
 * the broker served the request. A one-node cluster advertises a {@link ResponseDroppingProxy} as
 * its client address; a nemesis repeatedly throws the broker's answers away for a while and then
 * cuts the connections, so the producer sees its calls fail mid-request (indeterminate) and sends
 * batches again that the broker already stored.
 *
 * <p>Claims: no record is stored twice (the broker answers the retries DUPLICATE_SEQUENCE with the
 * original offsets), none is reordered within a partition, and every acknowledged record is at its
 * acknowledged offset. The same fault without idempotence is shown to duplicate, so the test can
 * tell the difference.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify
 * -Dtest=IdempotentDroppedResponsesE2ETest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IdempotentDroppedResponsesE2ETest {
    private static final int PARTITIONS = 2;

    @TempDir
    Path dir;

    private record Outcome(List<String> duplicates, List<String> reordered, List<String> missing, long droppedBytes,
                           String summary, long producerStates) {
    }

    private Outcome run(String topic, boolean idempotent) {
        int proxyPort = Ports.free();
        // the node's own listener stays where the harness probes it; clients are told the proxy's address
        NodeProcess node = NodeProcess.singleNode(dir.resolve(topic), Map.of("advertised.listeners",
                "PLAINTEXT://127.0.0.1:" + proxyPort));
        try (ResponseDroppingProxy proxy = ResponseDroppingProxy.start(proxyPort, node.clientPort());
             NodeProcess started = node.start(Duration.ofSeconds(60))) {
            String bootstrap = "127.0.0.1:" + proxyPort;
            try (Admin admin = new Admin(Map.of("bootstrap.servers", bootstrap))) {
                Admin.getAll(admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, 1, Map.of())), false),
                        Duration.ofSeconds(20));
            }
            AckedWrites w = new AckedWrites(bootstrap, topic, PARTITIONS, "d", Map.of("enable.idempotence", idempotent,
                    "request.timeout.ms", 1_500, "delivery.timeout.ms", 60_000, "linger.ms", 1), 32, 300).start();
            long t0 = System.nanoTime();
            assertTrue(w.awaitAcks(200, t0, Duration.ofSeconds(30)), "no writes before the fault: " + w.summary());
            for (int i = 0; i < 6; i++) {
                proxy.dropResponses(true);
                sleepMs(300);
                proxy.cutConnections();
                proxy.dropResponses(false);
                long healed = System.nanoTime();
                assertTrue(w.awaitAcks(100, healed, Duration.ofSeconds(30)), "round " + i + ": no writes after healing: "
                        + w.summary());
            }
            w.stop(Duration.ofSeconds(60));
            Map<Integer, Map<Long, String>> log = AckedWrites.readAll(bootstrap, topic, PARTITIONS, Duration.ofSeconds(30));
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"idempotentProducerStates\":(\\d+)")
                    .matcher(started.httpGet("/status").body());
            long states = m.find() ? Long.parseLong(m.group(1)) : -1;
            return new Outcome(AckedWrites.duplicates(log), AckedWrites.reordered(log, "d"), AckedWrites.missing(w.acks(), log),
                    proxy.droppedBytes(), w.summary(), states);
        }
    }

    @Test
    void droppedProduceResponses_idempotentProducer_writesEveryRecordOnce_inOrder() {
        Outcome o = run("once", true);
        assertTrue(o.droppedBytes() > 0, "the fault dropped no answer");
        assertTrue(o.missing().isEmpty(), "lost: " + o.missing().subList(0, Math.min(5, o.missing().size())));
        assertTrue(o.duplicates().isEmpty(), "duplicate: " + o.duplicates().size() + ", e.g. "
                + o.duplicates().subList(0, Math.min(5, o.duplicates().size())) + "; " + o.summary());
        assertTrue(o.reordered().isEmpty(), "reordered: " + o.reordered().subList(0, Math.min(5, o.reordered().size())));
        // one producer, remembered by each partition it wrote to (the producer-state size on /status)
        assertTrue(o.producerStates() >= 1 && o.producerStates() <= PARTITIONS, "producer states " + o.producerStates());
    }

    @Test
    void droppedProduceResponses_withoutIdempotence_duplicate_soTheFaultIsReal() {
        Outcome o = run("twice", false);
        assertTrue(o.droppedBytes() > 0, "the fault dropped no answer");
        assertTrue(!o.duplicates().isEmpty(), "without idempotence, lost answers should have produced duplicates; "
                + o.summary());
        assertTrue(o.producerStates() == 0, "no producer state without idempotence: " + o.producerStates());
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

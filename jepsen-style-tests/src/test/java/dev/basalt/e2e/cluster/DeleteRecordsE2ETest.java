package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.Admin;
import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.harness.ReplicaReader;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.DeleteRecordsRequest;
import dev.basalt.proto.v1.DeleteRecordsResponse;
import dev.basalt.proto.v1.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * DeleteRecords (Kafka's kafka-delete-records.sh, KIP-107) on three real nodes: {@code basalt
 * delete-records} moves a partition's start; the answer comes once the in-sync replicas start there
 * too, so after kill -9 of the leader right after it the new leader serves nothing below the offset,
 * and the killed node, back, starts there as well.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify -Dtest=DeleteRecordsE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}; on failure node logs are in target/e2e-logs/.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DeleteRecordsE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "trim";
    private static final int RECORDS = 300;
    private static final long CUT = 120;

    @Test
    void deletedRecordsStayDeletedAfterKill9OfTheLeader() throws Exception {
        start(builder(3));
        // 1 KiB segments: the deletion removes whole segments on every replica, and cuts into one.
        createTopic(TOPIC, 1, 3, Map.of("min.insync.replicas", "2", "segment.bytes", "1024"));
        produce(RECORDS);
        TopicPartition tp = new TopicPartition(TOPIC, 0);

        // An in-sync follower that cannot fetch (SIGSTOP) keeps the deletion from completing: the
        // leader's answer waits for it, and at the timeout says its start moved. Asked of the
        // leader directly (a client's metadata request could meet the stopped broker and use up the
        // timeout). Not the active controller: stopping it would move the controller and fence the
        // stopped broker at once.
        int leader0 = cluster.partition(TOPIC, 0).leader();
        int paused = otherThan(cluster.partition(TOPIC, 0).replicas(), leader0, cluster.activeController(FAILOVER)).orElseThrow();
        io.grpc.ManagedChannel channel = io.grpc.ManagedChannelBuilder.forAddress(cluster.node(leader0).host(),
                cluster.node(leader0).clientPort()).usePlaintext().build();
        try {
            assertEquals(0, deleteAt(channel, 0, 20_000).getLowWatermark(), "offset 0 changes nothing (and connects)");
            cluster.pause(paused);
            long pausedAt = System.nanoTime();
            try {
                DeleteRecordsResponse.Partition r = deleteAt(channel, 50, 1_000);
                if (r.getErrorCode() == ErrorCode.NONE) {
                    // Legitimate only once the stopped broker was fenced (broker.session.timeout.ms 3 s),
                    // which takes it out of the ISR: an answer that did not wait comes in milliseconds.
                    long ms = (System.nanoTime() - pausedAt) / 1_000_000;
                    assertTrue(ms >= 2_500, "answered " + ms + " ms after in-sync follower " + paused + " stopped");
                } else {
                    assertEquals(ErrorCode.REQUEST_TIMED_OUT, r.getErrorCode(), r.getErrorMessage());
                    assertTrue(r.getLogStartMoved(), "the answer says the leader's start moved");
                }
            } finally {
                cluster.resume(paused);
            }
        } finally {
            channel.shutdownNow();
        }

        String[] out = cli(cluster.bootstrap(), "delete-records", "--topic", TOPIC, "--partition", "0", "--offset",
                String.valueOf(CUT));
        assertTrue(out[0].contains("low_watermark: " + CUT), out[0] + out[1]);
        // The answer came once the in-sync replicas started at the offset: kill the leader at once.
        int victim = cluster.partition(TOPIC, 0).leader();
        cluster.kill9(victim);
        int next = cluster.awaitPartition(TOPIC, 0, s -> s.hasLeader() && s.leader() != victim, "a new leader", FAILOVER).leader();
        assertNotEquals(victim, next);

        try (Consumer<String, String> c = consumer()) {
            assertEquals(CUT, c.beginningOffsets(List.of(tp), Duration.ofSeconds(20)).get(tp), "the new leader's log start");
            List<ConsumerRecord<String, String>> read = readAll(c, tp, RECORDS - CUT);
            assertEquals(CUT, read.get(0).offset(), "reading from the beginning starts at the deleted offset");
            for (int i = 0; i < read.size(); i++) {
                assertEquals(CUT + i, read.get(i).offset());
                assertEquals("v" + (CUT + i), read.get(i).value());
            }
        }

        // -1 through the Admin API: every committed record, answered by the new leader.
        try (Admin admin = cluster.admin()) {
            Map<TopicPartition, CompletableFuture<dev.basalt.client.admin.DeletedRecords>> r = admin.deleteRecords(Map.of(tp, -1L));
            assertEquals(RECORDS, r.get(tp).get(30, TimeUnit.SECONDS).lowWatermark(), "-1 deletes below the high watermark");
        }
        cluster.restart(victim, READY);
        cluster.awaitPartition(TOPIC, 0, s -> s.isr().size() == 3, "the returned node back in the ISR", CATCH_UP);
        long deadline = System.nanoTime() + CATCH_UP.toNanos();
        List<Long> starts;
        do {
            starts = new ArrayList<>();
            for (int id : cluster.nodeIds()) {
                try {
                    starts.add(ReplicaReader.read(cluster.node(id), TOPIC, 0).logStartOffset());
                } catch (IllegalStateException movedUnderTheRead) {
                    // the replica's start moved up while the reader walked its log (OFFSET_OUT_OF_RANGE
                    // mid-scan, as a consumer of a log under retention sees): read it again
                    starts.add(-1L);
                }
            }
            if (starts.stream().allMatch(s -> s == RECORDS)) {
                break;
            }
            sleepMs(200);
        } while (System.nanoTime() < deadline);
        assertEquals(List.of((long) RECORDS, (long) RECORDS, (long) RECORDS), starts, "every replica starts at the last deletion");
        // New records continue the offsets.
        produce(1);
    }

    private static DeleteRecordsResponse.Partition deleteAt(io.grpc.ManagedChannel channel, long offset, int timeoutMs) {
        DeleteRecordsResponse resp = AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                .deleteRecords(DeleteRecordsRequest.newBuilder().setTimeoutMs(timeoutMs).addPartitions(DeleteRecordsRequest.Partition
                        .newBuilder().setTopic(TOPIC).setPartition(0).setOffset(offset)).build());
        assertEquals(ErrorCode.NONE, resp.getErrorCode(), resp.getErrorMessage());
        return resp.getPartitions(0);
    }

    private void produce(int count) throws Exception {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", cluster.runningBootstrap());
        cfg.put("acks", "all");
        try (Producer<String, String> p = new Producer<>(cfg, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < count; i++) {
                p.send(new ProducerRecord<>(TOPIC, 0, "k", "v" + i)).get(30, TimeUnit.SECONDS);
            }
        }
    }

    private Consumer<String, String> consumer() {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", cluster.runningBootstrap());
        cfg.put("auto.offset.reset", "earliest");
        return new Consumer<>(cfg, new StringDeserializer(), new StringDeserializer());
    }

    private static List<ConsumerRecord<String, String>> readAll(Consumer<String, String> c, TopicPartition tp, long count) {
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (out.size() < count && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                out.add(r);
            }
        }
        assertEquals(count, out.size(), "records read from the beginning");
        return out;
    }
}

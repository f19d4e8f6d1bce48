package dev.basalt.e2e.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRecordsRequest;
import dev.basalt.proto.v1.FetchRecordsResponse;
import dev.basalt.proto.v1.FetchedRecord;
import dev.basalt.proto.v1.ProduceRecordsRequest;
import dev.basalt.proto.v1.ProduceRecordsResponse;
import dev.basalt.proto.v1.ProducedRecord;
import dev.basalt.proto.v1.RecordServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A thin client talking to one broker that does not lead its partition, on three combined nodes:
 * RecordService forwards every call to the leader, and keeps working through kill -9 of that
 * leader (the gateway retries while leadership moves). Every acknowledged record is then read
 * back, through the same broker, at the offset it was acknowledged with, and no record is in the
 * log twice: each was sent in one call (several callers at once), and the gateway's own resends
 * carry its producer id and sequence, so a leader that already holds a batch does not append it
 * again (a probe saw records written twice before).
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify
 * -Dtest=ThinClientRoutingE2ETest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ThinClientRoutingE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "thin";
    private static final int WRITERS = 8;

    @Test
    void aNonLeaderBrokerServesThinClientsThroughAKillOfTheLeader() throws Exception {
        start(builder(3));
        createTopic(TOPIC, 1, 3, Map.of("min.insync.replicas", "2"));
        int leader = cluster.awaitLeader(TOPIC, 0, FAILOVER);
        int gatewayNode = otherThan(cluster.nodeIds(), leader).orElseThrow();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cluster.node(gatewayNode).clientPort()).usePlaintext().build();
        try {
            RecordServiceGrpc.RecordServiceBlockingStub stub = RecordServiceGrpc.newBlockingStub(ch);
            Map<String, Long> acked = new java.util.concurrent.ConcurrentHashMap<>();
            java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicLong resumedAcks = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.atomic.AtomicBoolean killed = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
            // Several callers at once, as the probe that found gateway retries writing records twice had.
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                String prefix = "w" + w + "-";
                Thread t = new Thread(() -> {
                    int seq = 0;
                    while (running.get()) {
                        String value = prefix + seq++;
                        try {
                            ProduceRecordsResponse r = stub.withDeadlineAfter(20, TimeUnit.SECONDS).produceRecords(
                                    ProduceRecordsRequest.newBuilder().setTopic(TOPIC)
                                            .addRecords(ProducedRecord.newBuilder().setValue(ByteString.copyFromUtf8(value))).build());
                            if (r.getErrorCode() == ErrorCode.NONE && r.getPartitions(0).getErrorCode() == ErrorCode.NONE) {
                                acked.put(value, r.getPartitions(0).getBaseOffset());
                                if (killed.get()) {
                                    resumedAcks.incrementAndGet();
                                }
                            } else {
                                failed.incrementAndGet();
                            }
                        } catch (StatusRuntimeException e) {
                            failed.incrementAndGet();
                        }
                    }
                }, "thin-writer-" + w);
                t.start();
                writers.add(t);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            try {
                while (resumedAcks.get() < 300 && System.nanoTime() < deadline) {
                    if (!killed.get() && acked.size() >= 400) {
                        cluster.kill9(leader);
                        killed.set(true);
                    }
                    sleepMs(20);
                }
            } finally {
                running.set(false);
                for (Thread t : writers) {
                    t.join(30_000);
                }
            }
            assertTrue(killed.get() && resumedAcks.get() >= 300, "thin produce did not resume through broker " + gatewayNode
                    + " after kill -9 of leader " + leader + ": " + acked.size() + " acks, " + failed + " failures");
            int newLeader = cluster.awaitLeader(TOPIC, 0, FAILOVER);
            assertNotEquals(leader, newLeader);

            // Read everything back through the same (non-leader) broker.
            Map<Long, String> log = new HashMap<>();
            Map<String, Integer> copies = new HashMap<>();
            long offset = -2;
            long hw = Long.MAX_VALUE;
            long readDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((offset < 0 || offset < hw) && System.nanoTime() < readDeadline) {
                FetchRecordsResponse f = stub.withDeadlineAfter(20, TimeUnit.SECONDS).fetchRecords(FetchRecordsRequest.newBuilder()
                        .setTopic(TOPIC).setOffset(offset).setMaxRecords(1000).build());
                assertEquals(ErrorCode.NONE, f.getErrorCode(), f.getErrorMessage());
                for (FetchedRecord rec : f.getRecordsList()) {
                    log.put(rec.getOffset(), rec.getValue().toStringUtf8());
                    copies.merge(rec.getValue().toStringUtf8(), 1, Integer::sum);
                }
                hw = f.getHighWatermark();
                offset = f.getNextOffset();
            }
            for (Map.Entry<String, Long> a : acked.entrySet()) {
                assertEquals(a.getKey(), log.get(a.getValue()), "acknowledged " + a.getKey() + " at offset " + a.getValue());
            }
            // Each value was sent in one call only: a second copy is the gateway's own resend appended again.
            List<String> twice = copies.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).sorted().toList();
            System.out.printf("thin routing: %d acks (%d after the kill), %d failed calls, %d records written twice%n",
                    acked.size(), resumedAcks.get(), failed.get(), twice.size());
            assertEquals(List.of(), twice, "records the gateway wrote twice (each was sent in one call)");
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}

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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A thin client talking to one broker that does not lead its partition, on three combined nodes:
 * RecordService forwards every call to the leader, and keeps working through kill -9 of that
 * leader (the gateway retries while leadership moves). Every acknowledged record is then read
 * back, through the same broker, at the offset it was acknowledged with. ProduceRecords is at
 * least once (records.proto): the count of records written twice by the gateway's own retries is
 * reported, and only records the client saw acknowledged are required.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am verify
 * -Dtest=ThinClientRoutingE2ETest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ThinClientRoutingE2ETest extends ClusterTestSupport {
    private static final String TOPIC = "thin";

    @Test
    void aNonLeaderBrokerServesThinClientsThroughAKillOfTheLeader() throws Exception {
        start(builder(3));
        createTopic(TOPIC, 1, 3, Map.of("min.insync.replicas", "2"));
        int leader = cluster.awaitLeader(TOPIC, 0, FAILOVER);
        int gatewayNode = otherThan(cluster.nodeIds(), leader).orElseThrow();
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", cluster.node(gatewayNode).clientPort()).usePlaintext().build();
        try {
            RecordServiceGrpc.RecordServiceBlockingStub stub = RecordServiceGrpc.newBlockingStub(ch);
            Map<String, Long> acked = new LinkedHashMap<>();
            int failed = 0;
            int seq = 0;
            boolean killed = false;
            long resumedAcks = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (resumedAcks < 100 && System.nanoTime() < deadline) {
                String value = "v-" + seq++;
                try {
                    ProduceRecordsResponse r = stub.withDeadlineAfter(20, TimeUnit.SECONDS).produceRecords(
                            ProduceRecordsRequest.newBuilder().setTopic(TOPIC)
                                    .addRecords(ProducedRecord.newBuilder().setValue(ByteString.copyFromUtf8(value))).build());
                    if (r.getErrorCode() == ErrorCode.NONE && r.getPartitions(0).getErrorCode() == ErrorCode.NONE) {
                        acked.put(value, r.getPartitions(0).getBaseOffset());
                        if (killed) {
                            resumedAcks++;
                        }
                    } else {
                        failed++;
                    }
                } catch (StatusRuntimeException e) {
                    failed++;
                }
                if (!killed && acked.size() >= 200) {
                    cluster.kill9(leader);
                    killed = true;
                }
            }
            assertTrue(killed && resumedAcks >= 100, "thin produce did not resume through broker " + gatewayNode
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
            long duplicated = copies.values().stream().filter(n -> n > 1).count();
            System.out.printf("thin routing: %d acks (%d after the kill), %d failed calls, %d records written twice by gateway"
                    + " retries%n", acked.size(), resumedAcks, failed, duplicated);
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}

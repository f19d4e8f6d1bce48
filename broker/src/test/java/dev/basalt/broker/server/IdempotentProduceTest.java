package dev.basalt.broker.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.broker.metadata.MetadataUpdate;
import dev.basalt.broker.purgatory.Purgatory;
import dev.basalt.broker.replica.AlterPartitionSender;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.broker.replica.fetcher.ReplicaClient;
import dev.basalt.broker.testkit.ManualTimer;
import dev.basalt.broker.testkit.UnreachableReplicaClient;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerIdList;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionChangeRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.TopicRecord;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: the produce path of idempotent batches on one broker (issue 11): a retry of a stored batch
 * is answered DUPLICATE_SEQUENCE with its original base offset, with acks=all only once the HW
 * passed it; a gap is OUT_OF_ORDER_SEQUENCE, a stale epoch INVALID_PRODUCER_EPOCH, a payload mixing
 * a retry with a new batch INVALID_REQUEST; none of them writes anything.
 *
 * <p>Method: as {@link ProduceAcksTest}: one {@link ReplicaManager} with fakes, images built from
 * metadata records. Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify
 * -Dtest=IdempotentProduceTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class IdempotentProduceTest {
    private static final UUID TOPIC_ID = new UUID(11, 12);
    private static final TopicPartition TP = new TopicPartition("t", 0);

    @TempDir
    Path dir;
    private LogManager logs;
    private ManualTimer timer;
    private ReplicaManager rm;
    private ProduceHandler produce;
    private MetadataImage image = MetadataImage.EMPTY;
    private final AtomicLong flushedAtAnswer = new AtomicLong(-1);

    @BeforeEach
    void open() {
        logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        timer = new ManualTimer();
        Purgatory<TopicPartition> produceWaiters = new Purgatory<>("produce", timer, 100);
        AlterPartitionSender refuse = r -> CompletableFuture.completedFuture(
                new AlterPartitionSender.Result(ErrorCode.NOT_CONTROLLER, "test", null));
        rm = new ReplicaManager(ReplicaConfig.defaults(1, Map.of()), logs, new Purgatory<>("fetch", timer, 100), produceWaiters,
                refuse, () -> new UUID(1, 1), UnreachableReplicaClient.FACTORY, Clock.systemUTC());
        rm.start();
        produce = new ProduceHandler(rm, produceWaiters, 60_000);
    }

    @AfterEach
    void close() {
        rm.close();
        logs.close();
    }

    private void publish(MetadataRecord... records) {
        MetadataDelta d = new MetadataDelta(image);
        for (MetadataRecord r : records) {
            d.replay(r);
        }
        MetadataImage next = d.apply();
        rm.onMetadataUpdate(new MetadataUpdate(image, next, -1, true));
        image = next;
    }

    private void createTopic(List<Integer> replicas, Map<String, String> configs) {
        List<MetadataRecord> records = new java.util.ArrayList<>();
        for (int id : replicas) {
            records.add(MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder().setBrokerId(id)
                    .setIncarnationId(ProtoIds.toProto(new UUID(id, 1))).setFenced(false)
                    .addEndpoints(BrokerEndpoint.newBuilder().setName("PLAINTEXT").setHost("127.0.0.1").setPort(9400 + id))).build());
        }
        records.add(MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName("t").setTopicId(ProtoIds.toProto(TOPIC_ID))
                .putAllConfigs(configs)).build());
        records.add(MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(TOPIC_ID))
                .setPartition(0).addAllReplicas(replicas).addAllIsr(replicas).setLeader(1).setLeaderEpoch(0).setPartitionEpoch(0)).build());
        publish(records.toArray(new MetadataRecord[0]));
    }

    private static ByteString batch(long pid, int epoch, int seq, int count) {
        ByteBuffer buf = ByteBuffer.allocate(256 + count * 32);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        for (int i = 0; i < count; i++) {
            b.tryAppend(1L, "k".getBytes(), ("v" + (seq + i)).getBytes(), List.of());
        }
        b.producer(pid, (short) epoch, seq);
        return ByteString.copyFrom(b.build().buffer());
    }

    private CompletableFuture<ProduceResponse.PartitionResponse> send(int acks, ByteString records) {
        CompletableFuture<ProduceResponse.PartitionResponse> out = new CompletableFuture<>();
        produce.handle(ProduceRequest.newBuilder().setAcks(acks).setTimeoutMs(30_000).addTopics(ProduceRequest.TopicData.newBuilder()
                .setName("t").addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(0)
                        .setRecords(records))).build(), r -> {
                    // Read on the answering thread, before anyone else can fsync: what was durable then.
                    flushedAtAnswer.set(rm.partition(TP).map(p -> p.log().recoveryPoint()).orElse(-1L));
                    out.complete(r.getTopics(0).getPartitions(0));
                });
        return out;
    }

    @Test
    void retry_isDuplicateSequence_withTheOriginalOffset_andWritesNothing() throws Exception {
        createTopic(List.of(1), Map.of());
        assertEquals(0, send(-1, batch(5, 0, 0, 2)).get(10, TimeUnit.SECONDS).getBaseOffset());
        assertEquals(2, send(-1, batch(5, 0, 2, 3)).get(10, TimeUnit.SECONDS).getBaseOffset());
        ProduceResponse.PartitionResponse dup = send(-1, batch(5, 0, 0, 2)).get(10, TimeUnit.SECONDS);
        assertEquals(ErrorCode.DUPLICATE_SEQUENCE, dup.getErrorCode());
        assertEquals(0, dup.getBaseOffset());
        assertEquals(5, rm.partition(TP).orElseThrow().log().logEndOffset());
    }

    @Test
    void acksAll_duplicateOfAnUncommittedBatch_waitsForTheHighWatermark() throws Exception {
        createTopic(List.of(1, 2), Map.of());
        // acks=1 stores the batch; the follower never fetches, so the HW stays at 0
        assertEquals(ErrorCode.NONE, send(1, batch(5, 0, 0, 1)).get(10, TimeUnit.SECONDS).getErrorCode());
        CompletableFuture<ProduceResponse.PartitionResponse> dup = send(-1, batch(5, 0, 0, 1));
        Thread.sleep(200);
        assertFalse(dup.isDone(), "a duplicate is acknowledged only once the original is committed");
        timer.advance(30_000);
        assertEquals(ErrorCode.REQUEST_TIMED_OUT, dup.get(10, TimeUnit.SECONDS).getErrorCode());
    }

    @Test
    void gap_staleEpoch_andMixedPayload_areRefused_writingNothing() throws Exception {
        createTopic(List.of(1), Map.of());
        send(-1, batch(9, 2, 0, 1)).get(10, TimeUnit.SECONDS);
        assertEquals(ErrorCode.OUT_OF_ORDER_SEQUENCE, send(-1, batch(9, 2, 5, 1)).get(10, TimeUnit.SECONDS).getErrorCode());
        assertEquals(ErrorCode.INVALID_PRODUCER_EPOCH, send(-1, batch(9, 1, 1, 1)).get(10, TimeUnit.SECONDS).getErrorCode());
        ByteString mixed = batch(9, 2, 0, 1).concat(batch(9, 2, 1, 1));
        assertEquals(ErrorCode.INVALID_REQUEST, send(-1, mixed).get(10, TimeUnit.SECONDS).getErrorCode());
        assertEquals(1, rm.partition(TP).orElseThrow().log().logEndOffset());
        assertEquals(ErrorCode.NONE, send(-1, batch(9, 2, 1, 1)).get(10, TimeUnit.SECONDS).getErrorCode());
    }
}

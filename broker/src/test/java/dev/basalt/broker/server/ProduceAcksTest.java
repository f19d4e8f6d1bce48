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
 * Goal: the produce path's acknowledgement rules on one broker. acks=all with durable acks (the
 * default) is answered only after the leader's group-commit fsync covered the batch (issue 9:
 * today's one-node acks=all issued no fsync); acks=1 is answered before any fsync; durable.acks=false
 * answers acks=all from memory; a leadership change while waiting answers NOT_LEADER; the purgatory
 * timeout (a {@link ManualTimer}) answers REQUEST_TIMED_OUT.
 *
 * <p>Method: one {@link ReplicaManager} with fakes (no controller, no peers), images built from
 * metadata records. Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=ProduceAcksTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ProduceAcksTest {
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

    private CompletableFuture<ProduceResponse.PartitionResponse> send(int acks, int timeoutMs) {
        ByteBuffer buf = ByteBuffer.allocate(256);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        b.tryAppend(1L, "k".getBytes(), "v".getBytes(), List.of());
        CompletableFuture<ProduceResponse.PartitionResponse> out = new CompletableFuture<>();
        produce.handle(ProduceRequest.newBuilder().setAcks(acks).setTimeoutMs(timeoutMs).addTopics(ProduceRequest.TopicData.newBuilder()
                .setName("t").addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(0)
                        .setRecords(ByteString.copyFrom(b.build().buffer())))).build(), r -> {
                    // Read on the answering thread, before anyone else can fsync: what was durable then.
                    flushedAtAnswer.set(rm.partition(TP).map(p -> p.log().recoveryPoint()).orElse(-1L));
                    out.complete(r.getTopics(0).getPartitions(0));
                });
        return out;
    }

    /** A broker that stood still longer than its session takes no leader append until the controller has answered it. */
    @Test
    void whileLeadershipIsInDoubt_appendsAreRefusedNotLeader_andNothingIsAppended() throws Exception {
        createTopic(List.of(1), Map.of());
        java.util.concurrent.atomic.AtomicReference<String> doubt = new java.util.concurrent.atomic.AtomicReference<>("stood still");
        produce.leadershipDoubt(doubt::get);
        for (int acks : new int[] {1, -1}) {
            ProduceResponse.PartitionResponse r = send(acks, 30_000).get(10, TimeUnit.SECONDS);
            assertEquals(ErrorCode.NOT_LEADER, r.getErrorCode(), r.getErrorMessage());
            assertTrue(r.getErrorMessage().contains("stood still"), r.getErrorMessage());
        }
        assertEquals(0, rm.partition(TP).orElseThrow().log().logEndOffset(), "nothing appended");
        doubt.set(null);
        ProduceResponse.PartitionResponse ok = send(1, 30_000).get(10, TimeUnit.SECONDS);
        assertEquals(ErrorCode.NONE, ok.getErrorCode(), ok.getErrorMessage());
        assertEquals(0, ok.getBaseOffset());
    }

    @Test
    void acksAll_durable_isAnsweredOnlyAfterTheLeadersFsync() throws Exception {
        createTopic(List.of(1), Map.of());
        CompletableFuture<ProduceResponse.PartitionResponse> f = send(-1, 30_000);
        ProduceResponse.PartitionResponse r = f.get(10, TimeUnit.SECONDS);
        assertEquals(ErrorCode.NONE, r.getErrorCode(), r.getErrorMessage());
        assertTrue(flushedAtAnswer.get() >= 1, "fsynced before the acknowledgement: recovery point at the answer was "
                + flushedAtAnswer.get());
        assertTrue(rm.partition(TP).orElseThrow().highWatermark() >= 1);
    }

    @Test
    void acks1_isAnsweredOnTheRequestThreadWithoutWaitingForAnFsync() {
        createTopic(List.of(1), Map.of());
        CompletableFuture<ProduceResponse.PartitionResponse> f = send(1, 30_000);
        assertTrue(f.isDone(), "answered inside handle(): no wait for the flusher");
        assertEquals(ErrorCode.NONE, f.join().getErrorCode());
    }

    @Test
    void acksAll_nonDurable_isAnsweredFromMemoryAtOnce() {
        createTopic(List.of(1), Map.of("durable.acks", "false"));
        CompletableFuture<ProduceResponse.PartitionResponse> f = send(-1, 30_000);
        assertTrue(f.isDone(), "durable.acks=false: a one-member ISR acknowledges on append");
        assertEquals(ErrorCode.NONE, f.join().getErrorCode());
    }

    /**
     * Found probing: a leader whose segment was cut under it takes its replica offline (closing the
     * log) while appends arrive; those met the closed log and were answered UNKNOWN_SERVER_ERROR,
     * which the client does not retry, and an acks=all producer stopped. Nothing was written, and
     * leadership moves on: NOT_LEADER.
     */
    @Test
    void anAppendToALogTakenOfflineUnderIt_answersNotLeader() throws Exception {
        createTopic(List.of(1), Map.of());
        logs.quarantine(TP, new dev.basalt.log.CorruptLogException(dir.resolve("x.log"), 0, "test"));
        ProduceResponse.PartitionResponse r = send(-1, 30_000).get(10, TimeUnit.SECONDS);
        assertEquals(ErrorCode.NOT_LEADER, r.getErrorCode(), r.toString());
        assertTrue(r.getErrorMessage().contains("taken offline under the append"), r.getErrorMessage());
    }

    /**
     * A log that is offline (a failed fsync, a deleted data directory) refuses the batch before it
     * writes a byte: APPEND_REFUSED, which producers take as "not written", not STORAGE_ERROR,
     * which they must take as "may have been written".
     */
    @Test
    void anAppendToAnOfflineLog_isRefusedBeforeTheWrite_appendRefused() throws Exception {
        createTopic(List.of(1), Map.of());
        logs.get(TP).markOffline("fsync failed (test)");
        ProduceResponse.PartitionResponse r = send(-1, 30_000).get(10, TimeUnit.SECONDS);
        assertEquals(ErrorCode.APPEND_REFUSED, r.getErrorCode(), r.toString());
        assertTrue(r.getErrorMessage().contains("offline"), r.getErrorMessage());
        assertEquals(0, logs.get(TP).logEndOffset(), "nothing was written");
    }

    @Test
    void acksAll_leadershipMovesWhileWaiting_answersNotLeader() throws Exception {
        createTopic(List.of(1, 2), Map.of()); // broker 2 is in the ISR but never fetches
        CompletableFuture<ProduceResponse.PartitionResponse> f = send(-1, 30_000);
        Thread.sleep(50);
        assertFalse(f.isDone(), "waits for follower 2");
        publish(MetadataRecord.newBuilder().setPartitionChange(PartitionChangeRecord.newBuilder().setTopicId(ProtoIds.toProto(TOPIC_ID))
                .setPartition(0).setExpectedPartitionEpoch(0).setLeader(2).setIsr(BrokerIdList.newBuilder().addBrokerIds(2))).build());
        ProduceResponse.PartitionResponse r = f.get(10, TimeUnit.SECONDS);
        assertEquals(ErrorCode.NOT_LEADER, r.getErrorCode());
    }

    @Test
    void acksAll_timeoutOnTheManualTimer_answersRequestTimedOut() throws Exception {
        createTopic(List.of(1, 2), Map.of());
        CompletableFuture<ProduceResponse.PartitionResponse> f = send(-1, 5_000);
        timer.advance(4_999);
        assertFalse(f.isDone());
        timer.advance(1);
        ProduceResponse.PartitionResponse r = f.get(10, TimeUnit.SECONDS);
        assertEquals(ErrorCode.REQUEST_TIMED_OUT, r.getErrorCode());
        assertTrue(r.getErrorMessage().contains("timeout_ms"), r.getErrorMessage());
    }
}

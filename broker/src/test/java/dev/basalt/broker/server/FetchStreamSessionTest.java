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
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.broker.grpc.FetchReply;
import dev.basalt.broker.grpc.StrictRequestParsing;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: FetchStream serves FetchInParts' fetches over one long-lived stream: a fetch that finds
 * nothing parks and is answered when records commit, every part carries the request's
 * correlation id and the last one is marked, the next fetch on the same stream is served, and a
 * half-closed stream completes once its fetch is answered.
 *
 * <p>Method: one {@link ReplicaManager} leading a one-replica partition (its HW moves with the
 * leader's fsync), the stream served in-process by {@link FetchStreamSession} wrapped as
 * ClientServices wraps it; records written through {@link ProduceHandler}. Reproduce: {@code
 * ./mvnw -B -ntp -o -pl broker -am verify -Dtest=FetchStreamSessionTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class FetchStreamSessionTest {
    private static final UUID TOPIC_ID = new UUID(31, 32);

    @TempDir
    Path dir;
    private LogManager logs;
    private ReplicaManager rm;
    private ProduceHandler produce;
    private MetadataImage image = MetadataImage.EMPTY;
    private Server server;
    private ManagedChannel channel;
    private final dev.basalt.broker.testkit.RecordingObserver<FetchResponse> received = new dev.basalt.broker.testkit.RecordingObserver<>();
    private final LinkedBlockingQueue<FetchResponse> parts = received.messages;
    private final CompletableFuture<Throwable> ended = received.ended;
    private StreamObserver<FetchRequest> requests;

    @BeforeEach
    void open() throws Exception {
        logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        dev.basalt.broker.purgatory.Timer timer = new ManualTimer();
        Purgatory<TopicPartition> produceWaiters = new Purgatory<>("produce", timer, 1000);
        AlterPartitionSender refuse = r -> CompletableFuture.completedFuture(
                new AlterPartitionSender.Result(ErrorCode.NOT_CONTROLLER, "test", null));
        rm = new ReplicaManager(ReplicaConfig.defaults(1, Map.of()), logs, new Purgatory<>("fetch", realTimer(), 100), produceWaiters,
                refuse, () -> new UUID(1, 1), UnreachableReplicaClient.FACTORY, Clock.systemUTC());
        rm.start();
        produce = new ProduceHandler(rm, produceWaiters, 60_000);
        FetchHandler fetch = new FetchHandler(rm, 30_000);
        String name = "fetch-stream-" + UUID.randomUUID();
        io.grpc.MethodDescriptor<FetchRequest, FetchReply> method = FetchServiceGrpc.getFetchStreamMethod().toBuilder(
                io.grpc.protobuf.ProtoUtils.marshaller(FetchRequest.getDefaultInstance()), FetchReply.MARSHALLER).build();
        server = InProcessServerBuilder.forName(name).directExecutor().addService(StrictRequestParsing.wrap(ServerServiceDefinition
                .builder(FetchServiceGrpc.SERVICE_NAME).addMethod(method, ServerCalls.asyncBidiStreamingCall(obs -> new FetchStreamSession(
                        fetch, 256 * 1024, (ServerCallStreamObserver<FetchReply>) obs))).build())).build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        requests = FetchServiceGrpc.newStub(channel).fetchStream(received);
        image = dev.basalt.broker.testkit.TopicImages.publishTopic(rm, image, "t", TOPIC_ID, List.of(1));
    }

    private final java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();

    /** The fetch purgatory expires parked fetches on a real clock (the long-poll wait is real here). */
    private dev.basalt.broker.purgatory.Timer realTimer() {
        return dev.basalt.broker.purgatory.Timer.of(scheduler);
    }

    @AfterEach
    void close() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        rm.close();
        logs.close();
        scheduler.shutdownNow();
    }


    private void write(String value) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(256);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        b.tryAppend(1L, "k".getBytes(), value.getBytes(), List.of());
        CompletableFuture<ProduceResponse> answer = new CompletableFuture<>();
        produce.handle(ProduceRequest.newBuilder().setAcks(-1).setTimeoutMs(10_000).addTopics(ProduceRequest.TopicData.newBuilder()
                .setName("t").addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(0)
                        .setRecords(ByteString.copyFrom(b.build().buffer())))).build(), answer::complete);
        assertEquals(ErrorCode.NONE, answer.get(10, TimeUnit.SECONDS).getTopics(0).getPartitions(0).getErrorCode());
    }

    private static FetchRequest fetch(long correlationId, long offset, int maxWaitMs) {
        return FetchRequest.newBuilder().setCorrelationId(correlationId).setMaxWaitMs(maxWaitMs).setMinBytes(1).setMaxBytes(1 << 20)
                .addTopics(FetchRequest.TopicData.newBuilder().setName("t").addPartitions(FetchRequest.PartitionData.newBuilder()
                        .setPartition(0).setFetchOffset(offset).setPartitionMaxBytes(1 << 20))).build();
    }

    private FetchResponse next() throws InterruptedException {
        FetchResponse r = parts.poll(10, TimeUnit.SECONDS);
        assertTrue(r != null, "no part within 10 s");
        return r;
    }

    @Test
    void aParkedFetchIsAnsweredWhenRecordsCommit_taggedAndMarkedLast_thenTheNextFetchOnTheStreamIsServed() throws Exception {
        requests.onNext(fetch(41, 0, 20_000));
        Thread.sleep(100);
        assertTrue(parts.isEmpty(), "nothing to read yet: the fetch waits");
        write("a");
        FetchResponse first = next();
        assertEquals(41, first.getCorrelationId());
        assertTrue(first.getLastPart());
        assertEquals(ErrorCode.NONE, first.getTopics(0).getPartitions(0).getErrorCode());
        assertEquals(1, first.getTopics(0).getPartitions(0).getHighWatermark());
        assertFalse(first.getTopics(0).getPartitions(0).getRecords().isEmpty());
        write("b");
        requests.onNext(fetch(42, 1, 20_000));
        FetchResponse second = next();
        assertEquals(42, second.getCorrelationId());
        assertTrue(second.getLastPart());
        assertEquals(2, second.getTopics(0).getPartitions(0).getHighWatermark());
        requests.onNext(fetch(43, 2, 0));
        FetchResponse empty = next();
        assertEquals(43, empty.getCorrelationId(), "max_wait_ms 0: answered at once, empty");
        assertTrue(empty.getTopics(0).getPartitions(0).getRecords().isEmpty());
    }

    @Test
    void aHalfClosedStreamCompletesOnceItsFetchIsAnswered() throws Exception {
        requests.onNext(fetch(7, 0, 20_000));
        requests.onCompleted();
        Thread.sleep(100);
        assertFalse(ended.isDone(), "the fetch still waits for records");
        write("a");
        assertEquals(7, next().getCorrelationId());
        assertEquals(null, ended.get(10, TimeUnit.SECONDS), "completed, not failed");
    }
}

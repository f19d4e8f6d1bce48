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
import dev.basalt.broker.grpc.StrictRequestParsing;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: ProduceStream carries the same requests as Produce over one long-lived stream: each answer
 * bears its request's correlation id, answers may overtake one another (an acks=1 request is not
 * held behind an acks=all one waiting for its ISR), requests are appended in stream order, at
 * most {@link ProduceStreamSession#UNANSWERED_REQUESTS_MAX} are read ahead of their answers, and a
 * half-closed stream completes once every request on it is answered.
 *
 * <p>Method: one {@link ReplicaManager} with fakes (no controller; broker 2 is in the ISR but
 * never fetches, so acks=all waits until the {@link ManualTimer} expires it), the stream served
 * in-process by {@link ProduceStreamSession}. Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am
 * verify -Dtest=ProduceStreamSessionTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class ProduceStreamSessionTest {
    private static final UUID TOPIC_ID = new UUID(21, 22);
    private static final TopicPartition TP = new TopicPartition("t", 0);

    @TempDir
    Path dir;
    private LogManager logs;
    private ManualTimer timer;
    private ReplicaManager rm;
    private ProduceHandler produce;
    private MetadataImage image = MetadataImage.EMPTY;
    private Server server;
    private ManagedChannel channel;
    private final dev.basalt.broker.testkit.RecordingObserver<ProduceResponse> received = new dev.basalt.broker.testkit.RecordingObserver<>();
    private final LinkedBlockingQueue<ProduceResponse> answers = received.messages;
    private final CompletableFuture<Throwable> ended = received.ended;
    private StreamObserver<ProduceRequest> requests;

    @BeforeEach
    void open() throws Exception {
        logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        timer = new ManualTimer();
        Purgatory<TopicPartition> produceWaiters = new Purgatory<>("produce", timer, 1000);
        AlterPartitionSender refuse = r -> CompletableFuture.completedFuture(
                new AlterPartitionSender.Result(ErrorCode.NOT_CONTROLLER, "test", null));
        rm = new ReplicaManager(ReplicaConfig.defaults(1, Map.of()), logs, new Purgatory<>("fetch", timer, 100), produceWaiters,
                refuse, () -> new UUID(1, 1), UnreachableReplicaClient.FACTORY, Clock.systemUTC());
        rm.start();
        produce = new ProduceHandler(rm, produceWaiters, 60_000);
        String name = "produce-stream-" + UUID.randomUUID();
        // wrapped as ClientServices wraps it: a malformed message closes the call under the session
        server = InProcessServerBuilder.forName(name).directExecutor().addService(StrictRequestParsing.wrap(ServerServiceDefinition
                .builder(ProduceServiceGrpc.SERVICE_NAME).addMethod(ProduceServiceGrpc.getProduceStreamMethod(),
                        ServerCalls.asyncBidiStreamingCall(obs -> new ProduceStreamSession(produce,
                                (ServerCallStreamObserver<ProduceResponse>) obs))).build())).build().start();
        channel = InProcessChannelBuilder.forName(name).directExecutor().build();
        requests = ProduceServiceGrpc.newStub(channel).produceStream(received);
        // broker 2 is in the ISR but never fetches: acks=all waits
        image = dev.basalt.broker.testkit.TopicImages.publishTopic(rm, image, "t", TOPIC_ID, List.of(1, 2));
    }

    @AfterEach
    void close() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        rm.close();
        logs.close();
    }


    private static ProduceRequest request(long correlationId, int acks, int timeoutMs) {
        ByteBuffer buf = ByteBuffer.allocate(256);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        b.tryAppend(1L, "k".getBytes(), ("v" + correlationId).getBytes(), List.of());
        return ProduceRequest.newBuilder().setCorrelationId(correlationId).setAcks(acks).setTimeoutMs(timeoutMs)
                .addTopics(ProduceRequest.TopicData.newBuilder().setName("t").addPartitions(ProduceRequest.PartitionData.newBuilder()
                        .setPartition(0).setRecords(ByteString.copyFrom(b.build().buffer())))).build();
    }

    private ProduceResponse next() throws InterruptedException {
        ProduceResponse r = answers.poll(10, TimeUnit.SECONDS);
        assertTrue(r != null, "no answer within 10 s");
        return r;
    }

    private long logEnd() {
        return rm.partition(TP).orElseThrow().log().logEndOffset();
    }

    @Test
    void answersCarryTheirCorrelationIds_andAnAcks1AnswerOvertakesAWaitingAcksAll_appendedInStreamOrder() throws Exception {
        requests.onNext(request(7, -1, 5_000));
        requests.onNext(request(8, 1, 5_000));
        ProduceResponse first = next();
        assertEquals(8, first.getCorrelationId(), "the acks=1 answer comes first; acks=all waits for broker 2");
        assertEquals(ErrorCode.NONE, first.getTopics(0).getPartitions(0).getErrorCode());
        assertEquals(1, first.getTopics(0).getPartitions(0).getBaseOffset(), "appended after request 7: stream order");
        assertTrue(answers.isEmpty());
        timer.advance(5_000);
        ProduceResponse second = next();
        assertEquals(7, second.getCorrelationId());
        assertEquals(ErrorCode.REQUEST_TIMED_OUT, second.getTopics(0).getPartitions(0).getErrorCode());
    }

    @Test
    void atMostUnansweredRequestsMaxAreReadAhead_theRestWaitForAnswers() throws Exception {
        int max = ProduceStreamSession.UNANSWERED_REQUESTS_MAX;
        for (int i = 1; i <= max + 8; i++) {
            requests.onNext(request(i, -1, 5_000));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (logEnd() < max && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Thread.sleep(200); // room for a wrongly read 33rd request to be appended
        assertEquals(max, logEnd(), "requests beyond the read-ahead bound wait in the transport, unread");
        timer.advance(5_000); // every parked acks=all times out and is answered: the rest is read
        java.util.Set<Long> ids = new java.util.HashSet<>();
        for (int i = 0; i < max; i++) {
            ids.add(next().getCorrelationId());
        }
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (logEnd() < max + 8 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(max + 8, logEnd());
        timer.advance(5_000);
        for (int i = 0; i < 8; i++) {
            ids.add(next().getCorrelationId());
        }
        assertEquals(max + 8, ids.size(), "every request answered once, under its own id");
    }

    /**
     * A malformed message closes the call (INVALID_ARGUMENT) while an earlier request still waits
     * for its ISR: that request's answer, when it comes, must be dropped quietly, not thrown at the
     * thread completing it (a purgatory's, which would then skip the other waiters).
     */
    @Test
    void aMalformedMessageClosesTheStream_andAParkedRequestsLaterAnswerIsDroppedQuietly() throws Exception {
        io.grpc.MethodDescriptor<byte[], ProduceResponse> raw = ProduceServiceGrpc.getProduceStreamMethod().toBuilder(
                new io.grpc.MethodDescriptor.Marshaller<byte[]>() {
                    @Override
                    public java.io.InputStream stream(byte[] value) {
                        return new java.io.ByteArrayInputStream(value);
                    }

                    @Override
                    public byte[] parse(java.io.InputStream stream) {
                        throw new UnsupportedOperationException();
                    }
                }, io.grpc.protobuf.ProtoUtils.marshaller(ProduceResponse.getDefaultInstance())).build();
        CompletableFuture<io.grpc.Status> status = new CompletableFuture<>();
        StreamObserver<byte[]> rawRequests = io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
                channel.newCall(raw, io.grpc.CallOptions.DEFAULT), new StreamObserver<ProduceResponse>() {
                    @Override
                    public void onNext(ProduceResponse value) {
                        answers.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        status.complete(io.grpc.Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                        status.complete(io.grpc.Status.OK);
                    }
                });
        rawRequests.onNext(request(1, -1, 5_000).toByteArray());
        rawRequests.onNext(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
        assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, status.get(10, TimeUnit.SECONDS).getCode());
        assertEquals(1, logEnd(), "the first request was appended and waits for broker 2");
        timer.advance(5_000); // expires it: its answer goes nowhere, and nothing is thrown here
        assertTrue(answers.isEmpty());
        requests.onNext(request(9, 1, 5_000)); // the purgatory and other streams still work
        assertEquals(9, next().getCorrelationId());
    }

    @Test
    void aHalfClosedStreamCompletesOnceEveryRequestIsAnswered() throws Exception {
        requests.onNext(request(1, -1, 5_000));
        requests.onNext(request(2, 1, 5_000));
        requests.onCompleted();
        assertEquals(2, next().getCorrelationId());
        Thread.sleep(100);
        assertFalse(ended.isDone(), "request 1 is still waiting for its ISR");
        timer.advance(5_000);
        assertEquals(1, next().getCorrelationId());
        assertEquals(null, ended.get(10, TimeUnit.SECONDS), "completed, not failed");
    }
}

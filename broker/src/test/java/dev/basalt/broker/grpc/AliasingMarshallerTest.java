package dev.basalt.broker.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import dev.basalt.grpc.AliasingMarshaller;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import dev.basalt.record.Batches;
import dev.basalt.record.CorruptRecordException;
import dev.basalt.record.RecordBatchBuilder;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The aliasing marshaller over a real netty transport: produce payloads of every size (one HTTP/2
 * frame, many frames) arrive byte-exact — each batch's CRC is checked on the server — while many
 * requests run at once and pooled transport buffers are reused between them; a message over the
 * size limit is refused with RESOURCE_EXHAUSTED.
 *
 * <p>Why concurrency: bytes read from a buffer after netty recycled it would show up as CRC
 * failures once other requests reuse the pooled memory. Seeded: the seed is printed; replay with
 * {@code -Dbasalt.seed=N}.
 */
class AliasingMarshallerTest {

    static ByteString batches(SplittableRandom random, int count, int valueBytes) {
        ByteBuffer buf = ByteBuffer.allocate(count * (4 * (valueBytes + 40) + 100));
        for (int b = 0; b < count; b++) {
            RecordBatchBuilder builder = new RecordBatchBuilder(buf, 1_700_000_000_000L);
            for (int r = 0; r < 4; r++) {
                byte[] v = new byte[valueBytes];
                for (int i = 0; i < v.length; i += 64) {
                    v[i] = (byte) random.nextInt();
                }
                builder.tryAppend(1_700_000_000_000L + r, null, v, List.of());
            }
            builder.build();
        }
        buf.flip();
        return ByteString.copyFrom(buf);
    }

    @Test
    void payloadsOfAnySizeArriveIntactUnderConcurrency() throws Exception {
        String prop = System.getProperty("basalt.seed", "");
        long seed = prop.isEmpty() ? new SplittableRandom().nextLong() : Long.parseLong(prop);
        System.out.println("AliasingMarshallerTest seed=" + seed + " (replay: ./mvnw -B -ntp verify -pl broker -am"
                + " -Dtest=AliasingMarshallerTest -Dsurefire.failIfNoSpecifiedTests=false -Dbasalt.seed=" + seed + ")");
        SplittableRandom random = new SplittableRandom(seed);
        AliasingMarshaller<ProduceRequest> marshaller = new AliasingMarshaller<>(
                ProtoUtils.marshaller(ProduceRequest.getDefaultInstance()), ProduceRequest.getDefaultInstance(), 64 << 20);
        MethodDescriptor<ProduceRequest, ProduceResponse> method = ProduceServiceGrpc.getProduceMethod()
                .toBuilder(marshaller, ProtoUtils.marshaller(ProduceResponse.getDefaultInstance())).build();
        AtomicInteger corrupt = new AtomicInteger();
        ServerServiceDefinition def = ServerServiceDefinition.builder(ProduceServiceGrpc.getServiceDescriptor().getName())
                .addMethod(method, ServerCalls.asyncUnaryCall((req, obs) -> {
                    ErrorCode code = ErrorCode.NONE;
                    try {
                        for (ProduceRequest.TopicData t : req.getTopicsList()) {
                            for (ProduceRequest.PartitionData p : t.getPartitionsList()) {
                                Batches.parseStrict(p.getRecords().asReadOnlyByteBuffer(), Integer.MAX_VALUE, 1000);
                            }
                        }
                    } catch (CorruptRecordException e) {
                        corrupt.incrementAndGet();
                        code = ErrorCode.CORRUPT_RECORD;
                    }
                    obs.onNext(ProduceResponse.newBuilder().setErrorCode(code).build());
                    obs.onCompleted();
                })).build();
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(def)
                .maxInboundMessageSize(64 << 20).build().start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        try {
            List<CompletableFuture<ProduceResponse>> calls = new ArrayList<>();
            ProduceServiceGrpc.ProduceServiceFutureStub stub = ProduceServiceGrpc.newFutureStub(channel);
            for (int i = 0; i < 300; i++) {
                int valueBytes = random.nextInt(4) == 0 ? 16 : 1 + random.nextInt(32 * 1024);
                ProduceRequest req = ProduceRequest.newBuilder().setAcks(1).addTopics(ProduceRequest.TopicData.newBuilder()
                        .setName("t").addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(0)
                                .setRecords(batches(random, 1 + random.nextInt(8), valueBytes)))).build();
                CompletableFuture<ProduceResponse> f = new CompletableFuture<>();
                var lf = stub.withDeadlineAfter(60, TimeUnit.SECONDS).produce(req);
                lf.addListener(() -> {
                    try {
                        f.complete(lf.get());
                    } catch (Exception e) {
                        f.completeExceptionally(e);
                    }
                }, Runnable::run);
                calls.add(f);
            }
            for (CompletableFuture<ProduceResponse> f : calls) {
                assertEquals(ErrorCode.NONE, f.get(60, TimeUnit.SECONDS).getErrorCode());
            }
            assertEquals(0, corrupt.get(), "batches damaged between the socket and the handler");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}

package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.harness.NodeProcess;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.CreateTopicsResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import dev.basalt.record.Batches;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input over raw gRPC against a real broker process: every malformed or illegal request gets
 * its typed error code, the broker keeps serving, and nothing acknowledged before is lost.
 *
 * <p>Method: one broker; a topic receives known acknowledged records first; then each bad request
 * is sent and its code checked; finally every acknowledged record is read back. Reproduce with
 * {@code ./mvnw -B -ntp verify -pl jepsen-style-tests -am -Dtest=BadInputE2ETest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class BadInputE2ETest {
    @TempDir
    static Path dir;
    static NodeProcess node;
    static ManagedChannel channel;

    @BeforeAll
    static void start() {
        node = NodeProcess.singleNode(dir, Map.of()).start(Duration.ofSeconds(60));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", node.clientPort()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (node != null) {
            node.close();
        }
    }

    static ProduceServiceGrpc.ProduceServiceBlockingStub produce() {
        return ProduceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static CreateTopicsResponse.Result create(String name, int partitions, Map<String, String> configs) {
        return AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(30_000).addTopics(CreateTopicsRequest.NewTopic.newBuilder()
                        .setName(name).setPartitions(partitions).setReplicationFactor(1).putAllConfigs(configs)).build())
                .getTopics(0);
    }

    static ByteString batch(int records, int valueBytes) {
        ByteBuffer buf = ByteBuffer.allocate(64 + records * (valueBytes + 32));
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 1_700_000_000_000L);
        for (int i = 0; i < records; i++) {
            byte[] v = new byte[valueBytes];
            byte[] s = ("v" + i).getBytes(StandardCharsets.UTF_8);
            System.arraycopy(s, 0, v, 0, Math.min(s.length, v.length));
            b.tryAppend(1_700_000_000_000L + i, ("k" + i).getBytes(StandardCharsets.UTF_8), v, List.of());
        }
        RecordBatch built = b.build();
        return ByteString.copyFrom(built.buffer());
    }

    static ByteString unkeyedBatch() {
        ByteBuffer buf = ByteBuffer.allocate(256);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 1_700_000_000_000L);
        b.tryAppend(1_700_000_000_000L, null, "no key".getBytes(StandardCharsets.UTF_8), List.of());
        return ByteString.copyFrom(b.build().buffer());
    }

    static ProduceResponse.PartitionResponse send(String topic, int partition, ByteString records) {
        return produce().produce(ProduceRequest.newBuilder().setAcks(-1).setTimeoutMs(10_000)
                .addTopics(ProduceRequest.TopicData.newBuilder().setName(topic)
                        .addPartitions(ProduceRequest.PartitionData.newBuilder().setPartition(partition).setRecords(records)))
                .build()).getTopics(0).getPartitions(0);
    }

    static FetchResponse.PartitionResponse fetch(String topic, int partition, long offset, int maxWaitMs) {
        return FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .fetch(FetchRequest.newBuilder().setMaxWaitMs(maxWaitMs).setMinBytes(1).setMaxBytes(1 << 20)
                        .addTopics(FetchRequest.TopicData.newBuilder().setName(topic).addPartitions(FetchRequest.PartitionData.newBuilder()
                                .setPartition(partition).setFetchOffset(offset).setPartitionMaxBytes(1 << 20)))
                        .build()).getTopics(0).getPartitions(0);
    }

    @Test
    void everyBadRequestGetsItsTypedErrorAndAcknowledgedDataSurvives() throws Exception {
        assertEquals(ErrorCode.NONE, create("guarded", 1, Map.of("max.message.bytes", "4096")).getErrorCode());
        var tooLarge = create("unproducible", 1, Map.of("max.message.bytes", "200000000"));
        assertEquals(ErrorCode.INVALID_CONFIG, tooLarge.getErrorCode(), "above the largest produce request: " + tooLarge);
        assertTrue(tooLarge.getErrorMessage().contains("above the largest produce request a broker accepts (104857600 bytes"),
                tooLarge.getErrorMessage());
        ProduceResponse.PartitionResponse ok = send("guarded", 0, batch(10, 100));
        assertEquals(ErrorCode.NONE, ok.getErrorCode());
        assertEquals(0, ok.getBaseOffset());

        assertEquals(ErrorCode.UNKNOWN_TOPIC, send("no-such-topic", 0, batch(1, 10)).getErrorCode());
        assertEquals(ErrorCode.INVALID_PARTITION, send("guarded", 7, batch(1, 10)).getErrorCode());
        assertEquals(ErrorCode.RECORD_TOO_LARGE, send("guarded", 0, batch(1, 8000)).getErrorCode());

        byte[] corrupt = batch(3, 50).toByteArray();
        corrupt[RecordBatch.RECORDS_OFFSET + 5] ^= 0x5a;
        assertEquals(ErrorCode.CORRUPT_RECORD, send("guarded", 0, ByteString.copyFrom(corrupt)).getErrorCode());
        byte[] truncated = java.util.Arrays.copyOf(batch(3, 50).toByteArray(), 70);
        assertEquals(ErrorCode.CORRUPT_RECORD, send("guarded", 0, ByteString.copyFrom(truncated)).getErrorCode());
        assertEquals(ErrorCode.CORRUPT_RECORD, send("guarded", 0, ByteString.copyFromUtf8("not a batch at all")).getErrorCode());

        ProduceResponse badAcks = produce().produce(ProduceRequest.newBuilder().setAcks(5).addTopics(ProduceRequest.TopicData
                .newBuilder().setName("guarded")).build());
        assertEquals(ErrorCode.INVALID_REQUEST, badAcks.getErrorCode());

        assertEquals(ErrorCode.INVALID_REQUEST, AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(-1).addTopics(CreateTopicsRequest.NewTopic.newBuilder()
                        .setName("negative-timeout").setPartitions(1)).build()).getErrorCode(), "a negative timeout_ms is refused");
        // No timeout_ms (what a grpcurl user sends) means the 30 s default.
        assertEquals(ErrorCode.NONE, AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS)
                .createTopics(CreateTopicsRequest.newBuilder().addTopics(CreateTopicsRequest.NewTopic.newBuilder().setName("no-timeout")
                        .setPartitions(1)).build()).getTopics(0).getErrorCode(), "timeout_ms 0 = the default");

        assertEquals(ErrorCode.OFFSET_OUT_OF_RANGE, fetch("guarded", 0, 1_000_000, 0).getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC, fetch("no-such-topic", 0, 0, 0).getErrorCode());
        // the same checks through FetchInParts: a request-wide error is one part; otherwise every
        // partition arrives once with its own code
        FetchRequest.PartitionData p0 = FetchRequest.PartitionData.newBuilder().setPartition(0).setFetchOffset(0)
                .setPartitionMaxBytes(1 << 20).build();
        List<FetchResponse> dup = new ArrayList<>();
        FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).fetchInParts(FetchRequest.newBuilder()
                .setMaxBytes(1 << 20).addTopics(FetchRequest.TopicData.newBuilder().setName("guarded").addPartitions(p0)
                        .addPartitions(p0)).build()).forEachRemaining(dup::add);
        assertEquals(1, dup.size());
        assertEquals(ErrorCode.INVALID_REQUEST, dup.get(0).getErrorCode());
        Map<String, FetchResponse.PartitionResponse> mixed = new java.util.LinkedHashMap<>();
        FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).fetchInParts(FetchRequest.newBuilder()
                .setMaxBytes(1 << 20).addTopics(FetchRequest.TopicData.newBuilder().setName("guarded").addPartitions(p0)
                        .addPartitions(p0.toBuilder().setPartition(7)))
                .addTopics(FetchRequest.TopicData.newBuilder().setName("no-such-topic").addPartitions(p0)).build())
                .forEachRemaining(part -> part.getTopicsList().forEach(t -> t.getPartitionsList().forEach(
                        pr -> assertNull(mixed.put(t.getName() + "-" + pr.getPartition(), pr), "a partition in two parts"))));
        assertEquals(List.of("guarded-0", "guarded-7", "no-such-topic-0"), new ArrayList<>(mixed.keySet()));
        assertEquals(ErrorCode.NONE, mixed.get("guarded-0").getErrorCode());
        assertEquals(10, RecordBatch.wrap(mixed.get("guarded-0").getRecords().asReadOnlyByteBuffer()).recordCount());
        assertEquals(ErrorCode.INVALID_PARTITION, mixed.get("guarded-7").getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC, mixed.get("no-such-topic-0").getErrorCode());
        assertEquals(ErrorCode.INVALID_TOPIC, create("bad/name", 1, Map.of()).getErrorCode());
        assertEquals(ErrorCode.INVALID_TOPIC, create("x".repeat(250), 1, Map.of()).getErrorCode());
        assertEquals(ErrorCode.INVALID_CONFIG, create("typed", 1, Map.of("retention.ms", "next tuesday")).getErrorCode());
        assertEquals(ErrorCode.INVALID_CONFIG, create("typed", 1, Map.of("no.such.config", "1")).getErrorCode());
        assertEquals(ErrorCode.INVALID_PARTITIONS, create("too-wide", 20_000, Map.of()).getErrorCode());
        assertEquals(ErrorCode.NONE, create("typed", 1, Map.of()).getErrorCode(), "a valid topic is still created after refusals");
        var badRatio = create("typed-ratio", 1, Map.of("cleanup.policy", "compact", "min.cleanable.dirty.ratio", "1.5"));
        assertEquals(ErrorCode.INVALID_CONFIG, badRatio.getErrorCode());
        assertTrue(badRatio.getErrorMessage().contains("min.cleanable.dirty.ratio"), badRatio.getErrorMessage());
        var lagBelowMin = create("typed-lag", 1, Map.of("min.compaction.lag.ms", "60000", "max.compaction.lag.ms", "1000"));
        assertEquals(ErrorCode.INVALID_CONFIG, lagBelowMin.getErrorCode());
        assertTrue(lagBelowMin.getErrorMessage().contains("below min.compaction.lag.ms"), lagBelowMin.getErrorMessage());
        assertEquals(ErrorCode.NONE, create("compacted", 1, Map.of("cleanup.policy", "compact", "min.cleanable.dirty.ratio", "0.1",
                "max.compaction.lag.ms", "3600000")).getErrorCode(), "Kafka's compaction keys are accepted");
        assertEquals(ErrorCode.INVALID_RECORD, send("compacted", 0, unkeyedBatch()).getErrorCode(), "a compacted topic needs keys");
        assertEquals(ErrorCode.TOPIC_ALREADY_EXISTS, create("typed", 1, Map.of()).getErrorCode());

        // Nothing rejected was appended: the log still holds exactly the 10 acknowledged records.
        List<String> values = readAll("guarded");
        assertEquals(10, values.size());
        assertEquals("v0", values.get(0));
        assertEquals("v9", values.get(9));
    }

    /** Recomputes a batch's CRC after an edit: the batch then looks exactly as a (buggy) producer built it. */
    static ByteString resealed(byte[] batch) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(batch, RecordBatch.ATTRIBUTES_OFFSET, batch.length - RecordBatch.ATTRIBUTES_OFFSET);
        ByteBuffer.wrap(batch).putInt(RecordBatch.CRC_OFFSET, (int) crc.getValue());
        return ByteString.copyFrom(batch);
    }

    static ByteString withAttributes(int attributes) {
        byte[] b = batch(3, 20).toByteArray();
        ByteBuffer.wrap(b).putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) attributes);
        return resealed(b);
    }

    /** Sends raw bytes as the request message of {@code method}: what a broken or hostile client does. */
    static io.grpc.StatusRuntimeException sendGarbage(io.grpc.MethodDescriptor<?, ?> method, byte[] body) {
        io.grpc.MethodDescriptor.Marshaller<byte[]> raw = new io.grpc.MethodDescriptor.Marshaller<>() {
            @Override
            public java.io.InputStream stream(byte[] value) {
                return new java.io.ByteArrayInputStream(value);
            }

            @Override
            public byte[] parse(java.io.InputStream stream) {
                try {
                    return stream.readAllBytes();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        io.grpc.MethodDescriptor<byte[], byte[]> m = method.toBuilder(raw, raw).build();
        return org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class, () -> io.grpc.stub.ClientCalls
                .blockingUnaryCall(channel, m, io.grpc.CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), body));
    }

    @Test
    void batchesAProducerMustNotSendAreInvalidRecord_andMalformedOrOutOfRangeRequestsAreTyped() {
        assertEquals(ErrorCode.NONE, create("strict", 1, Map.of()).getErrorCode());
        assertEquals(ErrorCode.NONE, send("strict", 0, batch(4, 20)).getErrorCode());

        // a control batch from a producer: Kafka refuses it; it would be acknowledged but invisible
        assertEquals(ErrorCode.INVALID_RECORD, send("strict", 0, withAttributes(RecordBatch.CONTROL_MASK)).getErrorCode());
        assertEquals(ErrorCode.INVALID_RECORD, send("strict", 0, withAttributes(RecordBatch.TRANSACTIONAL_MASK)).getErrorCode());
        ProduceResponse.PartitionResponse codec = send("strict", 0, withAttributes(4));
        assertEquals(ErrorCode.INVALID_RECORD, codec.getErrorCode());
        assertTrue(codec.getErrorMessage().contains("codec 4"), codec.getErrorMessage());
        // 3 records claiming 100,000 offsets
        byte[] burner = batch(3, 20).toByteArray();
        ByteBuffer.wrap(burner).putInt(RecordBatch.LAST_OFFSET_DELTA_OFFSET, 99_999);
        assertEquals(ErrorCode.INVALID_RECORD, send("strict", 0, resealed(burner)).getErrorCode());
        // record 1's offset delta (after its length, attributes and one-byte timestamp delta) made 0: out of sequence
        byte[] outOfSequence = batch(3, 20).toByteArray();
        int record1 = RecordBatch.RECORDS_OFFSET + 1 + (outOfSequence[RecordBatch.RECORDS_OFFSET] >>> 1);
        assertEquals(2, outOfSequence[record1 + 3]);
        outOfSequence[record1 + 3] = 0;
        assertEquals(ErrorCode.INVALID_RECORD, send("strict", 0, resealed(outOfSequence)).getErrorCode());
        // record 0's length one byte longer than its fields: sizes disagree with the batch length
        byte[] sizes = batch(3, 20).toByteArray();
        sizes[RecordBatch.RECORDS_OFFSET] += 2;
        assertEquals(ErrorCode.INVALID_RECORD, send("strict", 0, resealed(sizes)).getErrorCode());

        // timestamps outside message.timestamp.before.max.ms (the test batches are from 2023)
        assertEquals(ErrorCode.NONE, create("recent-only", 1, Map.of("message.timestamp.before.max.ms", "3600000")).getErrorCode());
        assertEquals(ErrorCode.INVALID_RECORD, send("recent-only", 0, batch(1, 10)).getErrorCode());

        // out-of-range fields: not silently replaced by a default
        CreateTopicsResponse.Result negative = create("negative-partitions", -5, Map.of());
        assertEquals(ErrorCode.INVALID_REQUEST, negative.getErrorCode());
        assertTrue(negative.getErrorMessage().contains("partitions -5"), negative.getErrorMessage());
        assertEquals(ErrorCode.INVALID_REQUEST, AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(30_000).addTopics(CreateTopicsRequest.NewTopic.newBuilder()
                        .setName("negative-rf").setPartitions(1).setReplicationFactor(-3)).build()).getTopics(0).getErrorCode());
        assertEquals(ErrorCode.UNKNOWN_TOPIC, fetch("negative-partitions", 0, 0, 0).getErrorCode(), "nothing was created");
        assertEquals(ErrorCode.INVALID_REQUEST, produce().produce(ProduceRequest.newBuilder().setAcks(1).setTimeoutMs(-1)
                .addTopics(ProduceRequest.TopicData.newBuilder().setName("strict")).build()).getErrorCode());
        assertEquals(ErrorCode.INVALID_REQUEST, FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .fetch(FetchRequest.newBuilder().setMaxWaitMs(-1).setMaxBytes(1 << 20).build()).getErrorCode());

        // bytes that are not protobuf: INVALID_ARGUMENT, not UNKNOWN, on every service
        byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f};
        for (io.grpc.MethodDescriptor<?, ?> m : List.of(ProduceServiceGrpc.getProduceMethod(), FetchServiceGrpc.getFetchMethod(),
                AdminServiceGrpc.getCreateTopicsMethod(), dev.basalt.proto.v1.MetadataServiceGrpc.getMetadataMethod(),
                dev.basalt.proto.v1.ListOffsetsServiceGrpc.getListOffsetsMethod())) {
            io.grpc.StatusRuntimeException e = sendGarbage(m, garbage);
            assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), m.getFullMethodName() + ": " + e.getStatus());
        }

        // nothing refused was appended, and the broker still serves
        assertEquals(ErrorCode.NONE, send("strict", 0, batch(2, 20)).getErrorCode());
        assertEquals(6, readAll("strict").size());
    }

    @Test
    void aClientThatDisconnectsMidRequestDoesNotHurtTheBroker() throws Exception {
        assertEquals(ErrorCode.NONE, create("hangup", 1, Map.of()).getErrorCode());
        assertEquals(ErrorCode.NONE, send("hangup", 0, batch(5, 100)).getErrorCode());
        // A long poll at the end of the log, abandoned by closing its channel.
        ManagedChannel doomed = NettyChannelBuilder.forAddress("127.0.0.1", node.clientPort()).usePlaintext().build();
        List<Throwable> errors = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            FetchServiceGrpc.newStub(doomed).fetch(FetchRequest.newBuilder().setMaxWaitMs(20_000).setMinBytes(1 << 20).setMaxBytes(1 << 20)
                    .addTopics(FetchRequest.TopicData.newBuilder().setName("hangup").addPartitions(FetchRequest.PartitionData.newBuilder()
                            .setPartition(0).setFetchOffset(5).setPartitionMaxBytes(1 << 20))).build(), new StreamObserver<>() {
                                @Override
                                public void onNext(FetchResponse value) {
                                }

                                @Override
                                public void onError(Throwable t) {
                                    synchronized (errors) {
                                        errors.add(t);
                                    }
                                }

                                @Override
                                public void onCompleted() {
                                }
                            });
        }
        Thread.sleep(300);
        doomed.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        // The broker still serves: appends wake nobody dead, reads work, data is intact.
        for (int i = 0; i < 5; i++) {
            assertEquals(ErrorCode.NONE, send("hangup", 0, batch(5, 100)).getErrorCode());
        }
        assertEquals(30, readAll("hangup").size());
        assertEquals(200, node.httpStatus("/ready"));
    }

    static List<String> readAll(String topic) {
        List<String> values = new ArrayList<>();
        long offset = 0;
        for (int round = 0; round < 100; round++) {
            FetchResponse.PartitionResponse p = fetch(topic, 0, offset, 0);
            assertEquals(ErrorCode.NONE, p.getErrorCode(), p.getErrorMessage());
            if (p.getRecords().isEmpty()) {
                break;
            }
            for (RecordBatch b : Batches.iterate(p.getRecords().asReadOnlyByteBuffer())) {
                b.validate(Integer.MAX_VALUE);
                for (Record r : b.records()) {
                    byte[] v = r.valueBytes();
                    int end = 0;
                    while (end < v.length && v[end] != 0) {
                        end++;
                    }
                    values.add(new String(v, 0, end, StandardCharsets.UTF_8));
                    offset = r.offset() + 1;
                }
            }
            assertTrue(p.getHighWatermark() >= offset);
        }
        return values;
    }
}

package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.basalt.harness.NodeProcess;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.CreatePartitionsRequest;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.DescribeConfigsRequest;
import dev.basalt.proto.v1.DescribeTopicsRequest;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.proto.v1.ListOffsetsRequest;
import dev.basalt.proto.v1.ListOffsetsServiceGrpc;
import dev.basalt.proto.v1.MetadataRequest;
import dev.basalt.proto.v1.MetadataServiceGrpc;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import dev.basalt.record.Batches;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.RecordBatchBuilder;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Goal: a live node answers every request, however malformed, with success or a typed error
 * (an error code in the response, or INVALID_ARGUMENT / RESOURCE_EXHAUSTED for a message that is
 * not a valid request), never UNKNOWN, INTERNAL, UNAVAILABLE or silence, and every record it
 * acknowledged is still there, byte for byte, afterwards.
 *
 * <p>Method: one real node process; jqwik draws a seed per try (2,000 tries), and the seed
 * derives one request: random bytes to a random method, a valid Produce whose batch or message is
 * mutated (bytes flipped, header fields changed and the CRC recomputed so the broker's validation,
 * not the checksum, must catch it; truncated; extended), a Fetch/ListOffsets/Metadata with random
 * fields, or an admin request with random counts, names, configs and timeouts. Acknowledged
 * batches on the two guarded topics are remembered; every 50th try re-reads a remembered batch,
 * and at the end all of them are read back and compared.
 *
 * <p>Reproduce: a failure prints its seed; run {@code ./mvnw -B -ntp -o -pl jepsen-style-tests -am
 * verify -Dtest=RequestFuzzProperties -Dsurefire.failIfNoSpecifiedTests=false} with
 * {@code @Property(seed = "...")} set to jqwik's reported seed (the per-try seed is in the message).
 */
class RequestFuzzProperties {
    static final List<String> GUARDED = List.of("fuzz-a", "fuzz-b");
    static final List<String> SCRATCH = List.of("scratch-1", "scratch-2", "scratch-3", "fuzz-a-copy", "", "bad/name");
    static final Set<Status.Code> TYPED_STATUSES = Set.of(Status.Code.INVALID_ARGUMENT, Status.Code.RESOURCE_EXHAUSTED);
    static final long T0 = 1_700_000_000_000L;

    static Path dir;
    static NodeProcess node;
    static ManagedChannel channel;
    /** Acknowledged batches on the guarded topics: topic, partition, base offset, the bytes sent. */
    static final List<Acked> acked = new ArrayList<>();

    record Acked(String topic, int partition, long baseOffset, byte[] records, long seed) {
    }

    private static final MethodDescriptor.Marshaller<byte[]> RAW = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    static final List<MethodDescriptor<?, ?>> METHODS = List.of(ProduceServiceGrpc.getProduceMethod(),
            FetchServiceGrpc.getFetchMethod(), ListOffsetsServiceGrpc.getListOffsetsMethod(), MetadataServiceGrpc.getMetadataMethod(),
            AdminServiceGrpc.getCreateTopicsMethod(), AdminServiceGrpc.getDescribeTopicsMethod(),
            AdminServiceGrpc.getDescribeConfigsMethod(), AdminServiceGrpc.getListTopicsMethod(),
            AdminServiceGrpc.getDescribeClusterMethod(), AdminServiceGrpc.getCreatePartitionsMethod());

    @BeforeContainer
    static void start() throws IOException {
        dir = Files.createTempDirectory("request-fuzz");
        node = NodeProcess.singleNode(dir, Map.of()).start(Duration.ofSeconds(60));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", node.clientPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        for (String t : GUARDED) {
            var r = AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).createTopics(
                    CreateTopicsRequest.newBuilder().setTimeoutMs(30_000).addTopics(CreateTopicsRequest.NewTopic.newBuilder()
                            .setName(t).setPartitions(2).setReplicationFactor(1)).build());
            assertEquals(ErrorCode.NONE, r.getTopics(0).getErrorCode(), r.toString());
        }
    }

    @AfterContainer
    static void verifyAndStop() throws InterruptedException {
        try {
            if (node != null && node.isAlive()) {
                for (Acked a : acked) {
                    verify(a);
                }
                assertEquals(200, node.httpStatus("/ready"), "the node is still ready after the fuzzing");
                System.out.println("RequestFuzzProperties: " + acked.size() + " acknowledged batches verified");
            }
        } finally {
            if (channel != null) {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            if (node != null) {
                node.close();
            }
            deleteRecursively(dir);
        }
    }

    @Property(tries = 2_000, shrinking = ShrinkingMode.OFF)
    void everyRequestGetsATypedAnswer_andAcknowledgedDataSurvives(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        String context = "seed " + seed;
        assertTrue(node.isAlive(), "the node died; log tail:\n" + node.tail(40));
        int kind = r.nextInt(10);
        switch (kind) {
            case 0, 1 -> randomBytes(r, context);
            case 2, 3, 4 -> mutatedProduce(r, seed, context);
            case 5 -> validProduce(r, seed, context);
            case 6 -> fetchLike(r, context);
            default -> admin(r, context);
        }
        if (!acked.isEmpty() && Math.floorMod(seed, 50) == 0) {
            verify(acked.get(r.nextInt(acked.size())));
        }
    }

    // ------------------------------------------------------------------ request kinds

    private static void randomBytes(SplittableRandom r, String context) {
        byte[] body = new byte[r.nextInt(0, 200)];
        r.nextBytes(body);
        call(METHODS.get(r.nextInt(METHODS.size())), body, context);
    }

    private static void validProduce(SplittableRandom r, long seed, String context) {
        String topic = GUARDED.get(r.nextInt(GUARDED.size()));
        int partition = r.nextInt(2);
        ProduceRequest req = ProduceRequest.newBuilder().setAcks(r.nextBoolean() ? -1 : 1).setTimeoutMs(10_000)
                .addTopics(ProduceRequest.TopicData.newBuilder().setName(topic).addPartitions(ProduceRequest.PartitionData.newBuilder()
                        .setPartition(partition).setRecords(ByteString.copyFrom(batch(r, 1 + r.nextInt(5)))))).build();
        byte[] answer = call(ProduceServiceGrpc.getProduceMethod(), req.toByteArray(), context);
        ProduceResponse resp = parse(ProduceResponse.parser(), answer, context);
        ProduceResponse.PartitionResponse p = resp.getTopics(0).getPartitions(0);
        assertEquals(ErrorCode.NONE, p.getErrorCode(), context + ": a valid batch is acknowledged: " + p);
        remember(req, resp, seed);
    }

    private static void mutatedProduce(SplittableRandom r, long seed, String context) {
        String topic = r.nextInt(8) == 0 ? SCRATCH.get(r.nextInt(SCRATCH.size())) : GUARDED.get(r.nextInt(GUARDED.size()));
        byte[] records = r.nextInt(4) == 0 ? concat(batch(r, 1 + r.nextInt(4)), batch(r, 1 + r.nextInt(4))) : batch(r, 1 + r.nextInt(6));
        switch (r.nextInt(5)) {
            case 0 -> flip(r, records, 1 + r.nextInt(3));
            case 1 -> {
                mutateHeader(r, records);
                reseal(records);
            }
            case 2 -> records = Arrays.copyOf(records, r.nextInt(records.length + 1));
            case 3 -> {
                flip(r, records, 1);
                reseal(records);
            }
            default -> records = concat(records, randomTail(r));
        }
        int[] acks = {-1, 1, 0, 2, -2, Integer.MIN_VALUE};
        int[] timeouts = {10_000, 0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE};
        int[] partitions = {0, 1, 2, -1, Integer.MAX_VALUE};
        ProduceRequest req = ProduceRequest.newBuilder().setAcks(acks[r.nextInt(acks.length)])
                .setTimeoutMs(r.nextInt(3) == 0 ? timeouts[r.nextInt(timeouts.length)] : 10_000)
                .addTopics(ProduceRequest.TopicData.newBuilder().setName(topic).addPartitions(ProduceRequest.PartitionData.newBuilder()
                        .setPartition(r.nextInt(3) == 0 ? partitions[r.nextInt(partitions.length)] : r.nextInt(2))
                        .setRecords(ByteString.copyFrom(records)))).build();
        byte[] message = req.toByteArray();
        if (r.nextInt(4) == 0) {
            flip(r, message, 1);
        }
        byte[] answer = call(ProduceServiceGrpc.getProduceMethod(), message, context);
        if (answer == null) {
            return;
        }
        ProduceRequest sent;
        try {
            sent = ProduceRequest.parseFrom(message);
        } catch (InvalidProtocolBufferException e) {
            fail(context + ": the node answered a message that is not a ProduceRequest");
            return;
        }
        remember(sent, parse(ProduceResponse.parser(), answer, context), seed);
    }

    private static void fetchLike(SplittableRandom r, String context) {
        long[] offsets = {0, 1, -1, Long.MAX_VALUE, Long.MIN_VALUE, 5, 1_000_000};
        int[] ints = {0, 1, -1, 1 << 20, Integer.MAX_VALUE, Integer.MIN_VALUE, 100};
        String topic = r.nextBoolean() ? GUARDED.get(r.nextInt(2)) : SCRATCH.get(r.nextInt(SCRATCH.size()));
        switch (r.nextInt(3)) {
            case 0 -> {
                FetchRequest.Builder b = FetchRequest.newBuilder().setMaxWaitMs(Math.min(ints[r.nextInt(ints.length)], 200))
                        .setMinBytes(ints[r.nextInt(ints.length)]).setMaxBytes(ints[r.nextInt(ints.length)]);
                int n = r.nextInt(4);
                FetchRequest.TopicData.Builder t = FetchRequest.TopicData.newBuilder().setName(topic);
                for (int i = 0; i < n; i++) {
                    t.addPartitions(FetchRequest.PartitionData.newBuilder().setPartition(r.nextInt(-1, 3))
                            .setFetchOffset(offsets[r.nextInt(offsets.length)]).setPartitionMaxBytes(ints[r.nextInt(ints.length)]));
                }
                call(FetchServiceGrpc.getFetchMethod(), b.addTopics(t).build().toByteArray(), context);
            }
            case 1 -> call(ListOffsetsServiceGrpc.getListOffsetsMethod(), ListOffsetsRequest.newBuilder()
                    .addTopics(ListOffsetsRequest.TopicData.newBuilder().setName(topic).addPartitions(ListOffsetsRequest.PartitionData
                            .newBuilder().setPartition(r.nextInt(-1, 3)).setTimestamp(offsets[r.nextInt(offsets.length)])))
                    .build().toByteArray(), context);
            default -> call(MetadataServiceGrpc.getMetadataMethod(), MetadataRequest.newBuilder().addTopics(topic).build().toByteArray(),
                    context);
        }
    }

    private static void admin(SplittableRandom r, String context) {
        int[] counts = {-10, -5, -1, 0, 1, 2, 3, 20_000, Integer.MAX_VALUE, Integer.MIN_VALUE};
        int[] timeouts = {30_000, 0, -1, Integer.MIN_VALUE, 5_000};
        String scratch = SCRATCH.get(r.nextInt(SCRATCH.size()));
        List<Map<String, String>> configs = List.of(Map.of(), Map.of("retention.ms", "-7"), Map.of("segment.bytes", "1"),
                Map.of("no.such.key", "x"), Map.of("message.timestamp.before.max.ms", "-1"), Map.of("cleanup.policy", "compact"),
                Map.of("max.message.bytes", "99999999999"));
        switch (r.nextInt(6)) {
            case 0 -> call(AdminServiceGrpc.getCreateTopicsMethod(), CreateTopicsRequest.newBuilder()
                    .setTimeoutMs(timeouts[r.nextInt(timeouts.length)]).setValidateOnly(r.nextInt(3) == 0)
                    .addTopics(CreateTopicsRequest.NewTopic.newBuilder().setName(scratch).setPartitions(counts[r.nextInt(counts.length)])
                            .setReplicationFactor(counts[r.nextInt(counts.length)]).putAllConfigs(configs.get(r.nextInt(configs.size()))))
                    .build().toByteArray(), context);
            case 1 -> call(AdminServiceGrpc.getDeleteTopicsMethod(), DeleteTopicsRequest.newBuilder()
                    .setTimeoutMs(timeouts[r.nextInt(timeouts.length)]).addNames(scratch).build().toByteArray(), context);
            case 2 -> call(AdminServiceGrpc.getCreatePartitionsMethod(), CreatePartitionsRequest.newBuilder()
                    .setTimeoutMs(timeouts[r.nextInt(timeouts.length)]).addTopics(CreatePartitionsRequest.Increase.newBuilder()
                            .setName(scratch).setTotalCount(counts[r.nextInt(counts.length)])).build().toByteArray(), context);
            case 3 -> {
                AlterConfigsRequest.Change.Builder change = AlterConfigsRequest.Change.newBuilder().setResource(
                        dev.basalt.proto.v1.ConfigResource.newBuilder().setTypeValue(r.nextInt(-1, 4)).setName(scratch));
                configs.get(r.nextInt(configs.size())).forEach((k, v) -> change.addOperations(AlterConfigsRequest.Operation.newBuilder()
                        .setName(k).setValue(v).setOpValue(r.nextInt(-1, 3))));
                call(AdminServiceGrpc.getAlterConfigsMethod(), AlterConfigsRequest.newBuilder()
                        .setTimeoutMs(timeouts[r.nextInt(timeouts.length)]).addResources(change).build().toByteArray(), context);
            }
            case 4 -> call(AdminServiceGrpc.getDescribeConfigsMethod(), DescribeConfigsRequest.newBuilder()
                    .addResources(DescribeConfigsRequest.Query.newBuilder().setResource(dev.basalt.proto.v1.ConfigResource.newBuilder()
                            .setTypeValue(r.nextInt(-1, 4)).setName(r.nextBoolean() ? scratch : GUARDED.get(0))))
                    .build().toByteArray(), context);
            default -> call(AdminServiceGrpc.getDescribeTopicsMethod(), DescribeTopicsRequest.newBuilder().addNames(scratch)
                    .build().toByteArray(), context);
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * Sends {@code body} as {@code method}'s request; returns the answer's bytes, or null for a
     * typed status. Anything else (UNKNOWN, INTERNAL, a deadline, a closed connection) fails.
     */
    static byte[] call(MethodDescriptor<?, ?> method, byte[] body, String context) {
        MethodDescriptor<byte[], byte[]> m = method.toBuilder(RAW, RAW).build();
        try {
            if (m.getType() == MethodDescriptor.MethodType.UNARY) {
                return ClientCalls.blockingUnaryCall(channel, m, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), body);
            }
            var it = ClientCalls.blockingServerStreamingCall(channel, m, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), body);
            byte[] last = null;
            while (it.hasNext()) {
                last = it.next();
            }
            return last;
        } catch (StatusRuntimeException e) {
            if (!TYPED_STATUSES.contains(e.getStatus().getCode())) {
                fail(context + ": " + method.getFullMethodName() + " answered " + e.getStatus() + "; log tail:\n" + node.tail(20));
            }
            return null;
        }
    }

    static <T> T parse(com.google.protobuf.Parser<T> parser, byte[] bytes, String context) {
        try {
            return parser.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(context + ": unparsable answer", e);
        }
    }

    /** Remembers acknowledged batches on the guarded topics (the others may be anything). */
    static void remember(ProduceRequest sent, ProduceResponse resp, long seed) {
        if (sent.getAcks() == 0 || resp.getErrorCode() != ErrorCode.NONE) {
            return;
        }
        for (int t = 0; t < sent.getTopicsCount() && t < resp.getTopicsCount(); t++) {
            ProduceRequest.TopicData td = sent.getTopics(t);
            for (int p = 0; p < td.getPartitionsCount() && p < resp.getTopics(t).getPartitionsCount(); p++) {
                ProduceResponse.PartitionResponse pr = resp.getTopics(t).getPartitions(p);
                if (pr.getErrorCode() == ErrorCode.NONE && GUARDED.contains(td.getName())) {
                    acked.add(new Acked(td.getName(), td.getPartitions(p).getPartition(), pr.getBaseOffset(),
                            td.getPartitions(p).getRecords().toByteArray(), seed));
                }
            }
        }
    }

    /** The acknowledged batches read back from their base offset are the bytes sent (all but the stamped offset and epoch). */
    static void verify(Acked a) {
        long sentEnd = a.baseOffset();
        for (RecordBatch b : Batches.iterate(ByteBuffer.wrap(a.records()))) {
            sentEnd += b.lastOffsetDelta() + 1;
        }
        // acks=1 answers before the high watermark (fsynced offsets, durable acks) covers the batch:
        // a long poll with min_bytes waits until a consumer may see it
        FetchResponse resp = FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                .fetch(FetchRequest.newBuilder().setMaxBytes(1 << 20).setMaxWaitMs(10_000).setMinBytes(a.records().length)
                        .addTopics(FetchRequest.TopicData.newBuilder().setName(a.topic())
                        .addPartitions(FetchRequest.PartitionData.newBuilder().setPartition(a.partition()).setFetchOffset(a.baseOffset())
                                .setPartitionMaxBytes(1 << 20))).build());
        FetchResponse.PartitionResponse p = resp.getTopics(0).getPartitions(0);
        assertTrue(p.getHighWatermark() >= sentEnd, "seed " + a.seed() + ": high watermark " + p.getHighWatermark()
                + " still below the acknowledged batch's end " + sentEnd + " after 10 s");
        String context = "acknowledged batch of seed " + a.seed() + " at " + a.topic() + "-" + a.partition() + "@" + a.baseOffset();
        assertEquals(ErrorCode.NONE, p.getErrorCode(), context + ": " + p.getErrorMessage());
        List<RecordBatch> stored = new ArrayList<>();
        Batches.iterate(p.getRecords().asReadOnlyByteBuffer()).forEach(stored::add);
        long next = a.baseOffset();
        int i = 0;
        for (RecordBatch sentBatch : Batches.iterate(ByteBuffer.wrap(a.records()))) {
            assertTrue(i < stored.size(), context + ": batch " + i + " missing");
            RecordBatch got = stored.get(i++);
            assertEquals(next, got.baseOffset(), context);
            assertEquals(sentBatch.sizeInBytes(), got.sizeInBytes(), context);
            assertEquals(sentBatch.buffer().position(RecordBatch.ATTRIBUTES_OFFSET), got.buffer().position(RecordBatch.ATTRIBUTES_OFFSET),
                    context + ": stored bytes differ from the bytes acknowledged");
            next = got.nextOffset();
        }
    }

    static void deleteRecursively(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + root + ": " + e);
        }
    }

    static byte[] batch(SplittableRandom r, int records) {
        ByteBuffer buf = ByteBuffer.allocate(128 + records * 96);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, T0);
        for (int i = 0; i < records; i++) {
            byte[] v = new byte[r.nextInt(0, 40)];
            r.nextBytes(v);
            byte[] k = r.nextInt(4) == 0 ? null : ("k" + r.nextInt(100)).getBytes(StandardCharsets.UTF_8);
            b.tryAppend(T0 + r.nextInt(0, 1000), k, v, List.of());
        }
        ByteBuffer built = b.build().buffer();
        byte[] out = new byte[built.remaining()];
        built.get(out);
        return out;
    }

    static void mutateHeader(SplittableRandom r, byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b);
        int[] ints = {0, 1, -1, 2, 99_999, Integer.MAX_VALUE, Integer.MIN_VALUE, 1 << 20, (1 << 20) + 1};
        switch (r.nextInt(6)) {
            case 0 -> bb.putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) r.nextInt(1 << 16));
            case 1 -> bb.putInt(RecordBatch.LAST_OFFSET_DELTA_OFFSET, ints[r.nextInt(ints.length)]);
            case 2 -> bb.putInt(RecordBatch.RECORD_COUNT_OFFSET, ints[r.nextInt(ints.length)]);
            case 3 -> bb.putInt(RecordBatch.LENGTH_OFFSET, ints[r.nextInt(ints.length)]);
            case 4 -> bb.putLong(RecordBatch.MAX_TIMESTAMP_OFFSET, r.nextLong());
            default -> {
                if (b.length > RecordBatch.RECORDS_OFFSET) {
                    b[RecordBatch.RECORDS_OFFSET + r.nextInt(b.length - RecordBatch.RECORDS_OFFSET)] = (byte) r.nextInt(256);
                }
            }
        }
    }

    static void reseal(byte[] b) {
        if (b.length <= RecordBatch.ATTRIBUTES_OFFSET) {
            return;
        }
        // Only the first batch's CRC: its declared length may itself be mutated, so cover what fits.
        int length = ByteBuffer.wrap(b).getInt(RecordBatch.LENGTH_OFFSET);
        long end = Math.min(b.length, (long) length + RecordBatch.LOG_OVERHEAD_BYTES);
        if (end <= RecordBatch.ATTRIBUTES_OFFSET) {
            return;
        }
        CRC32C crc = new CRC32C();
        crc.update(b, RecordBatch.ATTRIBUTES_OFFSET, (int) end - RecordBatch.ATTRIBUTES_OFFSET);
        ByteBuffer.wrap(b).putInt(RecordBatch.CRC_OFFSET, (int) crc.getValue());
    }

    static void flip(SplittableRandom r, byte[] b, int count) {
        for (int i = 0; i < count && b.length > 0; i++) {
            b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
        }
    }

    static byte[] randomTail(SplittableRandom r) {
        byte[] t = new byte[r.nextInt(1, 80)];
        r.nextBytes(t);
        return t;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

package dev.basalt.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.basalt.client.Admin;
import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.DefaultPartitioner;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.serialization.ByteArrayDeserializer;
import dev.basalt.client.serialization.ByteArraySerializer;
import dev.basalt.harness.NodeProcess;
import dev.basalt.proto.v1.Acks;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRecordsRequest;
import dev.basalt.proto.v1.FetchRecordsResponse;
import dev.basalt.proto.v1.FetchedRecord;
import dev.basalt.proto.v1.ProduceRecordsRequest;
import dev.basalt.proto.v1.ProduceRecordsResponse;
import dev.basalt.proto.v1.ProducedRecord;
import dev.basalt.proto.v1.RecordHeader;
import dev.basalt.proto.v1.RecordServiceGrpc;
import dev.basalt.record.Header;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RecordService (records as protobuf messages, the any-language API) against a real node:
 * produce and fetch round trips with headers, null keys and values and explicit timestamps;
 * partition choice equal to the Java client's for keyed records; records crossing between the
 * thin API and the Java client in both directions; SubscribeRecords delivering records written
 * after it started; and each documented error code. Reproduce: {@code ./mvnw -B -ntp verify -pl
 * jepsen-style-tests -am -Dtest=RecordServiceE2ETest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class RecordServiceE2ETest {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    static Path dir;
    static NodeProcess node;
    static ManagedChannel channel;
    static RecordServiceGrpc.RecordServiceBlockingStub records;

    @BeforeAll
    static void start() throws Exception {
        node = NodeProcess.singleNode(dir, Map.of("gateway.records.per.request.max", "1000")).start(READY_TIMEOUT);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", node.clientPort()).usePlaintext().build();
        records = RecordServiceGrpc.newBlockingStub(channel);
        try (Admin admin = new Admin(Map.of("bootstrap.servers", node.bootstrap()))) {
            for (NewTopic t : List.of(new NewTopic("thin", 1, 1, Map.of()), new NewTopic("keyed", 6, 1, Map.of()),
                    new NewTopic("compacted", 1, 1, Map.of("cleanup.policy", "compact")))) {
                admin.createTopics(List.of(t), false).get(t.name()).get(30, TimeUnit.SECONDS);
            }
        }
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

    private static RecordServiceGrpc.RecordServiceBlockingStub stub() {
        return records.withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static ByteString b(String s) {
        return ByteString.copyFromUtf8(s);
    }

    @Test
    void recordsComeBackAsTheyWereProduced() {
        List<ProducedRecord> sent = List.of(
                ProducedRecord.newBuilder().setKey(b("k1")).setValue(b("v1")).setTimestampMs(1_700_000_000_000L)
                        .addHeaders(RecordHeader.newBuilder().setKey("trace").setValue(b("abc")))
                        .addHeaders(RecordHeader.newBuilder().setKey("trace").setValue(b("def")))
                        .addHeaders(RecordHeader.newBuilder().setKey("null-header")).build(),
                ProducedRecord.newBuilder().setValue(b("no key")).build(),
                ProducedRecord.newBuilder().setKey(b("tombstone")).build(),
                ProducedRecord.newBuilder().setKey(ByteString.EMPTY).setValue(ByteString.EMPTY).build());
        ProduceRecordsResponse r = stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("thin").setPartition(0)
                .addAllRecords(sent).build());
        assertEquals(ErrorCode.NONE, r.getErrorCode(), r.getErrorMessage());
        assertEquals(1, r.getPartitionsCount());
        ProduceRecordsResponse.PartitionResult pr = r.getPartitions(0);
        assertEquals(ErrorCode.NONE, pr.getErrorCode(), pr.getErrorMessage());
        assertEquals(List.of(0, 1, 2, 3), pr.getRecordIndexesList());

        FetchRecordsResponse f = stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("thin").setPartition(0)
                .setOffset(pr.getBaseOffset()).setMaxWaitMs(1000).build());
        assertEquals(ErrorCode.NONE, f.getErrorCode(), f.getErrorMessage());
        assertEquals(4, f.getRecordsCount());
        for (int i = 0; i < 4; i++) {
            FetchedRecord got = f.getRecords(i);
            ProducedRecord want = sent.get(i);
            assertEquals(pr.getBaseOffset() + i, got.getOffset());
            assertEquals(want.hasKey(), got.hasKey(), "key presence of record " + i);
            assertEquals(want.getKey(), got.getKey());
            assertEquals(want.hasValue(), got.hasValue(), "value presence of record " + i);
            assertEquals(want.getValue(), got.getValue());
            assertEquals(want.getHeadersList(), got.getHeadersList());
        }
        assertEquals(1_700_000_000_000L, f.getRecords(0).getTimestampMs());
        assertEquals(pr.getBaseOffset() + 4, f.getNextOffset());
        assertEquals(f.getHighWatermark(), f.getNextOffset());
    }

    /**
     * More calls at once to one partition than the gateway has producer ids for it (8): the rest
     * wait in line; both acks levels; every call is answered NONE with its own offsets, and the
     * log holds each record once, where its answer said.
     */
    @Test
    void manyCallsAtOnceToOnePartition_eachAppendedOnceWhereItsAnswerSays() throws Exception {
        try (Admin admin = new Admin(Map.of("bootstrap.servers", node.bootstrap()))) {
            NewTopic t = new NewTopic("busy", 1, 1, Map.of());
            admin.createTopics(List.of(t), false).get(t.name()).get(30, TimeUnit.SECONDS);
        }
        RecordServiceGrpc.RecordServiceFutureStub async = RecordServiceGrpc.newFutureStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        int calls = 64;
        List<com.google.common.util.concurrent.ListenableFuture<ProduceRecordsResponse>> answers = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            ProduceRecordsRequest.Builder req = ProduceRecordsRequest.newBuilder().setTopic("busy")
                    .setAcks(i % 2 == 0 ? Acks.ACKS_ALL : Acks.ACKS_LEADER);
            for (int j = 0; j < 3; j++) {
                req.addRecords(ProducedRecord.newBuilder().setValue(b("c" + i + "-" + j)));
            }
            answers.add(async.produceRecords(req.build()));
        }
        Map<Long, String> expected = new HashMap<>();
        for (int i = 0; i < calls; i++) {
            ProduceRecordsResponse r = answers.get(i).get(30, TimeUnit.SECONDS);
            assertEquals(ErrorCode.NONE, r.getErrorCode(), r.getErrorMessage());
            ProduceRecordsResponse.PartitionResult pr = r.getPartitions(0);
            assertEquals(ErrorCode.NONE, pr.getErrorCode(), pr.getErrorMessage());
            for (int j = 0; j < 3; j++) {
                assertEquals(null, expected.put(pr.getBaseOffset() + j, "c" + i + "-" + j), "two answers name offset "
                        + (pr.getBaseOffset() + j));
            }
        }
        FetchRecordsResponse f = stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("busy").setPartition(0)
                .setOffset(0).setMaxRecords(1000).setMaxWaitMs(1000).build());
        assertEquals(ErrorCode.NONE, f.getErrorCode(), f.getErrorMessage());
        Map<Long, String> log = new HashMap<>();
        for (FetchedRecord rec : f.getRecordsList()) {
            log.put(rec.getOffset(), rec.getValue().toStringUtf8());
        }
        assertEquals(expected, log, "the log holds exactly the answered records, each once, at its answered offset");
    }

    @Test
    void keyedRecordsLandWhereTheJavaClientPutsThem() {
        ProduceRecordsRequest.Builder req = ProduceRecordsRequest.newBuilder().setTopic("keyed");
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            keys.add("user-" + i);
            req.addRecords(ProducedRecord.newBuilder().setKey(b("user-" + i)).setValue(b("v" + i)));
        }
        ProduceRecordsResponse r = stub().produceRecords(req.build());
        assertEquals(ErrorCode.NONE, r.getErrorCode(), r.getErrorMessage());
        int seen = 0;
        for (ProduceRecordsResponse.PartitionResult pr : r.getPartitionsList()) {
            assertEquals(ErrorCode.NONE, pr.getErrorCode(), pr.getErrorMessage());
            for (int idx : pr.getRecordIndexesList()) {
                byte[] key = keys.get(idx).getBytes(StandardCharsets.UTF_8);
                assertEquals(DefaultPartitioner.partitionForKey(key, 6), pr.getPartition(), keys.get(idx));
                seen++;
            }
        }
        assertEquals(200, seen);
        assertTrue(r.getPartitionsCount() > 1, "200 keys over 6 partitions use more than one");
    }

    @Test
    void keylessRecordsOfOneRequestStayTogether() {
        ProduceRecordsRequest.Builder req = ProduceRecordsRequest.newBuilder().setTopic("keyed");
        for (int i = 0; i < 50; i++) {
            req.addRecords(ProducedRecord.newBuilder().setValue(b("nokey" + i)));
        }
        ProduceRecordsResponse r = stub().produceRecords(req.build());
        assertEquals(1, r.getPartitionsCount(), r.toString());
        assertEquals(50, r.getPartitions(0).getRecordIndexesCount());
    }

    @Test
    void theThinApiAndTheJavaClientReadEachOthersRecords() throws Exception {
        Map<String, Object> cfg = new HashMap<>();
        cfg.put("bootstrap.servers", node.bootstrap());
        try (Admin admin = new Admin(cfg)) {
            admin.createTopics(List.of(new NewTopic("mixed", 1, 1, Map.of())), false).get("mixed").get(30, TimeUnit.SECONDS);
        }
        ProduceRecordsResponse r = stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("mixed")
                .addRecords(ProducedRecord.newBuilder().setKey(b("thin")).setValue(b("from grpc"))
                        .addHeaders(RecordHeader.newBuilder().setKey("h").setValue(b("1"))))
                .build());
        assertEquals(ErrorCode.NONE, r.getPartitions(0).getErrorCode());
        Map<String, Object> pc = new HashMap<>(cfg);
        pc.put("acks", "all");
        try (Producer<byte[], byte[]> p = new Producer<>(pc, new ByteArraySerializer(), new ByteArraySerializer())) {
            Producer.await(p.send(new ProducerRecord<>("mixed", 0, null, "java".getBytes(StandardCharsets.UTF_8),
                    "from the java client".getBytes(StandardCharsets.UTF_8),
                    List.of(new Header("h", "2".getBytes(StandardCharsets.UTF_8))))), Duration.ofSeconds(30));
        }
        Map<String, Object> cc = new HashMap<>(cfg);
        cc.put("auto.offset.reset", "earliest");
        List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
        try (Consumer<byte[], byte[]> c = new Consumer<>(cc, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition("mixed", 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got.size() < 2 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
            }
        }
        assertEquals(2, got.size());
        assertArrayEquals("from grpc".getBytes(StandardCharsets.UTF_8), got.get(0).value());
        assertEquals(List.of(new Header("h", "1".getBytes(StandardCharsets.UTF_8))), got.get(0).headers());
        FetchRecordsResponse f = stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("mixed").setOffset(-2).build());
        assertEquals(2, f.getRecordsCount());
        assertEquals(b("from the java client"), f.getRecords(1).getValue());
        assertEquals(b("2"), f.getRecords(1).getHeaders(0).getValue());
    }

    @Test
    void aSubscriptionDeliversRecordsWrittenAfterItStarted() throws Exception {
        try (Admin admin = new Admin(Map.of("bootstrap.servers", node.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic("live", 1, 1, Map.of())), false).get("live").get(30, TimeUnit.SECONDS);
        }
        LinkedBlockingQueue<FetchRecordsResponse> messages = new LinkedBlockingQueue<>();
        io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
        try {
            ctx.run(() -> RecordServiceGrpc.newStub(channel).subscribeRecords(FetchRecordsRequest.newBuilder().setTopic("live")
                    .setOffset(-1).setMaxWaitMs(200).build(), new StreamObserver<>() {
                        @Override
                        public void onNext(FetchRecordsResponse value) {
                            messages.add(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                        }

                        @Override
                        public void onCompleted() {
                        }
                    }));
            FetchRecordsResponse heartbeat = messages.poll(10, TimeUnit.SECONDS);
            assertTrue(heartbeat != null && heartbeat.getRecordsCount() == 0, "an idle subscription sends heartbeats");
            for (int i = 0; i < 30; i++) {
                stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("live")
                        .addRecords(ProducedRecord.newBuilder().setValue(b("live-" + i))).build());
            }
            List<String> seen = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (seen.size() < 30 && System.nanoTime() < deadline) {
                FetchRecordsResponse m = messages.poll(1, TimeUnit.SECONDS);
                if (m != null) {
                    assertEquals(ErrorCode.NONE, m.getErrorCode(), m.getErrorMessage());
                    m.getRecordsList().forEach(rec -> seen.add(rec.getValue().toStringUtf8()));
                }
            }
            List<String> want = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                want.add("live-" + i);
            }
            assertEquals(want, seen);
        } finally {
            ctx.cancel(null);
        }
    }

    @Test
    void badRequestsGetTypedErrors() {
        assertEquals(ErrorCode.UNKNOWN_TOPIC, stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("nope")
                .addRecords(ProducedRecord.newBuilder().setValue(b("x"))).build()).getErrorCode());
        assertEquals(ErrorCode.INVALID_PARTITION, stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("thin")
                .setPartition(9).addRecords(ProducedRecord.newBuilder().setValue(b("x"))).build()).getErrorCode());
        assertEquals(ErrorCode.INVALID_REQUEST, stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("thin")
                .setPartition(-3).addRecords(ProducedRecord.newBuilder().setValue(b("x"))).build()).getErrorCode());
        assertEquals(ErrorCode.INVALID_REQUEST, stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("thin")
                .build()).getErrorCode());
        assertEquals(ErrorCode.INVALID_REQUEST, stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("thin")
                .setAcksValue(7).addRecords(ProducedRecord.newBuilder().setValue(b("x"))).build()).getErrorCode());
        // Found probing: the limit was documented but never checked, and a negative timestamp and a
        // name no topic can have were accepted (the Java client refuses both).
        ProduceRecordsRequest.Builder tooMany = ProduceRecordsRequest.newBuilder().setTopic("thin");
        for (int i = 0; i < 1001; i++) {
            tooMany.addRecords(ProducedRecord.newBuilder().setValue(b("r" + i)));
        }
        ProduceRecordsResponse refused = stub().produceRecords(tooMany.build());
        assertEquals(ErrorCode.INVALID_REQUEST, refused.getErrorCode(), refused.toString());
        assertTrue(refused.getErrorMessage().contains("gateway.records.per.request.max=1000"), refused.getErrorMessage());
        assertEquals(ErrorCode.NONE, stub().produceRecords(tooMany.removeRecords(1000).build()).getErrorCode(), "1000 fit");
        assertEquals(ErrorCode.INVALID_REQUEST, stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("thin")
                .addRecords(ProducedRecord.newBuilder().setValue(b("x")).setTimestampMs(-5)).build()).getErrorCode());
        assertEquals(ErrorCode.INVALID_TOPIC, stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("bad/name")
                .addRecords(ProducedRecord.newBuilder().setValue(b("x"))).build()).getErrorCode());
        ProduceRecordsResponse compacted = stub().produceRecords(ProduceRecordsRequest.newBuilder().setTopic("compacted")
                .addRecords(ProducedRecord.newBuilder().setValue(b("no key on a compacted topic"))).build());
        assertEquals(ErrorCode.INVALID_RECORD, compacted.getPartitions(0).getErrorCode(), compacted.toString());

        assertEquals(ErrorCode.UNKNOWN_TOPIC, stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("nope").build())
                .getErrorCode());
        assertEquals(ErrorCode.INVALID_TOPIC, stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("bad topic").build())
                .getErrorCode(), "as ProduceRecords answers it");
        assertEquals(ErrorCode.INVALID_PARTITION, stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("thin")
                .setPartition(4).build()).getErrorCode());
        assertEquals(ErrorCode.INVALID_REQUEST, stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("thin")
                .setOffset(-7).build()).getErrorCode());
        assertEquals(ErrorCode.INVALID_REQUEST, stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("thin")
                .setMaxRecords(1_000_000).build()).getErrorCode());
        FetchRecordsResponse past = stub().fetchRecords(FetchRecordsRequest.newBuilder().setTopic("thin")
                .setOffset(1_000_000).build());
        assertEquals(ErrorCode.OFFSET_OUT_OF_RANGE, past.getErrorCode());
        assertTrue(past.getHighWatermark() >= 0, "the answer says where the log ends: " + past);
        assertFalse(past.getRecordsCount() > 0);
    }
}

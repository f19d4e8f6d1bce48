package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.admin.DeletedRecords;
import dev.basalt.client.serialization.ByteArrayDeserializer;
import dev.basalt.client.testkit.FakeCluster;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Admin#deleteRecords} against a {@link FakeCluster} of two brokers: each partition is sent
 * to its leader (the fake answers NOT_LEADER with a leader hint elsewhere, as the brokers do), NOT_LEADER
 * and other retriable answers are sent again after a metadata refresh or to the hinted leader until
 * the timeout, and each definite refusal fails only its partition's future with its typed exception.
 * Method: records are appended to the fake's logs directly; the fake records every partition of every
 * DeleteRecords request ("broker:topic-partition@offset"), which the routing assertions compare
 * exactly. Reproduce: {@code ./mvnw -B -ntp -o -q test -pl client -am -Dtest=AdminDeleteRecordsTest
 * -Dsurefire.failIfNoSpecifiedTests=false -Djacoco.skip=true}.
 */
class AdminDeleteRecordsTest {
    private static final Duration T = Duration.ofSeconds(20);
    private FakeCluster cluster;
    private Admin admin;

    @BeforeEach
    void start() throws Exception {
        cluster = FakeCluster.start(2);
        admin = new Admin(Map.of("bootstrap.servers", cluster.bootstrap(), "default.api.timeout.ms", 10_000, "retry.backoff.ms", 20));
    }

    @AfterEach
    void stop() {
        admin.close();
        cluster.close();
    }

    /** Appends {@code count} one-record batches. */
    private void append(String topic, int partition, int count) {
        for (int i = 0; i < count; i++) {
            RecordBatchBuilder b = new RecordBatchBuilder(ByteBuffer.allocate(256), 1_000);
            b.tryAppend(1_000, null, ("v" + i).getBytes(StandardCharsets.UTF_8), List.of());
            cluster.appendBatches(topic, partition, b.build().buffer());
        }
    }

    private static TopicPartition tp(String topic, int partition) {
        return new TopicPartition(topic, partition);
    }

    private static Map<TopicPartition, Long> offsets(Object... topicPartitionOffset) {
        Map<TopicPartition, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < topicPartitionOffset.length; i += 3) {
            out.put(tp((String) topicPartitionOffset[i], (Integer) topicPartitionOffset[i + 1]),
                    ((Number) topicPartitionOffset[i + 2]).longValue());
        }
        return out;
    }

    @Test
    void deletesBelowTheOffset_eachPartitionAtItsLeader_andEarliestFollows() {
        cluster.createTopic("t", 2); // t-0 led by broker 1, t-1 by broker 2
        append("t", 0, 5);
        append("t", 1, 4);
        Map<TopicPartition, CompletableFuture<DeletedRecords>> r = admin.deleteRecords(offsets("t", 0, 3, "t", 1, -1));
        assertEquals(List.of(tp("t", 0), tp("t", 1)), List.copyOf(r.keySet()), "one future per partition, in the caller's order");
        assertEquals(new DeletedRecords(3), Admin.get(r.get(tp("t", 0)), T));
        assertEquals(new DeletedRecords(4), Admin.get(r.get(tp("t", 1)), T), "-1: below the high watermark");
        assertEquals(List.of("1:t-0@3", "2:t-1@-1"), cluster.deleteRecordsRequests().stream().sorted().toList());
        assertEquals(3, cluster.logStartOffset("t", 0));
        assertEquals(4, cluster.logStartOffset("t", 1));
        int sent = cluster.lastDeleteRecordsTimeoutMs();
        assertTrue(sent > 0 && sent <= 10_000, "timeout_ms within default.api.timeout.ms: " + sent);
        try (Consumer<byte[], byte[]> c = new Consumer<>(Map.of("bootstrap.servers", cluster.bootstrap()),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            assertEquals(Map.of(tp("t", 0), 3L, tp("t", 1), 4L), c.beginningOffsets(List.of(tp("t", 0), tp("t", 1)), T));
        }
    }

    /** Idempotent: an offset at or below the log start changes nothing and answers the current low watermark. */
    @Test
    void anOffsetBelowTheLogStart_changesNothing_andAnswersTheLowWatermark() {
        cluster.createTopic("t", 1);
        append("t", 0, 5);
        assertEquals(new DeletedRecords(4), Admin.get(admin.deleteRecords(offsets("t", 0, 4)).get(tp("t", 0)), T));
        assertEquals(new DeletedRecords(4), Admin.get(admin.deleteRecords(offsets("t", 0, 2)).get(tp("t", 0)), T));
        assertEquals(new DeletedRecords(4), Admin.get(admin.deleteRecords(offsets("t", 0, 4)).get(tp("t", 0)), T));
        assertEquals(4, cluster.logStartOffset("t", 0));
    }

    /**
     * The metadata the call starts with is out of date (built before the leader moved): the old
     * leader answers NOT_LEADER, and the partition is sent again, after a refresh, to the new one.
     */
    @Test
    void notLeader_isSentAgain_toTheLeaderAFreshMetadataNames() throws Exception {
        cluster.createTopic("t", 1, 2); // replicas 1, 2; broker 1 leads
        append("t", 0, 6);
        cluster.holdMetadata();
        CompletableFuture<DeletedRecords> f;
        try {
            int before = cluster.metadataRequests();
            f = admin.deleteRecords(offsets("t", 0, 5)).get(tp("t", 0));
            long until = System.nanoTime() + 5_000_000_000L;
            while (cluster.metadataRequests() == before && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertTrue(cluster.metadataRequests() > before, "the call asked for metadata");
            cluster.moveLeader("t", 0, 2); // after the answer was built: it names broker 1
        } finally {
            cluster.releaseMetadata();
        }
        assertEquals(new DeletedRecords(5), Admin.get(f, T));
        assertEquals(List.of("1:t-0@5", "2:t-0@5"), cluster.deleteRecordsRequests());
        assertEquals(5, cluster.logStartOffset("t", 0));
    }

    /**
     * Every broker's metadata still names broker 1 after the leader moved (a lagging image): the
     * NOT_LEADER answer's leader_id_hint is followed instead of asking broker 1 until the timeout.
     */
    @Test
    void notLeader_followsTheLeaderHint_whileTheMetadataStillNamesTheOldLeader() {
        cluster.createTopic("t", 1, 2);
        append("t", 0, 3);
        cluster.moveLeader("t", 0, 2);
        cluster.staleMetadataLeader("t", 0, 1, 0);
        assertEquals(new DeletedRecords(2), Admin.get(admin.deleteRecords(offsets("t", 0, 2)).get(tp("t", 0)), T));
        assertEquals(List.of("1:t-0@2", "2:t-0@2"), cluster.deleteRecordsRequests());
    }

    /** NOT_LEADER without a leader to go to: asked again until the timeout, then the last answer as the cause. */
    @Test
    void notLeaderUntilTheTimeout_isAClientTimeout_causedByTheLastAnswer() {
        cluster.createTopic("t", 1, 2);
        append("t", 0, 3);
        cluster.moveLeader("t", 0, -1);
        cluster.staleMetadataLeader("t", 0, 1, 0);
        long start = System.nanoTime();
        ClientTimeoutException e = assertThrows(ClientTimeoutException.class,
                () -> Admin.get(admin.deleteRecords(offsets("t", 0, 2), Duration.ofMillis(1_000)).get(tp("t", 0)), T));
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMs >= 900 && tookMs < 5_000, "ended at the call's timeout: " + tookMs + " ms");
        assertTrue(e.getMessage().startsWith("records of t-0 below offset 2 not deleted within 1000 ms: delete records of t-0 at"
                + " broker 1 (127.0.0.1:" + cluster.broker(1).port() + "): NOT_LEADER"), e.getMessage());
        assertInstanceOf(NotLeaderException.class, e.getCause());
        assertTrue(cluster.deleteRecordsRequests().size() >= 3, "asked again: " + cluster.deleteRecordsRequests());
        assertEquals(0, cluster.logStartOffset("t", 0));
    }

    /**
     * A leader that moved the log start and then answered a retriable error (leadership moved while
     * it waited for its replicas) leaves the outcome open: at the deadline the future is
     * indeterminate, not "nothing was done".
     */
    @Test
    void aRetriableErrorAfterTheLogStartMoved_isIndeterminateAtTheDeadline() {
        cluster.createTopic("t", 1);
        append("t", 0, 4);
        cluster.injectDeleteRecordsError(ErrorCode.NOT_LEADER, 1_000, true);
        IndeterminateException e = assertThrows(IndeterminateException.class,
                () -> Admin.get(admin.deleteRecords(offsets("t", 0, 2), Duration.ofMillis(800)).get(tp("t", 0)), T));
        assertTrue(e.getMessage().startsWith("records of t-0 below offset 2 not deleted within 800 ms, and a leader may have moved"
                + " the partition's log start before that"), e.getMessage());
        assertInstanceOf(NotLeaderException.class, e.getCause());
        assertEquals(2, cluster.logStartOffset("t", 0));
    }

    /** Definite refusals fail their own partition's future at once, with their typed exception; the others succeed. */
    @Test
    void refusals_failOnlyTheirPartition_withTheirTypedException() {
        cluster.createTopic("t", 2);
        cluster.createTopic("compacted", 1);
        Admin.getAll(admin.alterConfigs(Map.of(new dev.basalt.client.admin.ConfigResource(
                dev.basalt.client.admin.ConfigResource.Type.TOPIC, "compacted"),
                List.of(dev.basalt.client.admin.AlterConfigOp.set("cleanup.policy", "compact"))), false), T);
        append("t", 0, 5);
        append("t", 1, 2);
        long start = System.nanoTime();
        Map<TopicPartition, CompletableFuture<DeletedRecords>> r = admin.deleteRecords(offsets("t", 0, 1, "t", 1, 3, "t", 7, 0,
                "missing", 0, 0, "compacted", 0, 0));
        assertEquals(new DeletedRecords(1), Admin.get(r.get(tp("t", 0)), T));
        OffsetOutOfRangeException range = assertThrows(OffsetOutOfRangeException.class, () -> Admin.get(r.get(tp("t", 1)), T));
        assertEquals(tp("t", 1), range.partition());
        assertEquals(3, range.offset());
        assertTrue(range.getMessage().contains("OFFSET_OUT_OF_RANGE (offset 3 is above the high watermark 2)"), range.getMessage());
        InvalidPartitionException partition = assertThrows(InvalidPartitionException.class, () -> Admin.get(r.get(tp("t", 7)), T));
        assertEquals("delete records of t-7: INVALID_PARTITION (topic t has 2 partitions)", partition.getMessage());
        UnknownTopicException unknown = assertThrows(UnknownTopicException.class, () -> Admin.get(r.get(tp("missing", 0)), T));
        assertEquals("delete records of missing-0: UNKNOWN_TOPIC (topic missing does not exist)", unknown.getMessage());
        InvalidRequestException compacted = assertThrows(InvalidRequestException.class,
                () -> Admin.get(r.get(tp("compacted", 0)), T));
        assertTrue(compacted.getMessage().contains("INVALID_REQUEST (cleanup.policy is compact"), compacted.getMessage());
        assertTrue((System.nanoTime() - start) / 1_000_000 < 2_500, "failed at once, not at the timeout");
        assertEquals(1, cluster.logStartOffset("t", 0));
        assertEquals(0, cluster.logStartOffset("t", 1));
    }

    /**
     * REQUEST_TIMED_OUT: the leader moved its log start but a replica had not followed in time. A
     * leader change could still undo it; the future fails as indeterminate saying so, and the request is not repeated.
     */
    @Test
    void requestTimedOut_isIndeterminate_sayingALeaderChangeCouldUndoIt() {
        cluster.createTopic("t", 1);
        append("t", 0, 4);
        cluster.injectDeleteRecordsError(ErrorCode.REQUEST_TIMED_OUT, 1, true);
        IndeterminateException e = assertThrows(IndeterminateException.class,
                () -> Admin.get(admin.deleteRecords(offsets("t", 0, 3)).get(tp("t", 0)), T));
        assertEquals("delete records of t-0 at broker 1 (127.0.0.1:" + cluster.broker(1).port() + "): REQUEST_TIMED_OUT (fake: log"
                + " start moved, then REQUEST_TIMED_OUT): the leader moved the partition's log start up to offset 3, but an"
                + " in-sync replica had not followed within the request's timeout; replicas normally follow with their next"
                + " fetch, but a leader change before they do would undo the deletion (ask again to make sure)", e.getMessage());
        assertEquals(List.of("1:t-0@3"), cluster.deleteRecordsRequests());
        assertEquals(3, cluster.logStartOffset("t", 0));
    }

    /** A retriable refusal (a leader's disk failing) is asked again until it succeeds. */
    @Test
    void storageError_isAskedAgain() {
        cluster.createTopic("t", 1);
        append("t", 0, 4);
        cluster.injectDeleteRecordsError(ErrorCode.STORAGE_ERROR, 2, false);
        assertEquals(new DeletedRecords(4), Admin.get(admin.deleteRecords(offsets("t", 0, -1)).get(tp("t", 0)), T));
        assertEquals(List.of("1:t-0@-1", "1:t-0@-1", "1:t-0@-1"), cluster.deleteRecordsRequests());
    }

    @Test
    void badInput_isRefusedBeforeAnythingIsSent() {
        cluster.createTopic("t", 1);
        IllegalArgumentException below = assertThrows(IllegalArgumentException.class,
                () -> admin.deleteRecords(offsets("t", 0, -2)));
        assertEquals("deleteRecords: offset -2 for t-0 is below -1: give the offset to delete below (from 0), or -1 for the high"
                + " watermark (every committed record)", below.getMessage());
        Map<TopicPartition, Long> nullOffset = new java.util.HashMap<>();
        nullOffset.put(tp("t", 0), null);
        assertEquals("deleteRecords: no offset for t-0",
                assertThrows(IllegalArgumentException.class, () -> admin.deleteRecords(nullOffset)).getMessage());
        assertEquals("partition must be >= 0, got -1",
                assertThrows(IllegalArgumentException.class, () -> new TopicPartition("t", -1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> admin.deleteRecords(offsets("t", 0, 0), Duration.ZERO));
        assertTrue(admin.deleteRecords(Map.of()).isEmpty());
        assertEquals(List.of(), cluster.deleteRecordsRequests());
    }

    /** No broker answers: a timeout whose cause says the cluster could not be reached (the CLI's exit 3). */
    @Test
    void noBroker_isATimeout_causedByTheConnectionFailure() {
        try (Admin nowhere = new Admin(Map.of("bootstrap.servers", FakeCluster.deadAddress(), "default.api.timeout.ms", 500,
                "retry.backoff.ms", 20))) {
            ClientTimeoutException e = assertThrows(ClientTimeoutException.class,
                    () -> Admin.get(nowhere.deleteRecords(offsets("t", 0, 1)).get(tp("t", 0)), T));
            assertTrue(e.getMessage().startsWith("records of t-0 below offset 1 not deleted within 500 ms: no metadata: "),
                    e.getMessage());
            assertInstanceOf(ConnectionException.class, e.getCause());
        }
    }
}

package dev.basalt.broker.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.metadata.MetadataUpdate;
import dev.basalt.broker.purgatory.Purgatory;
import dev.basalt.broker.replica.AlterPartitionSender;
import dev.basalt.broker.replica.Partition;
import dev.basalt.broker.replica.ReplicaConfig;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.broker.replica.ReplicaRequestHandler;
import dev.basalt.broker.replica.fetcher.ReplicaClient;
import dev.basalt.broker.testkit.ManualTimer;
import dev.basalt.broker.testkit.UnreachableReplicaClient;
import dev.basalt.log.FetchSlice;
import dev.basalt.log.LogConfig;
import dev.basalt.log.LogManager;
import dev.basalt.log.LogManagerOptions;
import dev.basalt.log.TopicPartition;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchResponse;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import dev.basalt.proto.v1.TopicRecord;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: the consumer Fetch path's replication promises (fetch.proto): current_leader_epoch is
 * enforced (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH), a leader sends a rack-aware consumer to a
 * caught-up in-sync replica in its rack (preferred_read_replica, KIP-392), a follower serves such a
 * consumer but never past its own HW, and a full fetch purgatory answers THROTTLED. Also the
 * leader's checks of a follower's ReplicaFetch (incarnation, input, topic id, shutdown).
 *
 * <p>Method: one broker (id 1, rack r1) with brokers 2 (rack r2) and 3 (rack r3) in the image;
 * follower progress is fed to the leader directly. Reproduce: {@code ./mvnw -B -ntp -o -pl broker
 * -am verify -Dtest=FetchHandlerReplicaTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class FetchHandlerReplicaTest {
    private static final UUID TOPIC_ID = new UUID(21, 22);
    private static final TopicPartition TP = new TopicPartition("t", 0);

    @TempDir
    Path dir;
    private LogManager logs;
    private ReplicaManager rm;
    private FetchHandler fetch;
    private MetadataImage image = MetadataImage.EMPTY;
    private final List<FetchSlice> held = new ArrayList<>();

    @BeforeEach
    void open() {
        logs = LogManager.open(dir, LogConfig.DEFAULT, Clock.systemUTC(), LogManagerOptions.DEFAULT.withoutPeriodicTasks(), FileLayer.DEFAULT);
        ManualTimer timer = new ManualTimer();
        AlterPartitionSender refuse = r -> CompletableFuture.completedFuture(
                new AlterPartitionSender.Result(ErrorCode.NOT_CONTROLLER, "test", null));
        ReplicaClient.Factory unreachable = UnreachableReplicaClient.FACTORY;
        // fetch.inflight.max = 1 so that the THROTTLED test fills it with one parked fetch.
        rm = new ReplicaManager(ReplicaConfig.defaults(1, Map.of("durable.acks", "false")), logs, new Purgatory<>("fetch", timer, 1),
                new Purgatory<>("produce", timer, 10), refuse, () -> new UUID(1, 1), unreachable, Clock.systemUTC());
        fetch = new FetchHandler(rm, 30_000);
    }

    @AfterEach
    void close() {
        held.forEach(FetchSlice::close);
        rm.close();
        logs.close();
    }

    /**
     * Whether brokers register a replication (PLAINTEXT) endpoint. Tests that append to a follower
     * by hand turn it off: otherwise this broker's real fetcher would follow the (unreachable)
     * leader and could truncate the hand-made tail above the HW concurrently (KIP-101's fallback
     * for a log with no epoch yet), which made such a test flaky.
     */
    private boolean replicationEndpoints = true;

    private void publish(int leader, int leaderEpoch) {
        MetadataDelta d = new MetadataDelta(image);
        if (image.cluster().broker(1).isEmpty()) {
            for (int id = 1; id <= 3; id++) {
                d.replay(MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder().setBrokerId(id)
                        .setIncarnationId(ProtoIds.toProto(new UUID(id, 1))).setFenced(false).setRack("r" + id)
                        .addEndpoints(BrokerEndpoint.newBuilder().setName(replicationEndpoints ? "PLAINTEXT" : "ADMIN")
                                .setHost("127.0.0.1").setPort(9400 + id))).build());
            }
            d.replay(MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName("t").setTopicId(ProtoIds.toProto(TOPIC_ID))).build());
        }
        d.replay(MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(TOPIC_ID))
                .setPartition(0).addAllReplicas(List.of(1, 2, 3)).addAllIsr(List.of(1, 2, 3)).setLeader(leader)
                .setLeaderEpoch(leaderEpoch).setPartitionEpoch(leaderEpoch)).build());
        MetadataImage next = d.apply();
        rm.onMetadataUpdate(new MetadataUpdate(image, next, -1, true));
        image = next;
    }

    private static ByteBuffer batch() {
        ByteBuffer buf = ByteBuffer.allocate(256);
        RecordBatchBuilder b = new RecordBatchBuilder(buf, 0L);
        b.tryAppend(1L, "k".getBytes(), "v".getBytes(), List.of());
        return b.build().buffer();
    }

    private FetchResponse fetch(String rack, int currentLeaderEpoch, long offset, int maxWaitMs) {
        return fetch(rack, currentLeaderEpoch, offset, maxWaitMs, "");
    }

    private FetchResponse fetch(String rack, int currentLeaderEpoch, long offset, int maxWaitMs, String topicId) {
        FetchRequest.PartitionData.Builder pd = FetchRequest.PartitionData.newBuilder().setPartition(0).setFetchOffset(offset)
                .setPartitionMaxBytes(1 << 20);
        if (currentLeaderEpoch >= 0) {
            pd.setCurrentLeaderEpoch(currentLeaderEpoch);
        }
        CompletableFuture<FetchResponse> out = new CompletableFuture<>();
        fetch.handle(FetchRequest.newBuilder().setMaxWaitMs(maxWaitMs).setMaxBytes(1 << 20).setClientRack(rack)
                .addTopics(FetchRequest.TopicData.newBuilder().setName("t").setTopicId(topicId).addPartitions(pd)).build(), (reply, slices) -> {
                    held.addAll(slices);
                    out.complete(reply.toResponse());
                });
        return out.getNow(null);
    }

    private static FetchResponse.PartitionResponse only(FetchResponse r) {
        return r.getTopics(0).getPartitions(0);
    }

    @Test
    void currentLeaderEpoch_isEnforcedOnConsumerFetches() {
        publish(1, 4);
        assertEquals(ErrorCode.FENCED_LEADER_EPOCH, only(fetch("", 3, 0, 0)).getErrorCode());
        FetchResponse.PartitionResponse unknown = only(fetch("", 5, 0, 0));
        assertEquals(ErrorCode.UNKNOWN_LEADER_EPOCH, unknown.getErrorCode());
        assertEquals(4, unknown.getLeaderEpochHint());
        assertEquals(ErrorCode.NONE, only(fetch("", 4, 0, 0)).getErrorCode());
        assertEquals(ErrorCode.NONE, only(fetch("", -1, 0, 0)).getErrorCode(), "absent: no check");
    }

    @Test
    void leaderSendsARackAwareConsumerToACaughtUpInSyncReplicaOfItsRack() {
        publish(1, 0);
        Partition p = rm.partition(TP).orElseThrow();
        assertEquals(ErrorCode.NONE, p.appendAsLeader(batch(), 1).error());
        FetchResponse.PartitionResponse before = only(fetch("r2", 0, 0, 0));
        assertFalse(before.hasPreferredReadReplica(), "replica 2 has not fetched in this epoch: not known to be caught up");
        // Followers 2 and 3 fetch up to the leader's end; the HW reaches 1.
        p.readForFollower(2, 1, 1, 0, 1024, 1).slice().close();
        p.readForFollower(3, 1, 1, 0, 1024, 1).slice().close();
        assertEquals(1, p.highWatermark());
        FetchResponse.PartitionResponse r = only(fetch("r2", 0, 0, 0));
        assertEquals(2, r.getPreferredReadReplica());
        assertTrue(r.getRecords().isEmpty(), "no records with a redirect");
        assertFalse(only(fetch("r1", 0, 0, 0)).hasPreferredReadReplica(), "the leader is in the consumer's rack");
        assertFalse(only(fetch("r9", 0, 0, 0)).hasPreferredReadReplica(), "no replica in that rack");
        assertFalse(only(fetch("", 0, 0, 0)).hasPreferredReadReplica(), "no rack, no redirect");
        assertFalse(p.servesFollowerReads(System.currentTimeMillis()), "reads at the leader are not follower reads");

        // Found by review: a fetch naming another topic id (the topic was deleted and created again)
        // got the redirect, which the consumer takes as this broker confirming its position's topic.
        FetchResponse.PartitionResponse otherTopic = only(fetch("r2", 0, 0, 0, new UUID(9, 9).toString()));
        assertEquals(ErrorCode.UNKNOWN_TOPIC_ID, otherTopic.getErrorCode());
        assertFalse(otherTopic.hasPreferredReadReplica());
        assertEquals(2, only(fetch("r2", 0, 0, 0, TOPIC_ID.toString())).getPreferredReadReplica(), "its own id: redirected");
    }

    @Test
    void followerServesARackAwareConsumer_neverPastItsHighWatermark() {
        replicationEndpoints = false; // the test plays the fetcher's part itself
        publish(2, 1); // broker 1 follows broker 2
        Partition p = rm.partition(TP).orElseThrow();
        assertTrue(p.isFollowing(2, 1));
        assertTrue(p.appendAsFollower(batch(), 1, 0, 0, 0) != null, "the follower copied one batch; the leader's HW is still 0");
        FetchResponse.PartitionResponse r = only(fetch("r1", 1, 0, 0));
        assertEquals(ErrorCode.NONE, r.getErrorCode());
        assertTrue(r.getRecords().isEmpty(), "offset 0 is above the follower's HW 0");
        assertEquals(0, r.getHighWatermark());
        p.appendAsFollower(ByteBuffer.allocate(0), 1, 1, 0, 0); // the next answer brings HW 1
        FetchResponse.PartitionResponse after = only(fetch("r1", 1, 0, 0));
        assertFalse(after.getRecords().isEmpty());
        assertEquals(1, after.getHighWatermark());
        assertEquals(ErrorCode.NOT_LEADER, only(fetch("", 1, 0, 0)).getErrorCode(), "without client_rack only the leader serves");
        assertEquals(ErrorCode.FENCED_LEADER_EPOCH, only(fetch("r1", 0, 0, 0)).getErrorCode());
    }

    @Test
    void aConsumerReadingAFollower_makesItWantHighWatermarkPushes_untilItsWaitAndAGracePass() {
        replicationEndpoints = false; // the test plays the fetcher's part itself
        publish(2, 1); // broker 1 follows broker 2
        Partition p = rm.partition(TP).orElseThrow();
        long before = System.currentTimeMillis();
        assertFalse(p.servesFollowerReads(before), "no consumer read this follower yet");
        assertEquals(ErrorCode.NOT_LEADER, only(fetch("", 1, 0, 0)).getErrorCode());
        assertFalse(p.servesFollowerReads(before), "a refused read (no client_rack) is not a follower read");
        assertEquals(ErrorCode.NONE, only(fetch("r1", 1, 0, 0)).getErrorCode());
        long after = System.currentTimeMillis();
        long grace = FetchHandler.FOLLOWER_READ_INTEREST_GRACE_MS;
        assertTrue(p.servesFollowerReads(after));
        assertTrue(p.servesFollowerReads(before + grace - 1));
        assertFalse(p.servesFollowerReads(after + grace), "interest lapses when no consumer comes back");
    }

    @Test
    void fullFetchPurgatory_answersThrottled() {
        publish(1, 0);
        assertEquals(null, fetch("", 0, 0, 10_000), "the first empty long poll parks");
        FetchResponse second = fetch("", 0, 0, 10_000);
        assertEquals(ErrorCode.THROTTLED, second.getErrorCode());
    }

    private ReplicaFetchResponse replicaFetch(ReplicaRequestHandler h, String incarnation, String topicId, long offset, long flushed) {
        CompletableFuture<ReplicaFetchResponse> out = new CompletableFuture<>();
        h.handleFetch(ReplicaFetchRequest.newBuilder().setReplicaId(2).setBrokerIncarnationId(incarnation).setMaxWaitMs(0)
                .addPartitions(ReplicaFetchRequest.PartitionData.newBuilder().setTopicId(topicId).setPartition(0).setFetchOffset(offset)
                        .setFlushedOffset(flushed).setCurrentLeaderEpoch(0)).build(), out::complete);
        return out.getNow(null);
    }

    @Test
    void replicaFetch_checksIncarnationInputAndTopicId() {
        publish(1, 0);
        ReplicaRequestHandler h = new ReplicaRequestHandler(rm, 30_000);
        String broker2 = new UUID(2, 1).toString();
        assertEquals(ErrorCode.STALE_BROKER_INCARNATION, replicaFetch(h, new UUID(2, 99).toString(), TOPIC_ID.toString(), 0, 0)
                .getErrorCode(), "an old process of broker 2 must not count as its progress");
        assertEquals(ErrorCode.INVALID_REQUEST, replicaFetch(h, broker2, TOPIC_ID.toString(), 0, 1).getErrorCode(),
                "flushed above fetch offset");
        assertEquals(ErrorCode.UNKNOWN_TOPIC_ID, replicaFetch(h, broker2, new UUID(5, 5).toString(), 0, 0).getPartitions(0).getErrorCode());
        ReplicaFetchResponse ok = replicaFetch(h, broker2, TOPIC_ID.toString(), 0, 0);
        assertEquals(ErrorCode.NONE, ok.getErrorCode());
        assertEquals(ErrorCode.NONE, ok.getPartitions(0).getErrorCode());
        rm.close();
        assertEquals(ErrorCode.BROKER_NOT_AVAILABLE, replicaFetch(h, broker2, TOPIC_ID.toString(), 0, 0).getErrorCode());
    }

    /**
     * Found by review: a follower that abandons a fetch parked here (it cancels its session stream to
     * ask for a partition it started following) left the fetch parked; once woken it read the log
     * and recorded the follower's progress from the old request, for nobody. Now it does neither.
     */
    @Test
    void aParkedReplicaFetch_whoseFollowerAbandonedIt_isNotRead() {
        publish(1, 0);
        ReplicaRequestHandler h = new ReplicaRequestHandler(rm, 30_000);
        Partition p = rm.partition(TP).orElseThrow();
        // the control: a parked fetch is answered once a write wakes it
        CompletableFuture<ReplicaFetchResponse> waiting = new CompletableFuture<>();
        h.handleFetch(parkedAt(0), waiting::complete);
        assertFalse(waiting.isDone(), "parked: nothing to read yet");
        assertEquals(ErrorCode.NONE, p.appendAsLeader(batch(), 1).error());
        rm.fetchWaiters().checkAndComplete(TP); // as the produce path does after an append
        assertEquals(ErrorCode.NONE, waiting.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join().getErrorCode());
        // the same, abandoned by its follower before the write
        java.util.List<ReplicaFetchResponse> toAbandoned = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        h.handleFetch(parkedAt(1), new ReplicaRequestHandler.Responder() {
            @Override
            public void accept(ReplicaFetchResponse r) {
                toAbandoned.add(r);
            }

            @Override
            public boolean abandoned() {
                return gone.get();
            }
        });
        assertTrue(toAbandoned.isEmpty(), "parked: nothing past offset 1 yet: " + toAbandoned);
        gone.set(true);
        assertEquals(ErrorCode.NONE, p.appendAsLeader(batch(), 1).error());
        rm.fetchWaiters().checkAndComplete(TP); // wakes it, as it woke the first
        assertTrue(toAbandoned.isEmpty(), "nobody waits for it: not read, not answered: " + toAbandoned);
        CompletableFuture<ReplicaFetchResponse> next = new CompletableFuture<>();
        h.handleFetch(parkedAt(1), next::complete);
        assertEquals(ErrorCode.NONE, next.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join().getErrorCode(),
                "its slot was given back: the follower's next fetch is served");
    }

    private static ReplicaFetchRequest parkedAt(long offset) {
        return ReplicaFetchRequest.newBuilder().setReplicaId(2).setBrokerIncarnationId(new UUID(2, 1).toString()).setMaxWaitMs(10_000)
                .addPartitions(ReplicaFetchRequest.PartitionData.newBuilder().setTopicId(TOPIC_ID.toString()).setPartition(0)
                        .setFetchOffset(offset).setFlushedOffset(0).setCurrentLeaderEpoch(0)).build();
    }

    @Test
    void listOffsets_enforcesCurrentLeaderEpochToo() {
        publish(1, 4);
        ListOffsetsHandler h = new ListOffsetsHandler(rm);
        java.util.function.IntFunction<ErrorCode> ask = epoch -> h.handle(dev.basalt.proto.v1.ListOffsetsRequest.newBuilder()
                .addTopics(dev.basalt.proto.v1.ListOffsetsRequest.TopicData.newBuilder().setName("t")
                        .addPartitions(dev.basalt.proto.v1.ListOffsetsRequest.PartitionData.newBuilder().setPartition(0)
                                .setTimestamp(-1).setCurrentLeaderEpoch(epoch))).build())
                .getTopics(0).getPartitions(0).getErrorCode();
        assertEquals(ErrorCode.FENCED_LEADER_EPOCH, ask.apply(3));
        assertEquals(ErrorCode.UNKNOWN_LEADER_EPOCH, ask.apply(5));
        assertEquals(ErrorCode.NONE, ask.apply(4));
    }
}

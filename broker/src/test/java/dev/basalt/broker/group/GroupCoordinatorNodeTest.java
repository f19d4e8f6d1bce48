package dev.basalt.broker.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.BasaltNode;
import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.group.state.GroupRecord;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.DeleteGroupsRequest;
import dev.basalt.proto.v1.DescribeGroupsRequest;
import dev.basalt.proto.v1.DescribeGroupsResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FindCoordinatorRequest;
import dev.basalt.proto.v1.FindCoordinatorResponse;
import dev.basalt.proto.v1.GroupServiceGrpc;
import dev.basalt.proto.v1.ListGroupsRequest;
import dev.basalt.proto.v1.OffsetCommitRequest;
import dev.basalt.proto.v1.OffsetCommitResponse;
import dev.basalt.proto.v1.OffsetFetchRequest;
import dev.basalt.proto.v1.OffsetFetchResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Goal: the coordinator end to end on one real node: __consumer_offsets is created on the first
 * FindCoordinator, a member joins and gets the topic's partitions, commits carry the member epoch
 * (a stale one is refused), and after a restart the coordinator rebuilds the group and its offsets
 * by replaying the partition; the member then expires and the empty group can be deleted.
 *
 * <p>Method: a combined node started in this JVM on free loopback ports, driven over gRPC. Waits
 * poll with a deadline (the node's start is asynchronous).
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=GroupCoordinatorNodeTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class GroupCoordinatorNodeTest {
    @TempDir
    Path dir;
    private BasaltNode node;
    private ManagedChannel channel;

    @AfterEach
    void stop() throws InterruptedException {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (node != null) {
            node.close();
        }
    }

    private static int freePort() {
        return dev.basalt.broker.testkit.TestPorts.freePort(); // below the ephemeral range
    }

    private Map<String, String> config;
    /** Node settings a test adds to the defaults below (before its first start). */
    private final Map<String, String> extraConfig = new java.util.HashMap<>();

    private void start() throws IOException {
        if (config == null) {
            int client = freePort();
            int controller = freePort();
            Map<String, String> c = new java.util.HashMap<>(Map.of("data.dir", dir.toString(), "listeners",
                    "PLAINTEXT://127.0.0.1:" + client + ",CONTROLLER://127.0.0.1:" + controller,
                    "controller.quorum.voters", "1@127.0.0.1:" + controller, "http.admin.listener", "127.0.0.1:" + freePort(),
                    "offsets.topic.num.partitions", "3", "group.consumer.session.timeout.ms", "5000",
                    "group.consumer.heartbeat.interval.ms", "500", "group.coordinator.poll.interval.ms", "50"));
            c.putAll(extraConfig);
            config = Map.copyOf(c);
        }
        node = new BasaltNode(NodeConfig.of(config), true);
        node.start();
        channel = NettyChannelBuilder.forTarget(node.config().clientListener().host() + ":" + node.config().clientListener().port())
                .usePlaintext().build();
    }

    private static <T> T await(Supplier<T> call, Predicate<T> done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        T last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = call.get();
                if (done.test(last)) {
                    return last;
                }
            } catch (io.grpc.StatusRuntimeException e) {
                // node still starting
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting for " + what + "; last answer " + last);
    }

    private GroupServiceGrpc.GroupServiceBlockingStub groups() {
        return GroupServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private ConsumerGroupHeartbeatResponse join() throws InterruptedException {
        ConsumerGroupHeartbeatRequest join = ConsumerGroupHeartbeatRequest.newBuilder().setGroupId("g").setMemberId("m1")
                .setMemberEpoch(0).setRebalanceTimeoutMs(5_000).setClientId("test").setClientHost("localhost")
                .setSubscription(ConsumerGroupHeartbeatRequest.Subscription.newBuilder().addTopicNames("t")).build();
        return await(() -> groups().consumerGroupHeartbeat(join), r -> r.getErrorCode() == ErrorCode.NONE
                && r.getAssignment().getTopicsCount() == 1 && r.getAssignment().getTopics(0).getPartitionsCount() == 4, "join");
    }

    private void createTopic() throws InterruptedException {
        await(() -> AdminServiceGrpc.newBlockingStub(channel).createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(5_000)
                        .addTopics(CreateTopicsRequest.NewTopic.newBuilder().setName("t").setPartitions(4).setReplicationFactor(1))
                        .build()), r -> r.getTopics(0).getErrorCode() == ErrorCode.NONE
                        || r.getTopics(0).getErrorCode() == ErrorCode.TOPIC_ALREADY_EXISTS, "topic t");
    }

    @Test
    void coordinator_joinCommitRestartReplay() throws Exception {
        start();
        createTopic();
        FindCoordinatorResponse fc = await(() -> groups().findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId("g").build()),
                r -> r.getErrorCode() == ErrorCode.NONE, "coordinator");
        assertEquals(1, fc.getNodeId());
        assertEquals(GroupCoordinator.partitionFor("g", 3), fc.getPartition());

        ConsumerGroupHeartbeatResponse joined = join();
        int epoch = joined.getMemberEpoch();
        assertTrue(epoch > 0);

        OffsetCommitResponse ok = groups().offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g").setMemberId("m1")
                .setMemberEpoch(epoch).addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(2)
                        .setOffset(17).setLeaderEpoch(-1).setMetadata("meta")).build());
        assertEquals(ErrorCode.NONE, ok.getErrorCode());
        OffsetCommitResponse stale = groups().offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g").setMemberId("m1")
                .setMemberEpoch(epoch - 1).addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(2)
                        .setOffset(99)).build());
        assertEquals(ErrorCode.STALE_MEMBER_EPOCH, stale.getErrorCode());
        // Found probing: commits for a partition or topic that does not exist were stored, and then
        // every tool listing the group's lag failed. Refused per partition; the rest is committed.
        OffsetCommitResponse mixed = groups().offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g").setMemberId("m1")
                .setMemberEpoch(epoch)
                .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(3).setOffset(5))
                .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(99).setOffset(5))
                .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("ghost").setPartition(0).setOffset(5)).build());
        assertEquals(ErrorCode.NONE, mixed.getErrorCode(), mixed.toString());
        java.util.Map<String, ErrorCode> byPartition = new java.util.HashMap<>();
        mixed.getPartitionsList().forEach(p -> byPartition.put(p.getTopic() + "-" + p.getPartition(), p.getErrorCode()));
        assertEquals(Map.of("t-3", ErrorCode.NONE, "t-99", ErrorCode.INVALID_PARTITION, "ghost-0", ErrorCode.UNKNOWN_TOPIC),
                byPartition);
        OffsetFetchResponse stored = groups().offsetFetch(OffsetFetchRequest.newBuilder().setGroupId("g").build());
        assertEquals(java.util.Set.of("t-2", "t-3"), stored.getPartitionsList().stream().map(p -> p.getTopic() + "-"
                + p.getPartition()).collect(java.util.stream.Collectors.toSet()), stored.toString());
        DescribeGroupsResponse d = groups().describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds("g").addGroupIds("nope").build());
        assertEquals("STABLE", d.getGroups(0).getState());
        assertEquals(1, d.getGroups(0).getMembersCount());
        assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, d.getGroups(1).getErrorCode());
        assertEquals(1, groups().listGroups(ListGroupsRequest.getDefaultInstance()).getGroupsCount());

        // restart: the new coordinator replays __consumer_offsets
        channel.shutdownNow();
        node.close();
        start();
        OffsetFetchResponse fetched = await(() -> groups().offsetFetch(OffsetFetchRequest.newBuilder().setGroupId("g").build()),
                r -> r.getErrorCode() == ErrorCode.NONE && r.getPartitionsCount() > 0, "offsets after restart");
        assertEquals(17, fetched.getPartitions(0).getOffset());
        assertEquals("meta", fetched.getPartitions(0).getMetadata());
        // the lag windows are rebuilt from the replayed commits (they started empty after every move)
        com.google.gson.JsonObject lagAfter = http("/v1/groups/g/lag", 200);
        assertTrue(lagAfter.get("complete").getAsDouble() > 0, lagAfter.toString());
        DescribeGroupsResponse again = groups().describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds("g").build());
        assertEquals(1, again.getGroups(0).getMembersCount(), "the member survives the failover until its session ends");
        assertEquals(epoch, again.getGroups(0).getMembers(0).getMemberEpoch());

        // nobody heartbeats: the session ends, the group empties and can be deleted
        await(() -> groups().describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds("g").build()),
                r -> r.getGroups(0).getState().equals("EMPTY"), "session expiry");
        assertEquals(ErrorCode.NONE, groups().deleteGroups(DeleteGroupsRequest.newBuilder().addGroupIds("g").build())
                .getResults(0).getErrorCode());
        assertEquals(0, groups().offsetFetch(OffsetFetchRequest.newBuilder().setGroupId("g").build()).getPartitionsCount());
        var gone = groups().deleteGroups(DeleteGroupsRequest.newBuilder().addGroupIds("g").build()).getResults(0);
        assertEquals(ErrorCode.GROUP_ID_NOT_FOUND, gone.getErrorCode());
        assertEquals("group g does not exist", gone.getErrorMessage(), "any client can say what went wrong");
    }

    /**
     * Found probing: a client could produce to __consumer_offsets, and one record that was not a
     * group record made the partition's shard fail every load, on every node, for good (its
     * groups answered COORDINATOR_LOAD_IN_PROGRESS forever). Now a client's produce there is
     * refused (INVALID_TOPIC), and a log that already holds such a record loads, skipping it, as it
     * skips a group record that contradicts the group's state (which stopped the load the same way).
     */
    @Test
    void clientsCannotWriteTheOffsetsTopic_andAForeignRecordThereIsSkippedOnLoad() throws Exception {
        long plantedEnd;
        start();
        createTopic();
        await(() -> groups().findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId("g").build()),
                r -> r.getErrorCode() == ErrorCode.NONE, "coordinator");
        int epoch = join().getMemberEpoch();
        assertEquals(ErrorCode.NONE, groups().offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g").setMemberId("m1")
                .setMemberEpoch(epoch).addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(2)
                        .setOffset(17)).build()).getErrorCode());
        int offsetsPartition = GroupCoordinator.partitionFor("g", 3);
        var refused = produceTo("__consumer_offsets", offsetsPartition, "garbage-key", "garbage-value");
        assertEquals(ErrorCode.INVALID_TOPIC, refused.getErrorCode(), refused.toString());
        assertTrue(refused.getErrorMessage().contains("internal topic"), refused.getErrorMessage());

        // Plant such a record as a client of an older build could have, with the node stopped.
        channel.shutdownNow();
        node.close();
        node = null;
        try (dev.basalt.log.LogManager logs = dev.basalt.log.LogManager.open(dir, dev.basalt.log.LogConfig.DEFAULT,
                java.time.Clock.systemUTC())) {
            dev.basalt.log.PartitionLog log = logs.get(new dev.basalt.log.TopicPartition("__consumer_offsets", offsetsPartition));
            log.appendAsLeader(batch("garbage-key", "garbage-value"), log.latestEpoch());
            // And a group record the state refuses on replay (the group's epoch going back to 0).
            GroupRecordCodec.Encoded stale = GroupRecordCodec.encode(new dev.basalt.broker.group.state.GroupRecord.GroupMetadata(
                    "g", 0, 0, "uniform", new java.util.TreeMap<>()));
            log.appendAsLeader(batch(stale.key(), stale.value()), log.latestEpoch());
            log.flush();
            plantedEnd = log.logEndOffset();
        }
        start();
        OffsetFetchResponse fetched = await(() -> groups().offsetFetch(OffsetFetchRequest.newBuilder().setGroupId("g").build()),
                r -> r.getErrorCode() == ErrorCode.NONE && r.getPartitionsCount() > 0, "offsets after the restart");
        assertEquals(17, fetched.getPartitions(0).getOffset());
        // The member is served again, in the epoch the group had before the record that went back.
        assertEquals(epoch, join().getMemberEpoch());
        // And the group's epoch is restated after the refused record, so compaction (which keeps a
        // key's latest record) cannot leave the refused one as all there is of the group.
        long end = plantedEnd;
        dev.basalt.proto.v1.FetchRequest after = dev.basalt.proto.v1.FetchRequest.newBuilder().setMaxWaitMs(0).setMaxBytes(1 << 20)
                .addTopics(dev.basalt.proto.v1.FetchRequest.TopicData.newBuilder().setName("__consumer_offsets")
                        .addPartitions(dev.basalt.proto.v1.FetchRequest.PartitionData.newBuilder().setPartition(offsetsPartition)
                                .setFetchOffset(end).setPartitionMaxBytes(1 << 20))).build();
        await(() -> dev.basalt.proto.v1.FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).fetch(after),
                r -> groupRecords(r.getTopics(0).getPartitions(0).getRecords()).stream()
                        .anyMatch(x -> x instanceof GroupRecord.GroupMetadata m && m.groupId().equals("g") && m.groupEpoch() == epoch),
                "the group's epoch restated after the refused record");
    }

    /**
     * Found probing: a flipped byte in the only copy of an offsets partition made its shard answer
     * "loading" for ever (the load's CorruptLogException escaped its loop). Now the load verifies
     * checksums, finds the damage itself and names it (COORDINATOR_NOT_AVAILABLE, retried); /status
     * tells the operator to repair (the bytes after the damage are still in the log); after the
     * repair the load passes the lost offsets: the commit before the damage is served, and new
     * commits work. The scrubber is off, so the load is the one that finds it.
     */
    @Test
    void aCorruptOnlyCopyOfAnOffsetsPartition_isNamed_andLoadsAgainAfterTheRepair() throws Exception {
        extraConfig.put("log.scrub.bytes.per.second", "0");
        start();
        createTopic();
        await(() -> groups().findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId("g").build()),
                r -> r.getErrorCode() == ErrorCode.NONE, "coordinator");
        int epoch = join().getMemberEpoch();
        for (long offset : new long[] {17, 30}) {
            assertEquals(ErrorCode.NONE, groups().offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g").setMemberId("m1")
                    .setMemberEpoch(epoch).addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(2)
                            .setOffset(offset)).build()).getErrorCode());
        }
        channel.shutdownNow();
        node.close();
        node = null;
        // Flip a byte inside the last batch of the group's offsets partition (the commit of 30).
        String offsetsPartition = GroupCoordinator.TOPIC + "-" + GroupCoordinator.partitionFor("g", 3);
        Path segment = dir.resolve(offsetsPartition).resolve("00000000000000000000.log");
        long last = 0;
        long length = 0;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(segment, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(12);
            for (long pos = 0; ; pos += length) {
                h.clear();
                if (ch.read(h, pos) < 12 || h.getInt(8) <= 0) {
                    break;
                }
                last = pos;
                length = 12 + h.getInt(8);
            }
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            ch.read(one, last + length - 2);
            one.put(0, (byte) (one.get(0) ^ 0x21)).rewind();
            ch.write(one, last + length - 2);
        }

        start();
        OffsetFetchResponse named = await(() -> groups().offsetFetch(OffsetFetchRequest.newBuilder().setGroupId("g").build()),
                r -> r.getErrorCode() == ErrorCode.COORDINATOR_NOT_AVAILABLE && r.getErrorMessage().contains("cannot be loaded"),
                "the damage named");
        assertTrue(named.getErrorMessage().contains("corrupt"), named.getErrorMessage());
        String status = await(() -> {
            try {
                return http("/status", 200).toString();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }, st -> st.contains(offsetsPartition) && st.contains("appends are refused"), "/status");
        assertTrue(status.contains("storage repair"), "the damaged bytes are still in the log: " + status);
        channel.shutdownNow();
        node.close();
        node = null;

        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream ps = new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, new dev.basalt.broker.tools.StorageTool(ps, ps).run("repair", "--dir", dir.toString()), out.toString());
        start();
        OffsetFetchResponse fetched = await(() -> groups().offsetFetch(OffsetFetchRequest.newBuilder().setGroupId("g").build()),
                r -> r.getErrorCode() == ErrorCode.NONE && r.getPartitionsCount() > 0, "offsets after the repair");
        assertEquals(17, fetched.getPartitions(0).getOffset(), "the commit before the damaged batch; the damaged one is lost");
        int again = join().getMemberEpoch();
        assertEquals(ErrorCode.NONE, groups().offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g").setMemberId("m1")
                .setMemberEpoch(again).addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(2)
                        .setOffset(40)).build()).getErrorCode(), "the shard takes writes again");
    }

    private static List<GroupRecord> groupRecords(com.google.protobuf.ByteString records) {
        List<GroupRecord> out = new java.util.ArrayList<>();
        for (dev.basalt.record.RecordBatch b : dev.basalt.record.Batches.iterate(records.asReadOnlyByteBuffer())) {
            for (dev.basalt.record.Record r : b.records()) {
                try {
                    out.add(GroupRecordCodec.decode(r.keyBytes(), r.isTombstone() ? null : r.valueBytes()));
                } catch (IllegalStateException notOurs) {
                    // the planted foreign record
                }
            }
        }
        return out;
    }

    private static java.nio.ByteBuffer batch(String key, String value) {
        return batch(key.getBytes(java.nio.charset.StandardCharsets.UTF_8), value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static java.nio.ByteBuffer batch(byte[] key, byte[] value) {
        dev.basalt.record.RecordBatchBuilder b = new dev.basalt.record.RecordBatchBuilder(java.nio.ByteBuffer.allocate(1024),
                System.currentTimeMillis());
        b.tryAppend(System.currentTimeMillis(), key, value, java.util.List.of());
        return b.build().buffer();
    }

    private dev.basalt.proto.v1.ProduceResponse.PartitionResponse produceTo(String topic, int partition, String key, String value) {
        return dev.basalt.proto.v1.ProduceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .produce(dev.basalt.proto.v1.ProduceRequest.newBuilder().setAcks(-1).setTimeoutMs(5_000)
                        .addTopics(dev.basalt.proto.v1.ProduceRequest.TopicData.newBuilder().setName(topic)
                                .addPartitions(dev.basalt.proto.v1.ProduceRequest.PartitionData.newBuilder().setPartition(partition)
                                        .setRecords(com.google.protobuf.ByteString.copyFrom(batch(key, value)))))
                        .build()).getTopics(0).getPartitions(0);
    }

    private void produce(int partition, int records) {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(64 * 1024);
        dev.basalt.record.RecordBatchBuilder b = new dev.basalt.record.RecordBatchBuilder(buf, System.currentTimeMillis());
        for (int i = 0; i < records; i++) {
            b.tryAppend(System.currentTimeMillis(), null, ("v" + i).getBytes(java.nio.charset.StandardCharsets.UTF_8), java.util.List.of());
        }
        dev.basalt.proto.v1.ProduceResponse r = dev.basalt.proto.v1.ProduceServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS).produce(dev.basalt.proto.v1.ProduceRequest.newBuilder().setAcks(-1)
                        .setTimeoutMs(5_000).addTopics(dev.basalt.proto.v1.ProduceRequest.TopicData.newBuilder().setName("t")
                                .addPartitions(dev.basalt.proto.v1.ProduceRequest.PartitionData.newBuilder().setPartition(partition)
                                        .setRecords(com.google.protobuf.ByteString.copyFrom(b.build().buffer()))))
                        .build());
        assertEquals(ErrorCode.NONE, r.getTopics(0).getPartitions(0).getErrorCode());
    }

    private com.google.gson.JsonObject http(String path, int expectedStatus) throws Exception {
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://" + config.get("http.admin.listener") + path)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(expectedStatus, r.statusCode(), r.body());
        return com.google.gson.JsonParser.parseString(r.body()).getAsJsonObject();
    }

    /**
     * Found probing: the lag of a group on a cluster where no group was ever used answered 503
     * ("__consumer_offsets does not exist yet", retry) while the CLI said the group does not exist.
     */
    @Test
    void aGroupOnAClusterThatNeverUsedOne_is404() throws Exception {
        start();
        createTopic();
        java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
        java.net.http.HttpResponse<String> r = await(() -> {
            try {
                return client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://"
                        + config.get("http.admin.listener") + "/v1/groups/nosuch/lag")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }, x -> x.statusCode() != 503, "an answer once caught up");
        assertEquals(404, r.statusCode(), r.body());
        assertTrue(r.body().contains("GROUP_ID_NOT_FOUND") && r.body().contains("group nosuch does not exist"), r.body());
    }

    /** Lag JSON against known offsets: 10 records in partition 0, 4 in partition 1, commits at 3 and 4. */
    @Test
    void lagJson_againstKnownOffsets() throws Exception {
        start();
        createTopic();
        await(() -> groups().findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId("g").build()),
                r -> r.getErrorCode() == ErrorCode.NONE, "coordinator");
        int epoch = join().getMemberEpoch();
        // the member heartbeats as a real one does, so that its session outlives a slow machine
        java.util.concurrent.ScheduledExecutorService keepAlive = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        keepAlive.scheduleWithFixedDelay(() -> {
            try {
                groups().consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest.newBuilder().setGroupId("g").setMemberId("m1")
                        .setMemberEpoch(epoch).build());
            } catch (RuntimeException e) {
                // the assertions below report a lost member
            }
        }, 0, 300, TimeUnit.MILLISECONDS);
        try {
            lagChecks(epoch);
        } finally {
            keepAlive.shutdownNow();
        }
    }

    private void lagChecks(int epoch) throws Exception {
        produce(0, 10);
        produce(1, 4);
        assertEquals(ErrorCode.NONE, groups().offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g").setMemberId("m1")
                .setMemberEpoch(epoch)
                .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(0).setOffset(3).setLeaderEpoch(-1))
                .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(1).setOffset(4).setLeaderEpoch(-1))
                .build()).getErrorCode());

        com.google.gson.JsonObject lag = http("/v1/groups/g/lag", 200);
        assertEquals(7, lag.get("totallag").getAsLong());
        assertEquals(2, lag.get("partitionCount").getAsInt());
        com.google.gson.JsonObject p0 = lag.getAsJsonArray("partitions").get(0).getAsJsonObject();
        assertEquals(0, p0.get("partition").getAsInt());
        assertEquals(3, p0.get("committedOffset").getAsLong());
        assertEquals(10, p0.get("logEndOffset").getAsLong());
        assertEquals(7, p0.get("lag").getAsLong());
        assertEquals("m1", p0.get("owner").getAsString());
        assertEquals(0, lag.getAsJsonArray("partitions").get(1).getAsJsonObject().get("lag").getAsLong());
        assertEquals(0, lag.getAsJsonObject("maxlag").get("partition").getAsInt());

        com.google.gson.JsonObject status = http("/v1/groups/g/status", 200);
        assertEquals("OK", status.get("status").getAsString(), "one commit per partition: only the current-lag rules apply");
        assertEquals(0, status.getAsJsonArray("partitions").size());

        // a second commit at the same offset, with lag: STALL (the window spans 2 s, asked at once:
        // not longer ago than the window spans, so not STOP)
        Thread.sleep(2_000);
        assertEquals(ErrorCode.NONE, groups().offsetCommit(OffsetCommitRequest.newBuilder().setGroupId("g").setMemberId("m1")
                .setMemberEpoch(epoch)
                .addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic("t").setPartition(0).setOffset(3).setLeaderEpoch(-1))
                .build()).getErrorCode());
        status = http("/v1/groups/g/status", 200);
        assertEquals("ERR", status.get("status").getAsString(), status.toString());
        assertEquals(1, status.getAsJsonArray("partitions").size());
        assertEquals("STALL", status.getAsJsonArray("partitions").get(0).getAsJsonObject().get("status").getAsString());
        assertEquals(0.2, status.getAsJsonArray("partitions").get(0).getAsJsonObject().get("complete").getAsDouble(), 1e-9);
        com.google.gson.JsonObject described = http("/v1/groups/g", 200);
        assertEquals("STABLE", described.get("state").getAsString());
        assertEquals(1, described.getAsJsonArray("members").size());
        assertEquals(1, http("/v1/groups", 200).getAsJsonArray("groups").size());
        assertEquals("INVALID_REQUEST", http("/v1/groups?local=yes", 400).get("code").getAsString(), "not read as false");
        assertTrue(http("/v1/groups/nope/lag", 404).get("error").getAsString().contains("nope"));
    }
}

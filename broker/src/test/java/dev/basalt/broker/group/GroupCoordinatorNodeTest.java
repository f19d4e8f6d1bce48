package dev.basalt.broker.group;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.BasaltNode;
import dev.basalt.broker.config.NodeConfig;
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
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
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

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private Map<String, String> config;

    private void start() throws IOException {
        if (config == null) {
            int client = freePort();
            int controller = freePort();
            config = Map.of("data.dir", dir.toString(), "listeners",
                    "PLAINTEXT://127.0.0.1:" + client + ",CONTROLLER://127.0.0.1:" + controller,
                    "controller.quorum.voters", "1@127.0.0.1:" + controller, "http.admin.listener", "127.0.0.1:" + freePort(),
                    "offsets.topic.num.partitions", "3", "group.consumer.session.timeout.ms", "1500",
                    "group.consumer.heartbeat.interval.ms", "300", "group.coordinator.poll.interval.ms", "50");
        }
        node = new BasaltNode(NodeConfig.of(config));
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

    @Test
    void coordinator_joinCommitRestartReplay() throws Exception {
        start();
        await(() -> AdminServiceGrpc.newBlockingStub(channel).createTopics(CreateTopicsRequest.newBuilder().setTimeoutMs(5_000)
                        .addTopics(CreateTopicsRequest.NewTopic.newBuilder().setName("t").setPartitions(4).setReplicationFactor(1))
                        .build()), r -> r.getTopics(0).getErrorCode() == ErrorCode.NONE
                        || r.getTopics(0).getErrorCode() == ErrorCode.TOPIC_ALREADY_EXISTS, "topic t");
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
        DescribeGroupsResponse again = groups().describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds("g").build());
        assertEquals(1, again.getGroups(0).getMembersCount(), "the member survives the failover until its session ends");
        assertEquals(epoch, again.getGroups(0).getMembers(0).getMemberEpoch());

        // nobody heartbeats: the session ends, the group empties and can be deleted
        await(() -> groups().describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds("g").build()),
                r -> r.getGroups(0).getState().equals("EMPTY"), "session expiry");
        assertEquals(ErrorCode.NONE, groups().deleteGroups(DeleteGroupsRequest.newBuilder().addGroupIds("g").build())
                .getResults(0).getErrorCode());
        assertEquals(0, groups().offsetFetch(OffsetFetchRequest.newBuilder().setGroupId("g").build()).getPartitionsCount());
    }
}

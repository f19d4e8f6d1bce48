package dev.basalt.client.testkit;

import dev.basalt.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FindCoordinatorRequest;
import dev.basalt.proto.v1.FindCoordinatorResponse;
import dev.basalt.proto.v1.GroupServiceGrpc;
import dev.basalt.proto.v1.OffsetCommitRequest;
import dev.basalt.proto.v1.OffsetCommitResponse;
import dev.basalt.proto.v1.OffsetFetchRequest;
import dev.basalt.proto.v1.OffsetFetchResponse;
import dev.basalt.proto.v1.TopicPartitions;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The group side of a {@link FakeCluster}, for tests of the consumer's member logic: FindCoordinator
 * names broker 1; every heartbeat is answered by a coordinator the test scripts
 * ({@link #setCoordinator}); offsets are committed and fetched from an in-memory map (no epoch
 * checks). It is not a coordinator: the test's script decides what the member is told, so a test
 * can hold the member at any step of a reconciliation.
 *
 * <p>For the admin side ({@code GroupAdmin}, {@code basalt groups}) it holds one group's state,
 * whatever the group id asked for: DescribeGroups reports the members {@link #setMembers} set
 * (GROUP_ID_NOT_FOUND while there are neither members nor committed offsets), an OffsetFetch
 * naming no partitions returns every committed offset, and an admin OffsetCommit (member "",
 * an offset reset) is refused NON_EMPTY_GROUP while there are members, as the coordinator refuses it.
 *
 * <p>Thread-safety: thread-safe; state under this object's monitor (the script is called under it
 * too, one heartbeat at a time).
 */
public final class FakeGroupService extends GroupServiceGrpc.GroupServiceImplBase {
    private final FakeCluster cluster;
    private Function<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> coordinator =
            req -> ConsumerGroupHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.COORDINATOR_NOT_AVAILABLE).build();
    private final List<ConsumerGroupHeartbeatRequest> heartbeats = new ArrayList<>();
    private final Map<String, Long> committed = new TreeMap<>();
    private int commits;
    private boolean failCommits;
    private Function<OffsetCommitRequest, ErrorCode> commitCheck = req -> ErrorCode.NONE;
    private final java.util.ArrayDeque<ErrorCode> offsetFetchErrors = new java.util.ArrayDeque<>();
    private int offsetFetches;
    private List<String> members = List.of(); // guarded by this
    private boolean membersLeftStatic; // guarded by this

    FakeGroupService(FakeCluster cluster) {
        this.cluster = cluster;
    }

    private java.util.function.Consumer<ConsumerGroupHeartbeatRequest> beforeHeartbeat = req -> { };

    /** Runs on each heartbeat's server thread before the coordinator sees it, without the lock (a slow coordinator). */
    public synchronized void setBeforeHeartbeat(java.util.function.Consumer<ConsumerGroupHeartbeatRequest> hook) {
        this.beforeHeartbeat = hook;
    }

    /** Answers every later heartbeat (called under this object's monitor). */
    public synchronized void setCoordinator(Function<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> c) {
        coordinator = c;
    }

    /** The group's members as DescribeGroups lists them (ids only, nothing assigned); empty: none. */
    public synchronized void setMembers(List<String> memberIds) {
        members = List.copyOf(memberIds);
    }

    /** Describes every member as a static member that left (instance "inst-" + its id, member epoch -2). */
    public synchronized void setMembersLeftStatic(boolean left) {
        membersLeftStatic = left;
    }

    /** Sets a committed offset directly (as a member's commit would). */
    public synchronized void commit(String topic, int partition, long offset) {
        committed.put(topic + "-" + partition, offset);
    }

    @Override
    public void describeGroups(dev.basalt.proto.v1.DescribeGroupsRequest req,
                               StreamObserver<dev.basalt.proto.v1.DescribeGroupsResponse> out) {
        var b = dev.basalt.proto.v1.DescribeGroupsResponse.newBuilder();
        synchronized (this) {
            for (String id : req.getGroupIdsList()) {
                var g = dev.basalt.proto.v1.DescribeGroupsResponse.DescribedGroup.newBuilder().setGroupId(id).setCoordinatorId(1);
                if (members.isEmpty() && committed.isEmpty()) {
                    g.setErrorCode(ErrorCode.GROUP_ID_NOT_FOUND);
                } else {
                    g.setState(members.isEmpty() ? "EMPTY" : "STABLE").setGroupEpoch(members.isEmpty() ? 0 : 1).setAssignor("uniform");
                    members.forEach(m -> g.addMembers(dev.basalt.proto.v1.DescribeGroupsResponse.Member.newBuilder().setMemberId(m)
                            .setClientId("c-" + m).setClientHost("/127.0.0.1").setMemberEpoch(membersLeftStatic ? -2 : 1)
                            .setInstanceId(membersLeftStatic ? "inst-" + m : "").setState("STABLE")));
                }
                b.addGroups(g);
            }
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    /** Every heartbeat received, in order. */
    public synchronized List<ConsumerGroupHeartbeatRequest> heartbeats() {
        return List.copyOf(heartbeats);
    }

    /** The committed offset of topic-partition, or null. */
    public synchronized Long committed(String topic, int partition) {
        return committed.get(topic + "-" + partition);
    }

    private int coordinatorId = 1;
    private final java.util.Set<Integer> commitsHeldOn = new java.util.HashSet<>();

    /** FindCoordinator answers this broker from now on (the group moved, as when its coordinator is fenced). */
    public synchronized void moveCoordinator(int brokerId) {
        coordinatorId = brokerId;
    }

    /**
     * While held, OffsetCommit and OffsetFetch calls reaching this broker get no answer until
     * {@link #releaseCommits()}: a coordinator paused (SIGSTOP) with its connection open.
     */
    public synchronized void holdCommitsOn(int brokerId) {
        commitsHeldOn.add(brokerId);
    }

    public synchronized void releaseCommits() {
        commitsHeldOn.clear();
        notifyAll();
    }

    /** Waits while calls at the broker this call reached are held; false if interrupted. */
    private synchronized boolean awaitCommitsReleased() {
        Integer at = FakeBroker.BROKER_ID.get();
        try {
            while (at != null && commitsHeldOn.contains(at)) {
                wait();
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    public synchronized int commits() {
        return commits;
    }

    /** While on, every OffsetCommit is refused with STALE_MEMBER_EPOCH (nothing committed). */
    public synchronized void failCommits(boolean on) {
        failCommits = on;
    }

    /** Decides every later OffsetCommit's top-level error (NONE: committed); called under this object's monitor. */
    public synchronized void setCommitCheck(Function<OffsetCommitRequest, ErrorCode> check) {
        commitCheck = check;
    }

    private int findCoordinatorFailures; // guarded by this
    private List<String> listedGroups = List.of(); // guarded by this
    private final java.util.ArrayDeque<ErrorCode> listGroupsErrors = new java.util.ArrayDeque<>(); // guarded by this
    private int listGroupsCalls; // guarded by this

    /** Every broker answers ListGroups with these groups (Stable, no members, coordinator 1). */
    public synchronized void setListedGroups(List<String> groups) {
        listedGroups = List.copyOf(groups);
    }

    /** The next ListGroups answers, from any broker, are these errors in turn. */
    public synchronized void failListGroups(List<ErrorCode> errors) {
        listGroupsErrors.addAll(errors);
    }

    public synchronized int listGroupsCalls() {
        return listGroupsCalls;
    }

    @Override
    public void listGroups(dev.basalt.proto.v1.ListGroupsRequest req, StreamObserver<dev.basalt.proto.v1.ListGroupsResponse> out) {
        var b = dev.basalt.proto.v1.ListGroupsResponse.newBuilder();
        synchronized (this) {
            listGroupsCalls++;
            ErrorCode error = listGroupsErrors.poll();
            if (error != null) {
                b.setErrorCode(error).setErrorMessage("scripted by the test");
            } else {
                listedGroups.forEach(g -> b.addGroups(dev.basalt.proto.v1.ListGroupsResponse.Listing.newBuilder().setGroupId(g)
                        .setState("STABLE").setCoordinatorId(1)));
            }
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    /** The next {@code times} FindCoordinator answers are COORDINATOR_NOT_AVAILABLE (the offsets topic is being created). */
    public synchronized void failFindCoordinator(int times) {
        findCoordinatorFailures = times;
    }

    private int findCoordinatorCalls; // guarded by this

    public synchronized int findCoordinatorCalls() {
        return findCoordinatorCalls;
    }

    @Override
    public void findCoordinator(FindCoordinatorRequest req, StreamObserver<FindCoordinatorResponse> out) {
        synchronized (this) {
            findCoordinatorCalls++;
            if (findCoordinatorFailures > 0) {
                findCoordinatorFailures--;
                out.onNext(FindCoordinatorResponse.newBuilder().setErrorCode(ErrorCode.COORDINATOR_NOT_AVAILABLE)
                        .setErrorMessage("__consumer_offsets is being created").build());
                out.onCompleted();
                return;
            }
        }
        int id;
        synchronized (this) {
            id = coordinatorId;
        }
        out.onNext(FindCoordinatorResponse.newBuilder().setNodeId(id).setHost("127.0.0.1").setPort(cluster.broker(id).port()).build());
        out.onCompleted();
    }

    @Override
    public void consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest req, StreamObserver<ConsumerGroupHeartbeatResponse> out) {
        java.util.function.Consumer<ConsumerGroupHeartbeatRequest> before;
        synchronized (this) {
            before = beforeHeartbeat;
        }
        before.accept(req); // outside the lock: other heartbeats go on meanwhile
        ConsumerGroupHeartbeatResponse r;
        synchronized (this) {
            heartbeats.add(req);
            r = coordinator.apply(req);
            notifyAll();
        }
        out.onNext(r);
        out.onCompleted();
    }

    /** Waits (at most timeoutMs) until more than {@code count} heartbeats arrived; false on timeout. */
    public synchronized boolean awaitHeartbeats(int count, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (heartbeats.size() <= count) {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return false;
            }
            wait(left);
        }
        return true;
    }

    @Override
    public void offsetCommit(OffsetCommitRequest req, StreamObserver<OffsetCommitResponse> out) {
        OffsetCommitResponse.Builder b = OffsetCommitResponse.newBuilder();
        if (!awaitCommitsReleased()) {
            return;
        }
        synchronized (this) {
            commits++;
            if (failCommits) {
                out.onNext(OffsetCommitResponse.newBuilder().setErrorCode(ErrorCode.STALE_MEMBER_EPOCH)
                        .setErrorMessage("refused by the test").build());
                out.onCompleted();
                return;
            }
            if (req.getMemberId().isEmpty() && !members.isEmpty()) {
                out.onNext(OffsetCommitResponse.newBuilder().setErrorCode(ErrorCode.NON_EMPTY_GROUP)
                        .setErrorMessage("the group has " + members.size() + " members").build());
                out.onCompleted();
                return;
            }
            ErrorCode refused = commitCheck.apply(req);
            if (refused != ErrorCode.NONE) {
                out.onNext(OffsetCommitResponse.newBuilder().setErrorCode(refused).setErrorMessage("refused by the test").build());
                out.onCompleted();
                return;
            }
            for (OffsetCommitRequest.Partition p : req.getPartitionsList()) {
                committed.put(p.getTopic() + "-" + p.getPartition(), p.getOffset());
                b.addPartitions(OffsetCommitResponse.PartitionResult.newBuilder().setTopic(p.getTopic()).setPartition(p.getPartition()));
            }
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    /** The next OffsetFetch answers get these top-level errors, one each, in order. */
    public synchronized void failOffsetFetches(List<ErrorCode> codes) {
        offsetFetchErrors.clear();
        offsetFetchErrors.addAll(codes);
    }

    public synchronized int offsetFetches() {
        return offsetFetches;
    }

    @Override
    public void offsetFetch(OffsetFetchRequest req, StreamObserver<OffsetFetchResponse> out) {
        OffsetFetchResponse.Builder b = OffsetFetchResponse.newBuilder();
        if (!awaitCommitsReleased()) {
            return;
        }
        synchronized (this) {
            offsetFetches++;
            ErrorCode scripted = offsetFetchErrors.poll();
            if (scripted != null) {
                out.onNext(b.setErrorCode(scripted).setErrorMessage("scripted by the test").build());
                out.onCompleted();
                return;
            }
            if (req.getPartitionsCount() == 0) {
                committed.forEach((tp, o) -> {
                    int dash = tp.lastIndexOf('-');
                    b.addPartitions(OffsetFetchResponse.PartitionOffset.newBuilder().setTopic(tp.substring(0, dash))
                            .setPartition(Integer.parseInt(tp.substring(dash + 1))).setOffset(o).setLeaderEpoch(-1));
                });
            }
            for (TopicPartitions t : req.getPartitionsList()) {
                for (int p : t.getPartitionsList()) {
                    Long o = committed.get(t.getTopic() + "-" + p);
                    b.addPartitions(OffsetFetchResponse.PartitionOffset.newBuilder().setTopic(t.getTopic()).setPartition(p)
                            .setOffset(o == null ? -1 : o).setLeaderEpoch(-1));
                }
            }
        }
        out.onNext(b.build());
        out.onCompleted();
    }
}

package dev.basalt.broker.rpc;

import dev.basalt.broker.group.GroupCoordinator;
import dev.basalt.broker.group.GroupRecordCodec;
import dev.basalt.broker.group.state.ConsumerGroup;
import dev.basalt.broker.group.state.ConsumerGroupMember;
import dev.basalt.broker.group.state.GroupError;
import dev.basalt.broker.group.state.GroupShard;
import dev.basalt.broker.group.state.Heartbeat;
import dev.basalt.broker.group.state.OffsetAndMetadata;
import dev.basalt.broker.group.state.PartitionKey;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.basalt.proto.v1.DeleteGroupsRequest;
import dev.basalt.proto.v1.DeleteGroupsResponse;
import dev.basalt.proto.v1.DescribeGroupsRequest;
import dev.basalt.proto.v1.DescribeGroupsResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FindCoordinatorRequest;
import dev.basalt.proto.v1.FindCoordinatorResponse;
import dev.basalt.proto.v1.GroupServiceGrpc;
import dev.basalt.proto.v1.ListGroupsRequest;
import dev.basalt.proto.v1.ListGroupsResponse;
import dev.basalt.proto.v1.OffsetCommitRequest;
import dev.basalt.proto.v1.OffsetCommitResponse;
import dev.basalt.proto.v1.OffsetFetchRequest;
import dev.basalt.proto.v1.OffsetFetchResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The GroupService (group.proto) binding: decodes requests into the group logic's types, runs them
 * on the coordinator, encodes the answers. Coordinator-level failures (not the coordinator, loading,
 * write failed) become the error code of the answer; only bugs become gRPC statuses.
 *
 * <p>Thread-safety: thread-safe; answers complete from futures, no gRPC thread blocks.
 */
public final class GroupRpc extends GroupServiceGrpc.GroupServiceImplBase {
    private static final Logger log = LoggerFactory.getLogger(GroupRpc.class);
    /** Upper bound of group ids per describe or delete request. */
    static final int GROUPS_PER_REQUEST_MAX = 1_000;

    private final GroupCoordinator coordinator;
    private final int brokerId;

    public GroupRpc(GroupCoordinator coordinator, int brokerId) {
        this.coordinator = coordinator;
        this.brokerId = brokerId;
    }

    /** The error code of the same name (GroupError names mirror errors.proto). */
    public static ErrorCode code(GroupError e) {
        return ErrorCode.valueOf(e.name());
    }

    private record Failure(ErrorCode code, String message) {
    }

    private static Failure failure(Throwable e) {
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (c instanceof GroupCoordinator.CoordinatorException ce) {
            return new Failure(ce.code(), ce.getMessage());
        }
        return null;
    }

    private static <T> void answer(StreamObserver<T> obs, CompletableFuture<T> f, Function<Failure, T> onFailure) {
        f.whenComplete((r, e) -> {
            if (e == null) {
                obs.onNext(r);
                obs.onCompleted();
                return;
            }
            Failure fail = failure(e);
            if (fail != null) {
                obs.onNext(onFailure.apply(fail));
                obs.onCompleted();
            } else {
                log.error("Group request failed unexpectedly", e);
                obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
            }
        });
    }

    private static String validGroupId(String id) {
        return id.isEmpty() || id.length() > GroupShard.ID_LENGTH_MAX ? "group id must have 1 to " + GroupShard.ID_LENGTH_MAX
                + " characters" : null;
    }

    @Override
    public void findCoordinator(FindCoordinatorRequest req, StreamObserver<FindCoordinatorResponse> obs) {
        String bad = validGroupId(req.getGroupId());
        if (bad != null) {
            obs.onNext(FindCoordinatorResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(bad).build());
            obs.onCompleted();
            return;
        }
        answer(obs, coordinator.findCoordinator(req.getGroupId()).thenApply(c -> FindCoordinatorResponse.newBuilder()
                        .setNodeId(c.nodeId()).setHost(c.host()).setPort(c.port()).setPartition(c.partition()).build()),
                f -> FindCoordinatorResponse.newBuilder().setErrorCode(f.code()).setErrorMessage(f.message()).build());
    }

    @Override
    public void consumerGroupHeartbeat(ConsumerGroupHeartbeatRequest req, StreamObserver<ConsumerGroupHeartbeatResponse> obs) {
        Heartbeat.Request hb = new Heartbeat.Request(req.getGroupId(), req.getMemberId(), req.getMemberEpoch(),
                req.getInstanceId().isEmpty() ? null : req.getInstanceId(), req.getClientId(), req.getClientHost(),
                req.getRebalanceTimeoutMs(), req.hasSubscription() ? req.getSubscription().getTopicNamesList() : null,
                req.hasSubscription() ? req.getSubscription().getTopicRegex() : null,
                req.getServerAssignor().isEmpty() ? null : req.getServerAssignor(),
                req.hasOwned() ? GroupRecordCodec.fromProto(req.getOwned()) : null, req.getRebalanceRequested());
        String bad = validGroupId(req.getGroupId());
        if (bad != null) {
            obs.onNext(ConsumerGroupHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(bad).build());
            obs.onCompleted();
            return;
        }
        answer(obs, coordinator.write(req.getGroupId(), g -> g.heartbeat(hb, coordinator.topics(), coordinator.nowMs()))
                        .thenApply(r -> {
                            ConsumerGroupHeartbeatResponse.Builder b = ConsumerGroupHeartbeatResponse.newBuilder()
                                    .setErrorCode(code(r.error())).setErrorMessage(r.errorMessage()).setMemberId(r.memberId())
                                    .setMemberEpoch(r.memberEpoch()).setHeartbeatIntervalMs(r.heartbeatIntervalMs());
                            if (r.assignment() != null) {
                                b.setAssignment(GroupRecordCodec.toProto(r.assignment()));
                            }
                            return b.build();
                        }),
                f -> ConsumerGroupHeartbeatResponse.newBuilder().setErrorCode(f.code()).setErrorMessage(f.message()).build());
    }

    @Override
    public void offsetCommit(OffsetCommitRequest req, StreamObserver<OffsetCommitResponse> obs) {
        String bad = validGroupId(req.getGroupId());
        if (bad == null && req.getPartitionsCount() > GroupShard.PARTITIONS_PER_REQUEST_MAX) {
            bad = "more than " + GroupShard.PARTITIONS_PER_REQUEST_MAX + " partitions";
        }
        List<GroupShard.CommitEntry> entries = new ArrayList<>();
        // A commit for a partition that does not exist is refused for that partition (as Kafka does):
        // stored, it broke every tool listing the group's lag, and would place a topic created later
        // under that name at the committed offset.
        java.util.SortedMap<PartitionKey, ErrorCode> refused = new java.util.TreeMap<>();
        dev.basalt.broker.group.state.TopicsView topics = coordinator.topics();
        for (OffsetCommitRequest.Partition p : req.getPartitionsList()) {
            if (bad == null && (p.getTopic().isEmpty() || p.getPartition() < 0)) {
                bad = "partition " + p.getTopic() + "-" + p.getPartition() + " is not a partition";
            }
            if (bad == null) {
                PartitionKey key = new PartitionKey(p.getTopic(), p.getPartition());
                int count = topics.partitionCount(p.getTopic());
                if (count < 0) {
                    refused.put(key, ErrorCode.UNKNOWN_TOPIC);
                } else if (p.getPartition() >= count) {
                    refused.put(key, ErrorCode.INVALID_PARTITION);
                } else {
                    entries.add(new GroupShard.CommitEntry(key, p.getOffset(), p.getLeaderEpoch(), p.getMetadata()));
                }
            }
        }
        if (bad != null) {
            obs.onNext(OffsetCommitResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(bad).build());
            obs.onCompleted();
            return;
        }
        if (entries.isEmpty() && !refused.isEmpty()) {
            OffsetCommitResponse.Builder b = OffsetCommitResponse.newBuilder().setErrorCode(ErrorCode.NONE);
            refused.forEach((p, e) -> b.addPartitions(OffsetCommitResponse.PartitionResult.newBuilder()
                    .setTopic(p.topic()).setPartition(p.partition()).setErrorCode(e)));
            obs.onNext(b.build());
            obs.onCompleted();
            return;
        }
        answer(obs, coordinator.write(req.getGroupId(), g -> g.commitOffsets(req.getGroupId(), req.getMemberId(),
                        req.getMemberEpoch(), entries, coordinator.nowMs())).thenApply(r -> {
                    OffsetCommitResponse.Builder b = OffsetCommitResponse.newBuilder().setErrorCode(code(r.error()))
                            .setErrorMessage(r.errorMessage());
                    java.util.SortedMap<PartitionKey, ErrorCode> all = new java.util.TreeMap<>();
                    r.partitions().forEach((p, e) -> all.put(p, code(e)));
                    if (r.error() == GroupError.NONE) {
                        all.putAll(refused);
                    }
                    all.forEach((p, e) -> b.addPartitions(OffsetCommitResponse.PartitionResult.newBuilder()
                            .setTopic(p.topic()).setPartition(p.partition()).setErrorCode(e)));
                    return b.build();
                }),
                f -> OffsetCommitResponse.newBuilder().setErrorCode(f.code()).setErrorMessage(f.message()).build());
    }

    @Override
    public void offsetFetch(OffsetFetchRequest req, StreamObserver<OffsetFetchResponse> obs) {
        String bad = validGroupId(req.getGroupId());
        if (bad != null) {
            obs.onNext(OffsetFetchResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(bad).build());
            obs.onCompleted();
            return;
        }
        Set<PartitionKey> wanted = req.getPartitionsCount() == 0 ? null : new TreeSet<>(GroupRecordCodec.fromProto(req.getPartitionsList())
                .partitions());
        answer(obs, coordinator.read(req.getGroupId(), g -> g.fetchOffsets(req.getGroupId(), req.getMemberId(), req.getMemberEpoch(),
                        wanted)).thenApply(r -> {
                    OffsetFetchResponse.Builder b = OffsetFetchResponse.newBuilder().setErrorCode(code(r.error()));
                    if (wanted != null && r.error() == GroupError.NONE) {
                        for (PartitionKey p : wanted) {
                            OffsetAndMetadata o = r.offsets().get(p);
                            b.addPartitions(partitionOffset(p, o));
                        }
                    } else {
                        r.offsets().forEach((p, o) -> b.addPartitions(partitionOffset(p, o)));
                    }
                    return b.build();
                }),
                f -> OffsetFetchResponse.newBuilder().setErrorCode(f.code()).setErrorMessage(f.message()).build());
    }

    private static OffsetFetchResponse.PartitionOffset partitionOffset(PartitionKey p, OffsetAndMetadata o) {
        OffsetFetchResponse.PartitionOffset.Builder b = OffsetFetchResponse.PartitionOffset.newBuilder().setTopic(p.topic())
                .setPartition(p.partition());
        if (o == null) {
            return b.setOffset(-1).setLeaderEpoch(-1).build();
        }
        return b.setOffset(o.offset()).setLeaderEpoch(o.leaderEpoch()).setMetadata(o.metadata())
                .setCommitTimestampMs(o.commitTimestampMs()).build();
    }

    @Override
    public void listGroups(ListGroupsRequest req, StreamObserver<ListGroupsResponse> obs) {
        answer(obs, coordinator.readAll(g -> {
            List<ListGroupsResponse.Listing> out = new ArrayList<>();
            g.groups().values().forEach(group -> out.add(ListGroupsResponse.Listing.newBuilder().setGroupId(group.groupId())
                    .setState(group.state().name()).setMemberCount(group.memberCount()).setCoordinatorId(brokerId).build()));
            return out;
        }).thenApply(all -> {
            ListGroupsResponse.Builder b = ListGroupsResponse.newBuilder();
            all.forEach(b::addAllGroups);
            return b.build();
        }), f -> ListGroupsResponse.newBuilder().setErrorCode(f.code()).setErrorMessage(f.message()).build());
    }

    @Override
    public void describeGroups(DescribeGroupsRequest req, StreamObserver<DescribeGroupsResponse> obs) {
        if (req.getGroupIdsCount() > GROUPS_PER_REQUEST_MAX) {
            obs.onError(Status.INVALID_ARGUMENT.withDescription("more than " + GROUPS_PER_REQUEST_MAX + " groups").asRuntimeException());
            return;
        }
        List<CompletableFuture<DescribeGroupsResponse.DescribedGroup>> all = new ArrayList<>();
        for (String id : req.getGroupIdsList()) {
            all.add(coordinator.read(id, g -> describe(id, g.group(id))).handle((d, e) -> {
                if (e == null) {
                    return d;
                }
                Failure f = failure(e);
                return DescribeGroupsResponse.DescribedGroup.newBuilder().setGroupId(id)
                        .setErrorCode(f == null ? ErrorCode.UNKNOWN_SERVER_ERROR : f.code())
                        .setErrorMessage(f == null ? e.toString() : f.message()).build();
            }));
        }
        answer(obs, CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> {
            DescribeGroupsResponse.Builder b = DescribeGroupsResponse.newBuilder();
            all.forEach(f -> b.addGroups(f.join()));
            return b.build();
        }), f -> DescribeGroupsResponse.getDefaultInstance());
    }

    private DescribeGroupsResponse.DescribedGroup describe(String id, ConsumerGroup g) {
        DescribeGroupsResponse.DescribedGroup.Builder b = DescribeGroupsResponse.DescribedGroup.newBuilder().setGroupId(id)
                .setCoordinatorId(brokerId);
        if (g == null) {
            return b.setErrorCode(ErrorCode.GROUP_ID_NOT_FOUND).setErrorMessage("group " + id + " does not exist").build();
        }
        b.setState(g.state().name()).setGroupEpoch(g.groupEpoch()).setTargetAssignmentEpoch(g.targetAssignmentEpoch())
                .setAssignor(g.assignor());
        for (ConsumerGroupMember m : g.members().values()) {
            b.addMembers(DescribeGroupsResponse.Member.newBuilder().setMemberId(m.memberId())
                    .setInstanceId(m.instanceId() == null ? "" : m.instanceId()).setClientId(m.metadata().clientId())
                    .setClientHost(m.metadata().clientHost()).setMemberEpoch(m.memberEpoch())
                    .setState(m.leftTemporarily() ? "LEFT" : m.state().name())
                    .addAllSubscribedTopicNames(m.metadata().topicNames())
                    .setSubscribedTopicRegex(m.metadata().topicRegex() == null ? "" : m.metadata().topicRegex())
                    .setAssignment(GroupRecordCodec.toProto(m.assigned()))
                    .setPendingRevocation(GroupRecordCodec.toProto(m.pendingRevocation()))
                    .setTargetAssignment(GroupRecordCodec.toProto(g.targetAssignment(m.memberId()))));
        }
        return b.build();
    }

    @Override
    public void deleteGroups(DeleteGroupsRequest req, StreamObserver<DeleteGroupsResponse> obs) {
        if (req.getGroupIdsCount() > GROUPS_PER_REQUEST_MAX) {
            obs.onError(Status.INVALID_ARGUMENT.withDescription("more than " + GROUPS_PER_REQUEST_MAX + " groups").asRuntimeException());
            return;
        }
        List<CompletableFuture<DeleteGroupsResponse.Result>> all = new ArrayList<>();
        for (String id : req.getGroupIdsList()) {
            all.add(coordinator.write(id, g -> g.deleteGroup(id, coordinator.nowMs())).handle((code, e) -> {
                DeleteGroupsResponse.Result.Builder r = DeleteGroupsResponse.Result.newBuilder().setGroupId(id);
                if (e == null) {
                    ErrorCode answer = code(code);
                    if (answer == ErrorCode.GROUP_ID_NOT_FOUND) {
                        r.setErrorMessage("group " + id + " does not exist");
                    } else if (answer == ErrorCode.NON_EMPTY_GROUP) {
                        r.setErrorMessage("group " + id + " has members");
                    }
                    return r.setErrorCode(answer).build();
                }
                Failure f = failure(e);
                return r.setErrorCode(f == null ? ErrorCode.UNKNOWN_SERVER_ERROR : f.code())
                        .setErrorMessage(f == null ? e.toString() : f.message()).build();
            }));
        }
        answer(obs, CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> {
            DeleteGroupsResponse.Builder b = DeleteGroupsResponse.newBuilder();
            all.forEach(f -> b.addResults(f.join()));
            return b.build();
        }), f -> DeleteGroupsResponse.getDefaultInstance());
    }

}

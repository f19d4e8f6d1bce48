package dev.basalt.client;

import dev.basalt.client.internal.ChannelPool;
import dev.basalt.client.internal.ConfigDef;
import dev.basalt.client.internal.Errors;
import dev.basalt.client.internal.HostPort;
import dev.basalt.client.internal.MetadataManager;
import dev.basalt.client.internal.Time;
import dev.basalt.proto.v1.DeleteGroupsRequest;
import dev.basalt.proto.v1.DeleteGroupsResponse;
import dev.basalt.proto.v1.DescribeGroupsRequest;
import dev.basalt.proto.v1.DescribeGroupsResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.GroupServiceGrpc;
import dev.basalt.proto.v1.ListGroupsRequest;
import dev.basalt.proto.v1.ListGroupsResponse;
import dev.basalt.proto.v1.OffsetCommitRequest;
import dev.basalt.proto.v1.OffsetCommitResponse;
import dev.basalt.proto.v1.OffsetFetchRequest;
import dev.basalt.proto.v1.OffsetFetchResponse;
import dev.basalt.proto.v1.TopicPartitions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Consumer-group administration over the GroupService: list groups (every broker is asked for the
 * groups it coordinates), describe one, read and write its committed offsets (writes only while
 * the group has no members: an offset reset), delete an empty group. Blocking calls bounded by
 * {@code request.timeout.ms} each. Calls at a group's coordinator look it up again when it moved, is
 * loading, is still being created or cannot be reached, until {@code default.api.timeout.ms}
 * ({@link CoordinatorNotAvailableException} then).
 *
 * <p>Thread-safety: thread-safe (stateless between calls apart from the connections).
 */
public final class GroupAdmin implements AutoCloseable {
    /** One group as ListGroups reports it. */
    public record GroupListing(String groupId, String state, int members, int coordinator) {
    }

    /** A member: identity, epoch, reconciliation state and owned partitions. */
    public record MemberDescription(String memberId, String instanceId, String clientId, String host, int memberEpoch, String state,
                                    Set<TopicPartition> assignment, Set<TopicPartition> pendingRevocation) {
    }

    public record GroupDescription(String groupId, String state, int groupEpoch, String assignor, int coordinator,
                                   List<MemberDescription> members) {
    }

    /**
     * Every broker's answer to ListGroups: the groups of the brokers that answered, sorted by id, and
     * for each broker that did not (stopped, unreachable, or not ready: just restarted, a group
     * shard loading) why, by its address. The groups such a broker coordinates are missing from
     * {@code groups}.
     */
    public record GroupList(List<GroupListing> groups, Map<String, String> unanswered) {
        public boolean complete() {
            return unanswered.isEmpty();
        }
    }

    private final ChannelPool channels;
    private final MetadataManager metadata;
    private final List<HostPort> bootstrap;
    private final int requestTimeoutMs;
    private final int apiTimeoutMs;
    /** Where each group's coordinator was last found: a describe and an offset fetch of one group share one lookup. */
    private final java.util.concurrent.ConcurrentHashMap<String, HostPort> coordinators = new java.util.concurrent.ConcurrentHashMap<>();
    /** The brokers of the last metadata answer, and when it came ({@link System#nanoTime}). */
    private volatile List<HostPort> knownBrokers = List.of();
    private volatile long knownBrokersAtNanos;
    /** Brokers whose last call could not reach them or timed out: asked last (a stopped broker costs a timeout per ask). */
    private final Set<HostPort> unanswering = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** How long one metadata answer's broker list is used before it is asked again. */
    static final long BROKER_LIST_MAX_AGE_MS = 5_000;
    /** Brokers asked by {@link #listGroupsFromEachBroker} at once, at most (more are asked in turns). */
    static final int LIST_GROUPS_PARALLEL_MAX = 16;

    public GroupAdmin(Map<String, ?> configs) {
        ConfigDef.Parsed c = AdminConfig.parse(configs);
        this.bootstrap = HostPort.parseList(c.getList(AdminConfig.BOOTSTRAP_SERVERS), AdminConfig.BOOTSTRAP_SERVERS);
        this.channels = CommonClientConfigs.channelPool(c);
        this.requestTimeoutMs = c.getInt(AdminConfig.REQUEST_TIMEOUT_MS);
        this.apiTimeoutMs = c.getInt(AdminConfig.DEFAULT_API_TIMEOUT_MS);
        this.metadata = new MetadataManager(channels, bootstrap, requestTimeoutMs, c.getLong(AdminConfig.RETRY_BACKOFF_MS),
                c.getLong(CommonClientConfigs.METADATA_MAX_AGE_MS), Time.SYSTEM);
    }

    /**
     * One call to {@code hp}; a transport failure becomes the client's typed exception (a broker
     * that cannot be reached: {@link dev.basalt.client.ConnectionException}), as for every other client call.
     */
    private <T> T call(HostPort hp, String what, boolean mutating,
                       java.util.function.Function<GroupServiceGrpc.GroupServiceBlockingStub, T> rpc) {
        try {
            T answer = rpc.apply(GroupServiceGrpc.newBlockingStub(channels.channel(hp)).withDeadlineAfter(requestTimeoutMs,
                    TimeUnit.MILLISECONDS));
            unanswering.remove(hp);
            return answer;
        } catch (io.grpc.StatusRuntimeException e) {
            unanswering.add(hp);
            // one address's answer: another broker may be the coordinator next time
            throw dev.basalt.client.internal.NotAClientPortException.asOneOfSeveral(Errors.forTransport(e, mutating, what + " at " + hp));
        }
    }

    /** First pause before asking again for a coordinator that moved, was loading or could not be reached; doubled each time. */
    static final long COORDINATOR_BACKOFF_MS = 100;
    static final long COORDINATOR_BACKOFF_MS_MAX = 1_000;

    /**
     * A call at the group's coordinator, looked up for each try. An answer saying the coordinator
     * moved, is loading or is still being created (a fresh cluster's __consumer_offsets), or a
     * coordinator that cannot be reached (it died, and the cluster has not moved its groups yet),
     * is tried again after a pause until {@code default.api.timeout.ms}: in each case nothing was
     * done, so a write (an offset reset, a delete) may be sent again too.
     */
    private <T> T atCoordinator(String groupId, String what, boolean mutating,
                                java.util.function.Function<GroupServiceGrpc.GroupServiceBlockingStub, T> rpc,
                                java.util.function.Function<T, ErrorCode> codeOf) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(apiTimeoutMs);
        long backoffMs = COORDINATOR_BACKOFF_MS;
        while (true) {
            boolean last = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMs) >= deadline;
            try {
                HostPort at = coordinators.get(groupId);
                if (at == null) {
                    at = coordinator(groupId);
                    coordinators.put(groupId, at);
                }
                T answer;
                try {
                    answer = call(at, what, mutating, rpc);
                } catch (RuntimeException e) {
                    coordinators.remove(groupId);
                    throw e;
                }
                ErrorCode code = codeOf.apply(answer);
                boolean retriable = code == ErrorCode.NOT_COORDINATOR || code == ErrorCode.COORDINATOR_NOT_AVAILABLE
                        || code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
                if (retriable) {
                    coordinators.remove(groupId); // moved, or moving: look it up again
                }
                if (last || !retriable) {
                    return answer;
                }
            } catch (dev.basalt.client.ConnectionException | BrokerNotAvailableException
                     | dev.basalt.client.CoordinatorNotAvailableException e) {
                if (last || e instanceof dev.basalt.client.internal.NotAClientPortException) {
                    throw e;
                }
            }
            backoffMs = backOff(backoffMs);
        }
    }

    /** Sleeps {@code backoffMs} and returns the next pause (doubled, at most COORDINATOR_BACKOFF_MS_MAX). */
    private static long backOff(long backoffMs) {
        try {
            Thread.sleep(backoffMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DefiniteException("interrupted", false, e);
        }
        return Math.min(COORDINATOR_BACKOFF_MS_MAX, backoffMs * 2);
    }

    /**
     * The cluster's live brokers (the bootstrap list if no broker answers Metadata), those that
     * last failed to answer at the end. One metadata answer serves for
     * {@link #BROKER_LIST_MAX_AGE_MS}: a `basalt lag` over many groups asks once, not once per group
     * (found probing: 2.2 s per group while a node in the bootstrap list was stopped).
     */
    private List<HostPort> brokers() {
        List<HostPort> out = new ArrayList<>(knownBrokers);
        if (out.isEmpty() || System.nanoTime() - knownBrokersAtNanos > TimeUnit.MILLISECONDS.toNanos(BROKER_LIST_MAX_AGE_MS)) {
            out.clear();
            try {
                out.addAll(metadata.refreshNow(requestTimeoutMs).brokers().values());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DefiniteException("interrupted", false, e);
            } catch (dev.basalt.client.internal.NotAClientPortException e) {
                throw e; // no address is a client port: the bootstrap list is not either
            } catch (RuntimeException e) {
                // fall back to the bootstrap list
            }
            if (!out.isEmpty()) {
                knownBrokers = List.copyOf(out);
                knownBrokersAtNanos = System.nanoTime();
            } else {
                out.addAll(bootstrap);
            }
        }
        List<HostPort> ordered = new ArrayList<>(out.size());
        out.stream().filter(b -> !unanswering.contains(b)).forEach(ordered::add);
        out.stream().filter(unanswering::contains).forEach(ordered::add);
        return ordered;
    }

    private HostPort coordinator(String groupId) {
        List<HostPort> known = brokers();
        if (known.isEmpty()) {
            throw new BrokerNotAvailableException("no broker reachable");
        }
        return dev.basalt.client.internal.GroupMembership.findCoordinator(groupId, known, channels, requestTimeoutMs, (b, f) -> {
            long sentNs = System.nanoTime();
            f.addListener(() -> {
                if (f.isCancelled()) {
                    // another broker answered first; this one had not answered within the hedge
                    // delay (paused?) when cancelled long enough after it was asked: asked last
                    // from now on, so the next lookup does not wait for it again
                    if (System.nanoTime() - sentNs >= TimeUnit.MILLISECONDS.toNanos(MetadataManager.HEDGE_AFTER_MS)) {
                        unanswering.add(b);
                    }
                    return;
                }
                try {
                    f.get();
                    unanswering.remove(b);
                } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                    unanswering.add(b);
                }
            }, com.google.common.util.concurrent.MoreExecutors.directExecutor());
        });
    }

    /**
     * Every group of the cluster, sorted by id.
     *
     * @throws BasaltException when any broker did not answer (its groups would be missing); see
     *         {@link #listGroupsFromEachBroker()} for the groups of those that did
     */
    public List<GroupListing> listGroups() {
        GroupList l = listGroupsFromEachBroker();
        if (!l.complete()) {
            Map.Entry<String, String> first = l.unanswered().entrySet().iterator().next();
            throw new CoordinatorNotAvailableException("list groups: " + l.unanswered().size() + " broker(s) did not answer, so"
                    + " their groups are missing; first: " + first.getKey() + ": " + first.getValue());
        }
        return l.groups();
    }

    /**
     * Asks every live broker, at once, for the groups it coordinates. A broker that is not ready
     * (COORDINATOR_NOT_AVAILABLE: just restarted; COORDINATOR_LOAD_IN_PROGRESS: a shard loading)
     * is asked again after a pause until {@code default.api.timeout.ms}; one that cannot be reached
     * or does not answer within {@code request.timeout.ms} is reported in
     * {@link GroupList#unanswered()} and the others' groups are returned.
     *
     * @throws BasaltException when no broker answered at all
     */
    public GroupList listGroupsFromEachBroker() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(apiTimeoutMs);
        TreeMap<String, GroupListing> out = new TreeMap<>();
        Map<String, String> unanswered = new TreeMap<>();
        List<HostPort> pending = brokers();
        int brokers = pending.size();
        BasaltException lastError = null;
        long backoffMs = COORDINATOR_BACKOFF_MS;
        while (!pending.isEmpty()) {
            List<HostPort> notReady = new ArrayList<>();
            for (int from = 0; from < pending.size(); from += LIST_GROUPS_PARALLEL_MAX) {
                List<HostPort> batch = pending.subList(from, Math.min(pending.size(), from + LIST_GROUPS_PARALLEL_MAX));
                List<com.google.common.util.concurrent.ListenableFuture<ListGroupsResponse>> asked = new ArrayList<>();
                for (HostPort b : batch) {
                    asked.add(GroupServiceGrpc.newFutureStub(channels.channel(b)).withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS)
                            .listGroups(ListGroupsRequest.getDefaultInstance()));
                }
                for (int i = 0; i < batch.size(); i++) {
                    HostPort b = batch.get(i);
                    ListGroupsResponse r;
                    try {
                        r = asked.get(i).get();
                        unanswering.remove(b);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        asked.forEach(f -> f.cancel(true));
                        throw new DefiniteException("interrupted", false, e);
                    } catch (java.util.concurrent.ExecutionException e) {
                        unanswering.add(b);
                        BasaltException err = e.getCause() instanceof io.grpc.StatusRuntimeException sre
                                ? Errors.forTransport(sre, false, "list groups at " + b)
                                : new dev.basalt.client.ConnectionException("list groups at " + b + ": " + e.getCause(), e.getCause());
                        lastError = err;
                        unanswered.put(b.toString(), err.getMessage());
                        continue;
                    }
                    if (r.getErrorCode() == ErrorCode.COORDINATOR_NOT_AVAILABLE || r.getErrorCode() == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
                        notReady.add(b);
                        unanswered.put(b.toString(), r.getErrorCode() + " (" + r.getErrorMessage() + ")");
                        continue;
                    }
                    if (r.getErrorCode() != ErrorCode.NONE) {
                        lastError = Errors.forCode(r.getErrorCode(), r.getErrorMessage(), "list groups at " + b);
                        unanswered.put(b.toString(), lastError.getMessage());
                        continue;
                    }
                    unanswered.remove(b.toString());
                    r.getGroupsList().forEach(g -> out.put(g.getGroupId(),
                            new GroupListing(g.getGroupId(), g.getState(), g.getMemberCount(), g.getCoordinatorId())));
                }
            }
            if (notReady.isEmpty() || System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMs) >= deadline) {
                break;
            }
            backoffMs = backOff(backoffMs);
            pending = notReady;
        }
        if (unanswered.size() == brokers) {
            if (lastError != null) {
                throw lastError;
            }
            Map.Entry<String, String> first = unanswered.entrySet().iterator().next();
            throw new CoordinatorNotAvailableException("list groups: no broker was ready; " + first.getKey() + ": " + first.getValue());
        }
        return new GroupList(new ArrayList<>(out.values()), java.util.Collections.unmodifiableMap(unanswered));
    }

    /** Describes a group; GROUP_ID_NOT_FOUND becomes {@link GroupNotFoundException}. */
    public GroupDescription describeGroup(String groupId) {
        DescribeGroupsResponse.DescribedGroup g = atCoordinator(groupId, "describe group " + groupId, false,
                st -> st.describeGroups(DescribeGroupsRequest.newBuilder().addGroupIds(groupId).build()).getGroups(0),
                DescribeGroupsResponse.DescribedGroup::getErrorCode);
        if (g.getErrorCode() == ErrorCode.GROUP_ID_NOT_FOUND) {
            throw new GroupNotFoundException("group " + groupId + " does not exist");
        }
        if (g.getErrorCode() != ErrorCode.NONE) {
            throw Errors.forCode(g.getErrorCode(), g.getErrorMessage(), "describe group " + groupId);
        }
        List<MemberDescription> members = new ArrayList<>();
        for (DescribeGroupsResponse.Member m : g.getMembersList()) {
            members.add(new MemberDescription(m.getMemberId(), m.getInstanceId(), m.getClientId(), m.getClientHost(), m.getMemberEpoch(),
                    m.getState(), partitions(m.getAssignment().getTopicsList()), partitions(m.getPendingRevocation().getTopicsList())));
        }
        return new GroupDescription(g.getGroupId(), g.getState(), g.getGroupEpoch(), g.getAssignor(), g.getCoordinatorId(), members);
    }

    private static Set<TopicPartition> partitions(List<TopicPartitions> l) {
        Set<TopicPartition> out = new LinkedHashSet<>();
        l.forEach(t -> t.getPartitionsList().forEach(p -> out.add(new TopicPartition(t.getTopic(), p))));
        return out;
    }

    /** The group's committed offsets (every partition with one). */
    public Map<TopicPartition, OffsetAndMetadata> committedOffsets(String groupId) {
        OffsetFetchResponse r = atCoordinator(groupId, "offsets of group " + groupId, false,
                st -> st.offsetFetch(OffsetFetchRequest.newBuilder().setGroupId(groupId).build()), OffsetFetchResponse::getErrorCode);
        if (r.getErrorCode() != ErrorCode.NONE) {
            throw Errors.forCode(r.getErrorCode(), r.getErrorMessage(), "offsets of group " + groupId);
        }
        Map<TopicPartition, OffsetAndMetadata> out = new LinkedHashMap<>();
        r.getPartitionsList().forEach(p -> {
            if (p.getOffset() >= 0) {
                out.put(new TopicPartition(p.getTopic(), p.getPartition()), new OffsetAndMetadata(p.getOffset(), p.getMetadata()));
            }
        });
        return out;
    }

    /**
     * Writes committed offsets of a group without members (an offset reset).
     *
     * <p>Partitions are written one by one: a partition the coordinator refuses (a topic that does
     * not exist, a partition past its count) fails the call with that partition's error, and the
     * other partitions' offsets are written all the same; read them back with
     * {@link #committedOffsets} to see which.
     *
     * @throws GroupNotEmptyException while the group has members (NON_EMPTY_GROUP): nothing written
     */
    public void alterOffsets(String groupId, Map<TopicPartition, OffsetAndMetadata> offsets) {
        OffsetCommitRequest.Builder b = OffsetCommitRequest.newBuilder().setGroupId(groupId).setMemberId("").setMemberEpoch(-1);
        offsets.forEach((tp, o) -> b.addPartitions(OffsetCommitRequest.Partition.newBuilder().setTopic(tp.topic())
                .setPartition(tp.partition()).setOffset(o.offset()).setLeaderEpoch(-1).setMetadata(o.metadata())));
        OffsetCommitResponse r = atCoordinator(groupId, "reset offsets of group " + groupId, true, st -> st.offsetCommit(b.build()),
                OffsetCommitResponse::getErrorCode);
        if (r.getErrorCode() == ErrorCode.NON_EMPTY_GROUP) {
            throw new GroupNotEmptyException("group " + groupId + " has members: " + whoHolds(groupId) + " before resetting offsets");
        }
        if (r.getErrorCode() != ErrorCode.NONE) {
            throw Errors.forCode(r.getErrorCode(), r.getErrorMessage(), "reset offsets of group " + groupId);
        }
        for (OffsetCommitResponse.PartitionResult p : r.getPartitionsList()) {
            if (p.getErrorCode() != ErrorCode.NONE) {
                throw Errors.forCode(p.getErrorCode(), "", "reset offset of " + p.getTopic() + "-" + p.getPartition());
            }
        }
    }

    /**
     * What to do about a group's members, for a refusal: stop its consumers, or, when every member
     * is a static member that left (its consumer closed; its partitions wait for it, as in Kafka),
     * wait for their sessions to time out (found probing: "stop its consumers" with none running).
     */
    private String whoHolds(String groupId) {
        List<MemberDescription> members;
        try {
            members = describeGroup(groupId).members();
        } catch (RuntimeException e) {
            return "stop its consumers";
        }
        List<String> left = new ArrayList<>();
        for (MemberDescription m : members) {
            if (m.instanceId() == null || m.instanceId().isEmpty() || m.memberEpoch() != LEFT_STATIC_EPOCH) {
                return "stop its consumers";
            }
            left.add(m.instanceId());
        }
        return left.isEmpty() ? "stop its consumers" : "static member" + (left.size() > 1 ? "s " : " ") + String.join(", ", left)
                + " left and keep" + (left.size() > 1 ? "" : "s") + " the group until the session times out"
                + " (group.consumer.session.timeout.ms on the brokers, 45 s by default) or the instance rejoins; wait for that";
    }

    /** The member epoch of a static member that left (KIP-848): its partitions wait for it until its session ends. */
    private static final int LEFT_STATIC_EPOCH = -2;

    /**
     * Deletes a group without members and its offsets.
     *
     * @throws GroupNotEmptyException while the group has members: nothing deleted
     * @throws GroupNotFoundException if there is no such group
     */
    public void deleteGroup(String groupId) {
        DeleteGroupsResponse.Result result = atCoordinator(groupId, "delete group " + groupId, true,
                st -> st.deleteGroups(DeleteGroupsRequest.newBuilder().addGroupIds(groupId).build()),
                r -> r.getResults(0).getErrorCode()).getResults(0);
        ErrorCode code = result.getErrorCode();
        if (code == ErrorCode.NON_EMPTY_GROUP) {
            throw new GroupNotEmptyException("group " + groupId + " has members: " + whoHolds(groupId) + " before deleting it");
        }
        if (code == ErrorCode.GROUP_ID_NOT_FOUND) {
            throw new GroupNotFoundException("group " + groupId + " does not exist: nothing deleted");
        }
        if (code != ErrorCode.NONE) {
            throw Errors.forCode(code, result.getErrorMessage(), "delete group " + groupId);
        }
    }

    @Override
    public void close() {
        channels.close(5_000);
    }
}

package dev.basalt.client.internal;

import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.BrokerDescription;
import dev.basalt.client.admin.DecommissionProgress;
import dev.basalt.client.admin.LeaderElectionResult;
import dev.basalt.client.admin.PartitionReassignment;
import dev.basalt.client.admin.ReassignmentMove;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.AlterPartitionReassignmentsRequest;
import dev.basalt.proto.v1.AlterPartitionReassignmentsResponse;
import dev.basalt.proto.v1.DecommissionBrokerRequest;
import dev.basalt.proto.v1.DecommissionBrokerResponse;
import dev.basalt.proto.v1.ElectLeadersRequest;
import dev.basalt.proto.v1.ElectLeadersResponse;
import dev.basalt.proto.v1.GenerateReassignmentPlanRequest;
import dev.basalt.proto.v1.GenerateReassignmentPlanResponse;
import dev.basalt.proto.v1.ListPartitionReassignmentsRequest;
import dev.basalt.proto.v1.ListPartitionReassignmentsResponse;
import dev.basalt.proto.v1.TopicPartitionRef;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The blocking reassignment calls behind {@code Admin}: one attempt each, retried by
 * {@link AdminCalls}. Reassignment progress is merged from every broker: each reports the replicas
 * it holds.
 *
 * <p>Thread-safety: not thread-safe; runs on the admin's one thread.
 */
public final class ReassignmentCalls {
    private final AdminCalls calls;
    private final ChannelPool channels;
    private final int requestTimeoutMs;

    public ReassignmentCalls(AdminCalls calls, ChannelPool channels, int requestTimeoutMs) {
        this.calls = calls;
        this.channels = channels;
        this.requestTimeoutMs = requestTimeoutMs;
    }

    /** The key of one partition in per-entity results: {@code topic-partition}. */
    public static String key(TopicPartition tp) {
        return tp.topic() + "-" + tp.partition();
    }

    public Map<String, AdminCalls.EntityResult> alter(Map<TopicPartition, Optional<List<Integer>>> targets,
                                                      Set<String> pending) {
        AlterPartitionReassignmentsRequest.Builder req = AlterPartitionReassignmentsRequest.newBuilder()
                .setTimeoutMs(calls.brokerTimeoutMs());
        targets.forEach((tp, target) -> {
            if (!pending.contains(key(tp))) {
                return;
            }
            var r = req.addReassignmentsBuilder().setPartition(ref(tp));
            target.ifPresent(t -> r.setTarget(AlterPartitionReassignmentsRequest.BrokerIds.newBuilder().addAllBrokerIds(t)));
        });
        AlterPartitionReassignmentsResponse resp = calls.rpc(s -> s.alterPartitionReassignments(req.build()), true,
                "alter partition reassignments");
        AdminCalls.check(resp.getErrorCode(), resp.getErrorMessage(), "alter partition reassignments");
        Map<String, AdminCalls.EntityResult> out = new LinkedHashMap<>();
        for (AlterPartitionReassignmentsResponse.Result r : resp.getResultsList()) {
            out.put(r.getPartition().getTopic() + "-" + r.getPartition().getPartition(),
                    new AdminCalls.EntityResult(r.getErrorCode(), r.getErrorMessage(), null));
        }
        return out;
    }

    private static TopicPartitionRef ref(TopicPartition tp) {
        return TopicPartitionRef.newBuilder().setTopic(tp.topic()).setPartition(tp.partition()).build();
    }

    /**
     * Reassignments in progress (from any broker's metadata), with progress merged from every running
     * broker; brokers that cannot be reached are left out of the progress.
     */
    public List<PartitionReassignment> list(Collection<String> topics) {
        return list(topics, true);
    }

    /** As {@link #list(Collection)}; without {@code withProgress}, only the first broker's answer (no replica progress of others). */
    public List<PartitionReassignment> list(Collection<String> topics, boolean withProgress) {
        ListPartitionReassignmentsRequest req = ListPartitionReassignmentsRequest.newBuilder().addAllTopics(topics).build();
        ListPartitionReassignmentsResponse first = calls.hedgedRead(AdminServiceGrpc.getListPartitionReassignmentsMethod(), req,
                "list partition reassignments");
        AdminCalls.check(first.getErrorCode(), first.getErrorMessage(), "list partition reassignments");
        Map<String, Map<Integer, PartitionReassignment.ReplicaProgress>> progress = new HashMap<>();
        addProgress(progress, first);
        if (withProgress && first.getReassignmentsCount() > 0) {
            for (BrokerDescription b : calls.describeCluster(false).brokers()) {
                if (b.id() == first.getNodeId()) {
                    continue;
                }
                try {
                    ListPartitionReassignmentsResponse r = AdminServiceGrpc.newBlockingStub(channels.channel(
                                    new HostPort(b.host(), b.port())))
                            .withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS).listPartitionReassignments(req);
                    addProgress(progress, r);
                } catch (StatusRuntimeException e) {
                    // that broker's replicas show no progress this time
                }
            }
        }
        List<PartitionReassignment> out = new ArrayList<>();
        for (ListPartitionReassignmentsResponse.Reassignment r : first.getReassignmentsList()) {
            String k = r.getPartition().getTopic() + "-" + r.getPartition().getPartition();
            out.add(new PartitionReassignment(r.getPartition().getTopic(), r.getPartition().getPartition(), r.getReplicasList(),
                    r.getAddingReplicasList(), r.getRemovingReplicasList(), r.getIsrList(), r.getLeader(),
                    progress.getOrDefault(k, Map.of())));
        }
        return out;
    }

    private static void addProgress(Map<String, Map<Integer, PartitionReassignment.ReplicaProgress>> progress,
                                    ListPartitionReassignmentsResponse r) {
        if (r.getErrorCode() != dev.basalt.proto.v1.ErrorCode.NONE) {
            return;
        }
        for (ListPartitionReassignmentsResponse.Reassignment a : r.getReassignmentsList()) {
            String k = a.getPartition().getTopic() + "-" + a.getPartition().getPartition();
            for (ListPartitionReassignmentsResponse.ReplicaProgress p : a.getProgressList()) {
                progress.computeIfAbsent(k, x -> new HashMap<>()).put(p.getBrokerId(),
                        new PartitionReassignment.ReplicaProgress(p.getBrokerId(), p.getLeader(), p.getLogStartOffset(),
                                p.getLogEndOffset(), p.getSizeBytes()));
            }
        }
    }

    public List<ReassignmentMove> generate(List<String> topics, List<Integer> brokers) {
        GenerateReassignmentPlanRequest req = GenerateReassignmentPlanRequest.newBuilder().addAllTopics(topics)
                .addAllBrokerIds(brokers).build();
        GenerateReassignmentPlanResponse resp = calls.hedgedRead(AdminServiceGrpc.getGenerateReassignmentPlanMethod(), req, "generate a plan");
        AdminCalls.check(resp.getErrorCode(), resp.getErrorMessage(), "generate a plan");
        List<ReassignmentMove> out = new ArrayList<>();
        for (GenerateReassignmentPlanResponse.Move m : resp.getMovesList()) {
            out.add(new ReassignmentMove(m.getPartition().getTopic(), m.getPartition().getPartition(),
                    m.getCurrentReplicasList(), m.getTargetReplicasList()));
        }
        return out;
    }

    /** Decommission (true) or recommission (false); idempotent, so a lost answer is simply asked again. */
    public DecommissionProgress decommission(int brokerId, boolean decommission) {
        DecommissionBrokerRequest req = DecommissionBrokerRequest.newBuilder().setBrokerId(brokerId)
                .setTimeoutMs(calls.brokerTimeoutMs()).build();
        calls.noteChange();
        DecommissionBrokerResponse r = calls.rpc(s -> decommission ? s.decommissionBroker(req) : s.recommissionBroker(req),
                false, (decommission ? "decommission" : "recommission") + " broker " + brokerId);
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "broker " + brokerId);
        return new DecommissionProgress(r.getBrokerId(), r.getDecommissioned(), r.getReplicasRemaining(),
                r.getLeadersRemaining(), r.getCanStop());
    }

    /** Preferred-leader election (idempotent); empty = every partition. */
    public LeaderElectionResult electPreferredLeaders(Collection<TopicPartition> partitions) {
        ElectLeadersRequest.Builder req = ElectLeadersRequest.newBuilder().setTimeoutMs(calls.brokerTimeoutMs());
        partitions.forEach(tp -> req.addPartitions(ref(tp)));
        calls.noteChange();
        ElectLeadersResponse r = calls.rpc(s -> s.electLeaders(req.build()), false, "elect leaders");
        AdminCalls.check(r.getErrorCode(), r.getErrorMessage(), "elect leaders");
        List<TopicPartition> elected = r.getElectedList().stream()
                .map(e -> new TopicPartition(e.getTopic(), e.getPartition())).toList();
        return new LeaderElectionResult(elected, r.getNotPreferredRemaining());
    }
}

package dev.basalt.broker.controller;

import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.AlterConfigsResponse;
import dev.basalt.proto.v1.CreatePartitionsRequest;
import dev.basalt.proto.v1.CreatePartitionsResponse;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.CreateTopicsResponse;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * How a broker carries out an admin change whichever node the client reached: on the active
 * controller itself, the local {@link QuorumController}; anywhere else, the change is forwarded to
 * the active controller's AdminService (on its CONTROLLER listener) with the request's own
 * timeout, following NOT_CONTROLLER hints. The client never sees NOT_CONTROLLER unless no
 * controller became active within its timeout.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class ForwardingControllerChannel implements ControllerChannel {
    private final Supplier<QuorumController> local;
    private final MetadataQuorum localQuorum;
    private final ControllerClient controllers;

    /**
     * @param local       this node's controller loop, or a supplier of null on a broker-only node
     * @param localQuorum this node's quorum, or null on a broker-only node
     */
    public ForwardingControllerChannel(Supplier<QuorumController> local, MetadataQuorum localQuorum, ControllerClient controllers) {
        this.local = local;
        this.localQuorum = localQuorum;
        this.controllers = controllers;
    }

    /**
     * How long a forwarded change waits for the controller's answer, all attempts together: the
     * request's timeout (30 s when the request gives none) plus {@link #FORWARD_MARGIN_MS}.
     * The controller answers REQUEST_TIMED_OUT itself when its timeout passes; with the same
     * deadline here the two raced and the client got an untyped failure instead (found probing),
     * and a request without timeout_ms (grpcurl's default) was forwarded with a 1 ms deadline.
     */
    static long forwardMs(int requestTimeoutMs) {
        return (requestTimeoutMs <= 0 ? QuorumController.ADMIN_TIMEOUT_MS_DEFAULT : requestTimeoutMs) + FORWARD_MARGIN_MS;
    }

    /** Time a forwarded change allows beyond the request's timeout for the controller's own answer. */
    static final long FORWARD_MARGIN_MS = 500;

    /**
     * The timeout_ms an attempt carries when the request gave one: what is left of the forwarding
     * deadline less the margin, so a retry after NOT_CONTROLLER (an election) still lets the
     * controller answer before the deadline. A request without one keeps it (each RPC has its own
     * rule for 0: the controller's default, or a refusal).
     */
    static int attemptTimeoutMs(long attemptMs) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, attemptMs - FORWARD_MARGIN_MS));
    }

    private QuorumController localIfActive() {
        QuorumController c = local.get();
        return c != null && localQuorum != null && localQuorum.isActiveController() ? c : null;
    }

    @Override
    public CompletableFuture<CreateTopicsResponse> createTopics(CreateTopicsRequest request) {
        QuorumController c = localIfActive();
        if (c != null) {
            return c.createTopics(request);
        }
        return controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).createTopics(request.getTimeoutMs() <= 0 ? request
                        : request.toBuilder().setTimeoutMs(attemptTimeoutMs(ms)).build()),
                r -> r.getTopicsList().stream().anyMatch(t -> t.getErrorCode() == dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER)
                        ? dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER : r.getErrorCode(), forwardMs(request.getTimeoutMs()));
    }

    @Override
    public CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest request) {
        QuorumController c = localIfActive();
        if (c != null) {
            return c.deleteTopics(request);
        }
        return controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).deleteTopics(request.getTimeoutMs() <= 0 ? request
                        : request.toBuilder().setTimeoutMs(attemptTimeoutMs(ms)).build()),
                r -> r.getTopicsList().stream().anyMatch(t -> t.getErrorCode() == dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER)
                        ? dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER : r.getErrorCode(), forwardMs(request.getTimeoutMs()));
    }

    @Override
    public CompletableFuture<CreatePartitionsResponse> createPartitions(CreatePartitionsRequest request) {
        QuorumController c = localIfActive();
        if (c != null) {
            return c.createPartitions(request);
        }
        return controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).createPartitions(request.getTimeoutMs() <= 0 ? request
                        : request.toBuilder().setTimeoutMs(attemptTimeoutMs(ms)).build()),
                r -> r.getTopicsList().stream().anyMatch(t -> t.getErrorCode() == dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER)
                        ? dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER : r.getErrorCode(), forwardMs(request.getTimeoutMs()));
    }

    @Override
    public CompletableFuture<AlterConfigsResponse> alterConfigs(AlterConfigsRequest request) {
        QuorumController c = localIfActive();
        if (c != null) {
            return c.alterConfigs(request);
        }
        return controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).alterConfigs(request.getTimeoutMs() <= 0 ? request
                        : request.toBuilder().setTimeoutMs(attemptTimeoutMs(ms)).build()),
                r -> r.getResourcesList().stream().anyMatch(t -> t.getErrorCode() == dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER)
                        ? dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER : r.getErrorCode(), forwardMs(request.getTimeoutMs()));
    }

    @Override
    public CompletableFuture<dev.basalt.proto.v1.AlterPartitionReassignmentsResponse> alterPartitionReassignments(
            dev.basalt.proto.v1.AlterPartitionReassignmentsRequest request) {
        QuorumController c = localIfActive();
        if (c != null) {
            return c.alterPartitionReassignments(request);
        }
        return controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS)
                        .alterPartitionReassignments(request.getTimeoutMs() <= 0 ? request
                                : request.toBuilder().setTimeoutMs(attemptTimeoutMs(ms)).build()),
                r -> r.getResultsList().stream().anyMatch(t -> t.getErrorCode() == dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER)
                        ? dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER : r.getErrorCode(), forwardMs(request.getTimeoutMs()));
    }

    @Override
    public CompletableFuture<dev.basalt.proto.v1.DecommissionBrokerResponse> decommissionBroker(
            dev.basalt.proto.v1.DecommissionBrokerRequest request) {
        QuorumController c = localIfActive();
        if (c != null) {
            return c.decommissionBroker(request);
        }
        return controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).decommissionBroker(request.getTimeoutMs() <= 0 ? request
                        : request.toBuilder().setTimeoutMs(attemptTimeoutMs(ms)).build()),
                dev.basalt.proto.v1.DecommissionBrokerResponse::getErrorCode, forwardMs(request.getTimeoutMs()));
    }

    @Override
    public CompletableFuture<dev.basalt.proto.v1.DecommissionBrokerResponse> recommissionBroker(
            dev.basalt.proto.v1.DecommissionBrokerRequest request) {
        QuorumController c = localIfActive();
        if (c != null) {
            return c.recommissionBroker(request);
        }
        return controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).recommissionBroker(request.getTimeoutMs() <= 0 ? request
                        : request.toBuilder().setTimeoutMs(attemptTimeoutMs(ms)).build()),
                dev.basalt.proto.v1.DecommissionBrokerResponse::getErrorCode, forwardMs(request.getTimeoutMs()));
    }

    @Override
    public CompletableFuture<dev.basalt.proto.v1.ElectLeadersResponse> electLeaders(
            dev.basalt.proto.v1.ElectLeadersRequest request) {
        QuorumController c = localIfActive();
        if (c != null) {
            return c.electLeaders(request);
        }
        return controllers.callAdmin((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).electLeaders(request.getTimeoutMs() <= 0 ? request
                        : request.toBuilder().setTimeoutMs(attemptTimeoutMs(ms)).build()),
                dev.basalt.proto.v1.ElectLeadersResponse::getErrorCode, forwardMs(request.getTimeoutMs()));
    }
}

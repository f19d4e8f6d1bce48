package dev.basalt.broker.rpc;

import dev.basalt.broker.controller.QuorumController;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.AlterConfigsResponse;
import dev.basalt.proto.v1.CreatePartitionsRequest;
import dev.basalt.proto.v1.CreatePartitionsResponse;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.CreateTopicsResponse;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * The AdminService's changes as a controller serves them on its CONTROLLER listener, for brokers
 * that forward a client's admin change to the active controller. Only the changes are served
 * here (reads are answered by brokers from their own image); a controller that is not active
 * answers NOT_CONTROLLER in each entry, and the forwarding broker follows the hint.
 *
 * <p>Thread-safety: thread-safe; answers complete from futures, no gRPC thread blocks.
 */
public final class ControllerAdminRpc extends AdminServiceGrpc.AdminServiceImplBase {
    private final Supplier<QuorumController> controller;
    private final Supplier<dev.basalt.proto.v1.DescribeQuorumResponse> quorum;

    /**
     * {@code quorum}: this voter's own description of the quorum; only the Raft leader knows every
     * voter's progress, so other voters answer NOT_CONTROLLER naming it.
     */
    public ControllerAdminRpc(Supplier<QuorumController> controller, Supplier<dev.basalt.proto.v1.DescribeQuorumResponse> quorum) {
        this.controller = controller;
        this.quorum = quorum;
    }

    @Override
    public void describeQuorum(dev.basalt.proto.v1.DescribeQuorumRequest request,
                               StreamObserver<dev.basalt.proto.v1.DescribeQuorumResponse> obs) {
        dev.basalt.proto.v1.DescribeQuorumResponse r = quorum.get();
        QuorumController c = controller.get();
        if (c == null || !c.isActive()) {
            r = dev.basalt.proto.v1.DescribeQuorumResponse.newBuilder().setErrorCode(dev.basalt.proto.v1.ErrorCode.NOT_CONTROLLER)
                    .setErrorMessage("not the quorum leader").setLeaderId(r.getLeaderId()).build();
        }
        obs.onNext(r);
        obs.onCompleted();
    }

    private <T> void answer(StreamObserver<T> obs, java.util.function.Function<QuorumController, CompletableFuture<T>> call) {
        QuorumController c = controller.get();
        if (c == null) {
            obs.onError(dev.basalt.grpc.NotSent.notProcessed("controller starting"));
            return;
        }
        call.apply(c).whenComplete((r, e) -> {
            if (e != null) {
                obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
            } else {
                obs.onNext(r);
                obs.onCompleted();
            }
        });
    }

    @Override
    public void createTopics(CreateTopicsRequest request, StreamObserver<CreateTopicsResponse> obs) {
        answer(obs, c -> c.createTopics(request));
    }

    @Override
    public void deleteTopics(DeleteTopicsRequest request, StreamObserver<DeleteTopicsResponse> obs) {
        answer(obs, c -> c.deleteTopics(request));
    }

    @Override
    public void createPartitions(CreatePartitionsRequest request, StreamObserver<CreatePartitionsResponse> obs) {
        answer(obs, c -> c.createPartitions(request));
    }

    @Override
    public void alterConfigs(AlterConfigsRequest request, StreamObserver<AlterConfigsResponse> obs) {
        answer(obs, c -> c.alterConfigs(request));
    }

    @Override
    public void alterPartitionReassignments(dev.basalt.proto.v1.AlterPartitionReassignmentsRequest request,
                                            StreamObserver<dev.basalt.proto.v1.AlterPartitionReassignmentsResponse> obs) {
        answer(obs, c -> c.alterPartitionReassignments(request));
    }

    @Override
    public void decommissionBroker(dev.basalt.proto.v1.DecommissionBrokerRequest request,
                                   StreamObserver<dev.basalt.proto.v1.DecommissionBrokerResponse> obs) {
        answer(obs, c -> c.decommissionBroker(request));
    }

    @Override
    public void recommissionBroker(dev.basalt.proto.v1.DecommissionBrokerRequest request,
                                   StreamObserver<dev.basalt.proto.v1.DecommissionBrokerResponse> obs) {
        answer(obs, c -> c.recommissionBroker(request));
    }

    @Override
    public void electLeaders(dev.basalt.proto.v1.ElectLeadersRequest request,
                             StreamObserver<dev.basalt.proto.v1.ElectLeadersResponse> obs) {
        answer(obs, c -> c.electLeaders(request));
    }
}

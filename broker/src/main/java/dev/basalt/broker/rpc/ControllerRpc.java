package dev.basalt.broker.rpc;

import dev.basalt.broker.controller.QuorumController;
import dev.basalt.broker.controller.RaftMetadataQuorum;
import dev.basalt.broker.controller.RecentMetadataEntries;
import dev.basalt.metadata.controller.AlterPartitionRequest;
import dev.basalt.metadata.controller.BrokerRegistrationRequest;
import dev.basalt.metadata.controller.HeartbeatRequest;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.AlterPartitionResponse;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerHeartbeatRequest;
import dev.basalt.proto.v1.BrokerHeartbeatResponse;
import dev.basalt.proto.v1.ControllerServiceGrpc;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FetchMetadataRequest;
import dev.basalt.proto.v1.FetchMetadataResponse;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.RegisterBrokerRequest;
import dev.basalt.proto.v1.RegisterBrokerResponse;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The Controller gRPC service (controller.proto) of a controller node: decodes and validates, calls
 * the {@link QuorumController} or the quorum's window of recent entries, encodes. No decisions here.
 *
 * <p>Thread-safety: thread-safe; handlers never block a gRPC thread (answers complete from futures).
 */
public final class ControllerRpc extends ControllerServiceGrpc.ControllerServiceImplBase {
    /** Longest long-poll of FetchMetadata. */
    static final int FETCH_METADATA_WAIT_MS_MAX = 30_000;
    /** Most entry bytes in one FetchMetadata answer (at least one entry is always sent). */
    static final long FETCH_METADATA_BYTES_MAX = 4L << 20;

    private final Supplier<QuorumController> controller;
    private final Supplier<RaftMetadataQuorum> quorum;
    private final ScheduledExecutorService timer;

    /** Suppliers, because the service is registered before the quorum and controller exist. */
    public ControllerRpc(Supplier<QuorumController> controller, Supplier<RaftMetadataQuorum> quorum, ScheduledExecutorService timer) {
        this.controller = controller;
        this.quorum = quorum;
        this.timer = timer;
    }

    private int controllerId() {
        RaftMetadataQuorum q = quorum.get();
        return q == null ? -1 : q.leaderId();
    }

    @Override
    public void registerBroker(RegisterBrokerRequest req, StreamObserver<RegisterBrokerResponse> obs) {
        QuorumController c = controller.get();
        if (c == null) {
            obs.onNext(RegisterBrokerResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER)
                    .setErrorMessage("controller starting").setControllerId(-1).build());
            obs.onCompleted();
            return;
        }
        BrokerRegistrationRequest request;
        try {
            List<Endpoint> endpoints = new ArrayList<>();
            for (BrokerEndpoint e : req.getEndpointsList()) {
                endpoints.add(new Endpoint(e.getName(), e.getHost(), e.getPort()));
            }
            request = new BrokerRegistrationRequest(req.getBrokerId(), ProtoIds.fromProto(req.getIncarnationId()), endpoints,
                    req.getRack().isEmpty() ? Optional.empty() : Optional.of(req.getRack()),
                    req.getUncleanShutdown() && !req.getUncleanTopicsOnly(),
                    req.getUncleanShutdown() && req.getUncleanTopicsOnly()
                            ? req.getUncleanTopicIdsList().stream().map(ProtoIds::fromProto).collect(java.util.stream.Collectors.toSet())
                            : java.util.Set.of());
        } catch (RuntimeException e) {
            obs.onNext(RegisterBrokerResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(String.valueOf(e.getMessage())).setControllerId(controllerId()).build());
            obs.onCompleted();
            return;
        }
        c.registerBroker(request).whenComplete((status, error) -> {
            RegisterBrokerResponse.Builder b = RegisterBrokerResponse.newBuilder().setControllerId(controllerId());
            if (error != null) {
                QuorumController.Outcome o = QuorumController.outcome(error);
                b.setErrorCode(o.code()).setErrorMessage(o.message());
            } else {
                b.setFenced(status.fenced());
            }
            obs.onNext(b.build());
            obs.onCompleted();
        });
    }

    @Override
    public void brokerHeartbeat(BrokerHeartbeatRequest req, StreamObserver<BrokerHeartbeatResponse> obs) {
        QuorumController c = controller.get();
        if (c == null) {
            obs.onNext(BrokerHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER)
                    .setErrorMessage("controller starting").setControllerId(-1).build());
            obs.onCompleted();
            return;
        }
        UUID incarnation = ProtoIds.fromProto(req.getIncarnationId());
        if (req.getOfflineReplicasCount() > HeartbeatRequest.OFFLINE_REPLICAS_MAX) {
            obs.onNext(BrokerHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setControllerId(controllerId())
                    .setErrorMessage("more than " + HeartbeatRequest.OFFLINE_REPLICAS_MAX + " offline replicas").build());
            obs.onCompleted();
            return;
        }
        if (req.getUnreachableLeadersCount() > HeartbeatRequest.UNREACHABLE_LEADERS_MAX) {
            obs.onNext(BrokerHeartbeatResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setControllerId(controllerId())
                    .setErrorMessage("more than " + HeartbeatRequest.UNREACHABLE_LEADERS_MAX + " unreachable leaders").build());
            obs.onCompleted();
            return;
        }
        java.util.List<dev.basalt.metadata.controller.PartitionRef> offline = new java.util.ArrayList<>();
        java.util.Map<dev.basalt.metadata.controller.PartitionRef, String> reasons = new java.util.HashMap<>();
        for (var r : req.getOfflineReplicasList()) {
            var ref = new dev.basalt.metadata.controller.PartitionRef(ProtoIds.fromProto(r.getTopicId()), r.getPartition());
            offline.add(ref);
            if (!r.getReason().isEmpty()) {
                reasons.put(ref, r.getReason());
            }
        }
        c.heartbeat(new HeartbeatRequest(req.getBrokerId(), incarnation, req.getCaughtUp(), req.getWantShutdown(), offline, reasons,
                        new java.util.HashSet<>(req.getUnreachableLeadersList())))
                .whenComplete((status, error) -> {
                    BrokerHeartbeatResponse.Builder b = BrokerHeartbeatResponse.newBuilder().setControllerId(controllerId());
                    if (error != null) {
                        QuorumController.Outcome o = QuorumController.outcome(error);
                        b.setErrorCode(o.code()).setErrorMessage(o.message());
                    } else {
                        b.setFenced(status.fenced());
                        if (req.getWantShutdown()) {
                            b.setShutdownMayProceed(c.leadsNothing(req.getBrokerId()));
                        }
                    }
                    obs.onNext(b.build());
                    obs.onCompleted();
                });
    }

    @Override
    public void brokerSession(dev.basalt.proto.v1.BrokerSessionRequest req,
                              StreamObserver<dev.basalt.proto.v1.BrokerSessionEvent> obs) {
        QuorumController c = controller.get();
        UUID incarnation = ProtoIds.fromProto(req.getIncarnationId());
        var first = dev.basalt.proto.v1.BrokerSessionEvent.newBuilder().setControllerId(controllerId());
        var server = (io.grpc.stub.ServerCallStreamObserver<dev.basalt.proto.v1.BrokerSessionEvent>) obs;
        Runnable end = () -> {
            synchronized (server) {
                try {
                    server.onCompleted();
                } catch (RuntimeException ignored) {
                    // already cancelled or completed
                }
            }
        };
        if (c == null || !c.openSession(req.getBrokerId(), incarnation, end)) {
            obs.onNext(first.setErrorCode(ErrorCode.NOT_CONTROLLER).setErrorMessage("not the active controller").build());
            obs.onCompleted();
            return;
        }
        // The stream ends when the broker's connection goes away (its process died) or it cancels.
        server.setOnCancelHandler(() -> c.closeSession(req.getBrokerId(), incarnation, "connection closed"));
        synchronized (server) {
            obs.onNext(first.setErrorCode(ErrorCode.NONE).build());
        }
    }

    @Override
    public void alterPartition(dev.basalt.proto.v1.AlterPartitionRequest req, StreamObserver<AlterPartitionResponse> obs) {
        QuorumController c = controller.get();
        if (c == null) {
            obs.onNext(AlterPartitionResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER)
                    .setErrorMessage("controller starting").setControllerId(-1).build());
            obs.onCompleted();
            return;
        }
        AlterPartitionRequest request = new AlterPartitionRequest(req.getBrokerId(), ProtoIds.fromProto(req.getIncarnationId()),
                ProtoIds.fromProto(req.getTopicId()), req.getPartition(), req.getLeaderEpoch(), req.getPartitionEpoch(),
                req.getNewIsrList());
        c.alterPartition(request).whenComplete((reg, error) -> {
            AlterPartitionResponse.Builder b = AlterPartitionResponse.newBuilder().setControllerId(controllerId());
            if (error != null) {
                QuorumController.Outcome o = QuorumController.outcome(error);
                b.setErrorCode(o.code()).setErrorMessage(o.message());
            } else {
                b.setPartition(toRecord(req, reg));
            }
            obs.onNext(b.build());
            obs.onCompleted();
        });
    }

    @Override
    public void allocateProducerIds(dev.basalt.proto.v1.AllocateProducerIdsRequest req,
                                    StreamObserver<dev.basalt.proto.v1.AllocateProducerIdsResponse> obs) {
        QuorumController c = controller.get();
        if (c == null) {
            obs.onNext(dev.basalt.proto.v1.AllocateProducerIdsResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER)
                    .setErrorMessage("controller starting").setControllerId(-1).build());
            obs.onCompleted();
            return;
        }
        c.allocateProducerIds(req.getBrokerId(), ProtoIds.fromProto(req.getIncarnationId())).whenComplete((block, error) -> {
            var b = dev.basalt.proto.v1.AllocateProducerIdsResponse.newBuilder().setControllerId(controllerId());
            if (error != null) {
                QuorumController.Outcome o = QuorumController.outcome(error);
                b.setErrorCode(o.code()).setErrorMessage(o.message());
            } else {
                b.setFirstProducerId(block.firstProducerId()).setSize(block.size());
            }
            obs.onNext(b.build());
            obs.onCompleted();
        });
    }

    static PartitionRecord toRecord(dev.basalt.proto.v1.AlterPartitionRequest req, PartitionRegistration reg) {
        return PartitionRecord.newBuilder().setTopicId(req.getTopicId()).setPartition(req.getPartition())
                .addAllReplicas(reg.replicas()).addAllIsr(reg.isr()).setLeader(reg.leader()).setLeaderEpoch(reg.leaderEpoch())
                .setPartitionEpoch(reg.partitionEpoch()).build();
    }

    @Override
    public void fetchMetadata(FetchMetadataRequest req, StreamObserver<FetchMetadataResponse> obs) {
        RaftMetadataQuorum q = quorum.get();
        if (q == null) {
            obs.onNext(FetchMetadataResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER)
                    .setErrorMessage("controller starting").setControllerId(-1).build());
            obs.onCompleted();
            return;
        }
        String aside = q.suspendedReason();
        if (aside != null) {
            // Its image stopped where its metadata log did: send the broker to another controller.
            obs.onNext(FetchMetadataResponse.newBuilder().setErrorCode(ErrorCode.NOT_CONTROLLER).setControllerId(-1)
                    .setErrorMessage("this controller stands aside: " + aside).build());
            obs.onCompleted();
            return;
        }
        if (req.getFromIndex() < 0 || req.getMaxWaitMs() < 0 || req.getMaxWaitMs() > FETCH_METADATA_WAIT_MS_MAX) {
            obs.onNext(FetchMetadataResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST).setControllerId(q.leaderId())
                    .setErrorMessage("from_index must be >= 0 and max_wait_ms 0.." + FETCH_METADATA_WAIT_MS_MAX).build());
            obs.onCompleted();
            return;
        }
        q.observerFetched(req.getNodeId(), req.getFromIndex());
        RecentMetadataEntries recent = q.recentEntries();
        CompletableFuture<Long> ready = recent.whenAfter(req.getFromIndex());
        if (!ready.isDone() && req.getMaxWaitMs() > 0) {
            CompletableFuture<Long> timeout = new CompletableFuture<>();
            var t = timer.schedule(() -> timeout.complete(-1L), req.getMaxWaitMs(), TimeUnit.MILLISECONDS);
            ready = ready.applyToEither(timeout, x -> x);
            ready.whenComplete((x, e) -> t.cancel(false));
        }
        ready.whenComplete((x, e) -> {
            try {
                obs.onNext(answer(q, req.getFromIndex()));
                obs.onCompleted();
            } catch (RuntimeException ex) {
                obs.onError(Status.INTERNAL.withDescription(ex.toString()).asRuntimeException());
            }
        });
    }

    private static FetchMetadataResponse answer(RaftMetadataQuorum q, long fromIndex) {
        FetchMetadataResponse.Builder b = FetchMetadataResponse.newBuilder().setControllerId(q.leaderId()).setQuorum(q.describe());
        RecentMetadataEntries recent = q.recentEntries();
        List<RecentMetadataEntries.Entry> entries = recent.after(fromIndex, FETCH_METADATA_BYTES_MAX);
        if (entries == null) {
            // Too far behind the window: the whole image; the observer continues after its index.
            byte[] snapshot = q.snapshotBytes();
            b.setSnapshot(ByteString.copyFrom(snapshot));
            b.setAppliedIndex(q.appliedIndex());
            return b.build();
        }
        for (RecentMetadataEntries.Entry e : entries) {
            b.addEntriesBuilder().setIndex(e.index()).setBatch(ByteString.copyFrom(e.batch()));
        }
        b.setAppliedIndex(Math.max(q.appliedIndex(), entries.isEmpty() ? 0 : entries.get(entries.size() - 1).index()));
        return b.build();
    }
}

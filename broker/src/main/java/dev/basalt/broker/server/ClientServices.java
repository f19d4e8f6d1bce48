package dev.basalt.broker.server;

import dev.basalt.broker.controller.ControllerChannel;
import dev.basalt.broker.grpc.FetchReply;
import dev.basalt.broker.grpc.StrictRequestParsing;
import dev.basalt.grpc.AliasingMarshaller;
import dev.basalt.log.FetchSlice;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.AlterConfigsResponse;
import dev.basalt.proto.v1.CreatePartitionsRequest;
import dev.basalt.proto.v1.CreatePartitionsResponse;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.CreateTopicsResponse;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsResponse;
import dev.basalt.proto.v1.DescribeClusterRequest;
import dev.basalt.proto.v1.DescribeClusterResponse;
import dev.basalt.proto.v1.DescribeConfigsRequest;
import dev.basalt.proto.v1.DescribeConfigsResponse;
import dev.basalt.proto.v1.DescribeQuorumRequest;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import dev.basalt.proto.v1.DescribeTopicsRequest;
import dev.basalt.proto.v1.DescribeTopicsResponse;
import dev.basalt.proto.v1.FetchRequest;
import dev.basalt.proto.v1.FetchServiceGrpc;
import dev.basalt.proto.v1.ListOffsetsRequest;
import dev.basalt.proto.v1.ListOffsetsResponse;
import dev.basalt.proto.v1.ListOffsetsServiceGrpc;
import dev.basalt.proto.v1.ListTopicsRequest;
import dev.basalt.proto.v1.ListTopicsResponse;
import dev.basalt.proto.v1.MetadataRequest;
import dev.basalt.proto.v1.MetadataResponse;
import dev.basalt.proto.v1.MetadataServiceGrpc;
import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import dev.basalt.proto.v1.ProduceServiceGrpc;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing gRPC services of a broker (package basalt.v1): the edge that maps wire
 * requests to the handlers and handler outcomes to responses. Domain errors are error codes in
 * the responses (see errors.proto); only failures outside the protocol become gRPC statuses
 * (INVALID_ARGUMENT for a message that is not valid protobuf, INTERNAL for a bug, UNAVAILABLE
 * while shutting down).
 *
 * <p>Thread-safety: thread-safe; gRPC calls these from its executor threads.
 */
public final class ClientServices {
    private static final Logger log = LoggerFactory.getLogger(ClientServices.class);

    private final ProduceHandler produce;
    private final FetchHandler fetch;
    private final ListOffsetsHandler listOffsets;
    private final MetadataHandler metadata;
    private final AdminHandler admin;
    private final ControllerChannel controller;
    private final Supplier<CompletableFuture<DescribeQuorumResponse>> quorum;
    private final AliasingMarshaller<ProduceRequest> produceMarshaller;
    private final dev.basalt.broker.producer.InitProducerIdHandler initProducerId;
    private final DeleteRecordsHandler deleteRecords;

    public ClientServices(ProduceHandler produce, dev.basalt.broker.producer.InitProducerIdHandler initProducerId,
                          FetchHandler fetch, ListOffsetsHandler listOffsets, MetadataHandler metadata,
                          AdminHandler admin, DeleteRecordsHandler deleteRecords, ControllerChannel controller,
                          Supplier<CompletableFuture<DescribeQuorumResponse>> quorum, int produceRequestBytesMax) {
        this.deleteRecords = deleteRecords;
        this.produce = produce;
        this.initProducerId = initProducerId;
        this.fetch = fetch;
        this.listOffsets = listOffsets;
        this.metadata = metadata;
        this.admin = admin;
        this.controller = controller;
        this.quorum = quorum;
        this.produceMarshaller = new AliasingMarshaller<>(ProtoUtils.marshaller(ProduceRequest.getDefaultInstance()),
                ProduceRequest.getDefaultInstance(), produceRequestBytesMax);
    }

    public List<ServerServiceDefinition> definitions() {
        // Every service parses its requests itself: a malformed message is INVALID_ARGUMENT, not UNKNOWN.
        return List.of(produceService(), fetchService(), listOffsetsService().bindService(),
                metadataService().bindService(), adminService().bindService()).stream()
                .map(StrictRequestParsing::wrap).toList();
    }

    /** Produce is bound by hand to parse requests with the aliasing (one-copy) marshaller. */
    private ServerServiceDefinition produceService() {
        MethodDescriptor<ProduceRequest, ProduceResponse> method = ProduceServiceGrpc.getProduceMethod()
                .toBuilder(produceMarshaller, ProtoUtils.marshaller(ProduceResponse.getDefaultInstance())).build();
        MethodDescriptor<ProduceRequest, ProduceResponse> streamMethod = ProduceServiceGrpc.getProduceStreamMethod()
                .toBuilder(produceMarshaller, ProtoUtils.marshaller(ProduceResponse.getDefaultInstance())).build();
        return StrictRequestParsing.describedAs(ProduceServiceGrpc.getServiceDescriptor(), List.of(
                ServerMethodDefinition.create(streamMethod, ServerCalls.asyncBidiStreamingCall(
                        obs -> new ProduceStreamSession(produce, (ServerCallStreamObserver<ProduceResponse>) obs))),
                ServerMethodDefinition.create(method, ServerCalls.asyncUnaryCall((req, obs) -> {
                    try {
                        produce.handle(req, response -> {
                            obs.onNext(response);
                            obs.onCompleted();
                        });
                    } catch (RuntimeException e) {
                        log.error("Produce failed unexpectedly", e);
                        obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                    }
                })),
                ServerMethodDefinition.create(ProduceServiceGrpc.getInitProducerIdMethod(), ServerCalls.asyncUnaryCall(
                        (dev.basalt.proto.v1.InitProducerIdRequest req,
                         StreamObserver<dev.basalt.proto.v1.InitProducerIdResponse> obs) -> {
                            try {
                                initProducerId.handle(req, response -> {
                                    obs.onNext(response);
                                    obs.onCompleted();
                                });
                            } catch (RuntimeException e) {
                                log.error("InitProducerId failed unexpectedly", e);
                                obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                            }
                        }))));
    }

    /**
     * Fetch and FetchInParts are bound by hand so that answers are written by
     * {@link FetchReply#MARSHALLER}. Both share the handler; FetchInParts sends the answer as
     * parts of at least {@link #FETCH_PART_BYTES_MIN} record bytes, each flushed to the
     * connection as soon as it is written (gRPC flushes a unary answer only once it is whole).
     */
    private ServerServiceDefinition fetchService() {
        MethodDescriptor<FetchRequest, FetchReply> unary = FetchServiceGrpc.getFetchMethod()
                .toBuilder(ProtoUtils.marshaller(FetchRequest.getDefaultInstance()), FetchReply.MARSHALLER).build();
        MethodDescriptor<FetchRequest, FetchReply> inParts = FetchServiceGrpc.getFetchInPartsMethod()
                .toBuilder(ProtoUtils.marshaller(FetchRequest.getDefaultInstance()), FetchReply.MARSHALLER).build();
        MethodDescriptor<FetchRequest, FetchReply> stream = FetchServiceGrpc.getFetchStreamMethod()
                .toBuilder(ProtoUtils.marshaller(FetchRequest.getDefaultInstance()), FetchReply.MARSHALLER).build();
        return StrictRequestParsing.describedAs(FetchServiceGrpc.getServiceDescriptor(), List.of(
                ServerMethodDefinition.create(stream, ServerCalls.asyncBidiStreamingCall(obs -> new FetchStreamSession(fetch,
                        FETCH_PART_BYTES_MIN, (ServerCallStreamObserver<FetchReply>) obs))),
                ServerMethodDefinition.create(unary, ServerCalls.asyncUnaryCall((FetchRequest request, StreamObserver<FetchReply> obs) ->
                        serveFetch(request, obs, List::of))),
                ServerMethodDefinition.create(inParts, ServerCalls.asyncServerStreamingCall(
                        (FetchRequest request, StreamObserver<FetchReply> obs) ->
                                serveFetch(request, obs, reply -> reply.parts(FETCH_PART_BYTES_MIN))))));
    }

    /** Record bytes after which FetchInParts closes a part (fetch.proto documents the rule). */
    static final int FETCH_PART_BYTES_MIN = 256 * 1024;

    private void serveFetch(FetchRequest request, StreamObserver<FetchReply> responseObserver,
                            java.util.function.Function<FetchReply, List<FetchReply>> split) {
        ServerCallStreamObserver<FetchReply> obs = (ServerCallStreamObserver<FetchReply>) responseObserver;
        AtomicReference<List<FetchSlice>> held = new AtomicReference<>(List.of());
        Runnable release = () -> held.getAndSet(List.of()).forEach(FetchSlice::close);
        obs.setOnCloseHandler(release);
        obs.setOnCancelHandler(release);
        try {
            fetch.handle(request, (reply, slices) -> {
                held.set(slices);
                if (obs.isCancelled()) {
                    release.run();
                    return;
                }
                // the slices stay mapped until the call closes, after the last part is written
                for (FetchReply part : split.apply(reply)) {
                    obs.onNext(part);
                }
                obs.onCompleted();
            });
        } catch (RuntimeException e) {
            log.error("Fetch failed unexpectedly", e);
            release.run();
            obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
        }
    }

    private BindableService listOffsetsService() {
        return new ListOffsetsServiceGrpc.ListOffsetsServiceImplBase() {
            @Override
            public void listOffsets(ListOffsetsRequest request, StreamObserver<ListOffsetsResponse> obs) {
                unary(obs, () -> listOffsets.handle(request));
            }
        };
    }

    private BindableService metadataService() {
        return new MetadataServiceGrpc.MetadataServiceImplBase() {
            @Override
            public void metadata(MetadataRequest request, StreamObserver<MetadataResponse> obs) {
                unary(obs, () -> metadata.handle(request));
            }
        };
    }

    private BindableService adminService() {
        return new AdminServiceGrpc.AdminServiceImplBase() {
            @Override
            public void createTopics(CreateTopicsRequest request, StreamObserver<CreateTopicsResponse> obs) {
                async(obs, () -> controller.createTopics(request));
            }

            @Override
            public void deleteTopics(DeleteTopicsRequest request, StreamObserver<DeleteTopicsResponse> obs) {
                async(obs, () -> controller.deleteTopics(request));
            }

            @Override
            public void createPartitions(CreatePartitionsRequest request, StreamObserver<CreatePartitionsResponse> obs) {
                async(obs, () -> controller.createPartitions(request));
            }

            @Override
            public void alterConfigs(AlterConfigsRequest request, StreamObserver<AlterConfigsResponse> obs) {
                async(obs, () -> controller.alterConfigs(request));
            }

            @Override
            public void listTopics(ListTopicsRequest request, StreamObserver<ListTopicsResponse> obs) {
                unary(obs, () -> admin.listTopics(request));
            }

            @Override
            public void describeTopics(DescribeTopicsRequest request, StreamObserver<DescribeTopicsResponse> obs) {
                unary(obs, () -> admin.describeTopics(request));
            }

            @Override
            public void describeConfigs(DescribeConfigsRequest request, StreamObserver<DescribeConfigsResponse> obs) {
                unary(obs, () -> admin.describeConfigs(request));
            }

            @Override
            public void describeCluster(DescribeClusterRequest request, StreamObserver<DescribeClusterResponse> obs) {
                unary(obs, () -> admin.describeCluster(request));
            }

            @Override
            public void describeStorage(dev.basalt.proto.v1.DescribeStorageRequest request,
                                        StreamObserver<dev.basalt.proto.v1.DescribeStorageResponse> obs) {
                unary(obs, () -> admin.describeStorage(request));
            }

            @Override
            public void describeQuorum(DescribeQuorumRequest request, StreamObserver<DescribeQuorumResponse> obs) {
                async(obs, quorum); // a node other than the Raft leader asks it: never a blocked request thread
            }

            @Override
            public void alterPartitionReassignments(dev.basalt.proto.v1.AlterPartitionReassignmentsRequest request,
                                                    StreamObserver<dev.basalt.proto.v1.AlterPartitionReassignmentsResponse> obs) {
                async(obs, () -> controller.alterPartitionReassignments(request));
            }

            @Override
            public void listPartitionReassignments(dev.basalt.proto.v1.ListPartitionReassignmentsRequest request,
                                                   StreamObserver<dev.basalt.proto.v1.ListPartitionReassignmentsResponse> obs) {
                unary(obs, () -> admin.listPartitionReassignments(request));
            }

            @Override
            public void generateReassignmentPlan(dev.basalt.proto.v1.GenerateReassignmentPlanRequest request,
                                                 StreamObserver<dev.basalt.proto.v1.GenerateReassignmentPlanResponse> obs) {
                unary(obs, () -> admin.generateReassignmentPlan(request));
            }

            @Override
            public void decommissionBroker(dev.basalt.proto.v1.DecommissionBrokerRequest request,
                                           StreamObserver<dev.basalt.proto.v1.DecommissionBrokerResponse> obs) {
                async(obs, () -> controller.decommissionBroker(request));
            }

            @Override
            public void recommissionBroker(dev.basalt.proto.v1.DecommissionBrokerRequest request,
                                           StreamObserver<dev.basalt.proto.v1.DecommissionBrokerResponse> obs) {
                async(obs, () -> controller.recommissionBroker(request));
            }

            @Override
            public void deleteRecords(dev.basalt.proto.v1.DeleteRecordsRequest request,
                                      StreamObserver<dev.basalt.proto.v1.DeleteRecordsResponse> obs) {
                try {
                    ClientServices.this.deleteRecords.handle(request, response -> {
                        obs.onNext(response);
                        obs.onCompleted();
                    });
                } catch (RuntimeException e) {
                    log.error("DeleteRecords failed unexpectedly", e);
                    obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }

            @Override
            public void electLeaders(dev.basalt.proto.v1.ElectLeadersRequest request,
                                     StreamObserver<dev.basalt.proto.v1.ElectLeadersResponse> obs) {
                async(obs, () -> controller.electLeaders(request));
            }
        };
    }

    private static <T> void unary(StreamObserver<T> obs, Supplier<T> body) {
        T response;
        try {
            response = body.get();
        } catch (RuntimeException e) {
            log.error("Request failed unexpectedly", e);
            obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
            return;
        }
        obs.onNext(response);
        obs.onCompleted();
    }

    private static <T> void async(StreamObserver<T> obs, Supplier<CompletableFuture<T>> body) {
        CompletableFuture<T> future;
        try {
            future = body.get();
        } catch (RuntimeException e) {
            log.error("Request failed unexpectedly", e);
            obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
            return;
        }
        future.whenComplete((response, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                if (dev.basalt.grpc.NotSent.isNotProcessed(cause)) {
                    // no controller took it: definite, and the client may send it again
                    obs.onError(dev.basalt.grpc.NotSent.notProcessed(
                            "not forwarded: " + io.grpc.Status.fromThrowable(cause).getDescription()));
                    return;
                }
                if (cause instanceof io.grpc.StatusRuntimeException forwarded) {
                    // the change was forwarded and the active controller's answer never came: it may
                    // have been made, so the client must not be told anything definite
                    log.warn("A forwarded controller request got no answer: {}", forwarded.getStatus());
                    // no answer in time is gRPC's DEADLINE_EXCEEDED (which says the change may have
                    // been made); any other transport failure stays INTERNAL
                    Status answer = forwarded.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED ? Status.DEADLINE_EXCEEDED
                            : Status.INTERNAL;
                    obs.onError(answer.withDescription("forwarded to the active controller, outcome unknown: "
                            + forwarded.getStatus()).asRuntimeException());
                    return;
                }
                log.error("Controller request failed", cause);
                obs.onError(Status.INTERNAL.withDescription(cause.toString()).asRuntimeException());
            } else {
                obs.onNext(response);
                obs.onCompleted();
            }
        });
    }
}

package dev.basalt.broker.rpc;

import dev.basalt.broker.replica.ReplicaRequestHandler;
import dev.basalt.broker.replica.fetcher.ReplicaClient;
import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import dev.basalt.proto.v1.ReplicaServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC binding of replica.proto's ReplicaService, both ends: {@link #service} serves followers
 * from a {@link ReplicaRequestHandler} (decode, call, encode; no logic), and {@link #clients}
 * opens {@link ReplicaClient}s for a broker's fetchers. Domain errors travel as error codes in
 * the responses; a gRPC status only means the transport or a bug failed.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class ReplicaRpc {
    private static final Logger log = LoggerFactory.getLogger(ReplicaRpc.class);

    private ReplicaRpc() {
    }

    /** The service to add to the broker's client-listener server. */
    public static ServerServiceDefinition service(ReplicaRequestHandler handler) {
        return new ReplicaServiceGrpc.ReplicaServiceImplBase() {
            @Override
            public void replicaFetch(ReplicaFetchRequest request, StreamObserver<ReplicaFetchResponse> obs) {
                try {
                    handler.handleFetch(request, response -> {
                        obs.onNext(response);
                        obs.onCompleted();
                    });
                } catch (RuntimeException e) {
                    log.error("ReplicaFetch failed unexpectedly", e);
                    obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }

            @Override
            public void offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, StreamObserver<OffsetForLeaderEpochResponse> obs) {
                OffsetForLeaderEpochResponse response;
                try {
                    response = handler.handleOffsetForLeaderEpoch(request);
                } catch (RuntimeException e) {
                    log.error("OffsetForLeaderEpoch failed unexpectedly", e);
                    obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                    return;
                }
                obs.onNext(response);
                obs.onCompleted();
            }
        }.bindService();
    }

    /**
     * Clients over plaintext Netty channels (one channel per leader broker).
     *
     * @param inboundBytesMax largest answer accepted (≥ replica.fetch.response.max.bytes plus framing)
     */
    public static ReplicaClient.Factory clients(int inboundBytesMax) {
        return clients((hostPort) -> NettyChannelBuilder.forTarget(hostPort).usePlaintext()
                .maxInboundMessageSize(inboundBytesMax).build());
    }

    /** Clients over channels from {@code channels} ("host:port" → channel); tests pass in-process ones. */
    public static ReplicaClient.Factory clients(Function<String, ManagedChannel> channels) {
        return (brokerId, host, port) -> new GrpcReplicaClient(brokerId, channels.apply(host + ":" + port));
    }

    /** A follower's connection to one leader. */
    private static final class GrpcReplicaClient implements ReplicaClient {
        private final int brokerId;
        private final ManagedChannel channel;
        private final ReplicaServiceGrpc.ReplicaServiceBlockingStub stub;

        GrpcReplicaClient(int brokerId, ManagedChannel channel) {
            this.brokerId = brokerId;
            this.channel = channel;
            this.stub = ReplicaServiceGrpc.newBlockingStub(channel);
        }

        @Override
        public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) throws ReplicaClientException {
            try {
                return stub.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS).replicaFetch(request);
            } catch (StatusRuntimeException e) {
                throw new ReplicaClientException("ReplicaFetch to broker " + brokerId + ": " + e.getStatus(), e);
            }
        }

        @Override
        public OffsetForLeaderEpochResponse offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, long timeoutMs)
                throws ReplicaClientException {
            try {
                return stub.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS).offsetForLeaderEpoch(request);
            } catch (StatusRuntimeException e) {
                throw new ReplicaClientException("OffsetForLeaderEpoch to broker " + brokerId + ": " + e.getStatus(), e);
            }
        }

        @Override
        public void close() {
            channel.shutdownNow();
        }
    }
}

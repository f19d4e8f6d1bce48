package dev.basalt.broker.replica.fetcher;

import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;

/**
 * A follower's connection to one leader broker's ReplicaService (replica.proto). Calls block the
 * calling fetcher thread up to {@code timeoutMs}. Implemented over gRPC in
 * {@code dev.basalt.broker.rpc.ReplicaRpc}; tests may use in-process channels.
 *
 * <p>Thread-safety: implementations are thread-safe.
 */
public interface ReplicaClient extends AutoCloseable {

    /** A transport failure or deadline: the request may or may not have reached the leader. */
    final class ReplicaClientException extends Exception {
        private static final long serialVersionUID = 1L;

        public ReplicaClientException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) throws ReplicaClientException;

    OffsetForLeaderEpochResponse offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, long timeoutMs)
            throws ReplicaClientException;

    @Override
    void close();

    /** Opens clients to brokers; the endpoint is the broker's PLAINTEXT listener from the image. */
    @FunctionalInterface
    interface Factory {
        ReplicaClient connect(int brokerId, String host, int port);
    }
}

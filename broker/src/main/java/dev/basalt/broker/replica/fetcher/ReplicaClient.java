package dev.basalt.broker.replica.fetcher;

import dev.basalt.proto.v1.OffsetForLeaderEpochRequest;
import dev.basalt.proto.v1.OffsetForLeaderEpochResponse;
import dev.basalt.proto.v1.ReplicaFetchRequest;
import dev.basalt.proto.v1.ReplicaFetchResponse;
import java.util.concurrent.CompletableFuture;

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

        private final boolean abandoned;

        public ReplicaClientException(String message, Throwable cause) {
            this(message, cause, false);
        }

        /** @param abandoned the fetcher gave the request up itself ({@link #fetch(ReplicaFetchRequest, long, CompletableFuture)}) */
        public ReplicaClientException(String message, Throwable cause, boolean abandoned) {
            super(message, cause);
            this.abandoned = abandoned;
        }

        /** Whether the caller abandoned the request (its answer is dropped): no failure of the leader. */
        public boolean abandoned() {
            return abandoned;
        }

        /**
         * Whether the leader answered (a gRPC status it sent, such as RESOURCE_EXHAUSTED), as
         * opposed to a request that never got there or never came back (UNAVAILABLE, a deadline,
         * our own cancellation of a request without an answer, no status at all).
         */
        public boolean leaderAnswered() {
            if (!(getCause() instanceof io.grpc.StatusRuntimeException) && !(getCause() instanceof io.grpc.StatusException)) {
                return false;
            }
            io.grpc.Status.Code code = io.grpc.Status.fromThrowable(getCause()).getCode();
            return code != io.grpc.Status.Code.UNAVAILABLE && code != io.grpc.Status.Code.DEADLINE_EXCEEDED
                    && code != io.grpc.Status.Code.CANCELLED && code != io.grpc.Status.Code.UNKNOWN;
        }
    }

    ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) throws ReplicaClientException;

    /**
     * As {@link #fetch(ReplicaFetchRequest, long)}, but given up as soon as {@code abandon}
     * completes (also when it already has): the call then throws a {@link ReplicaClientException}
     * whose {@link ReplicaClientException#abandoned()} is true, and an answer that comes later is
     * dropped. The fetcher abandons a fetch parked at the leader when it starts following another
     * partition from that leader, so that the new partition is asked for at once. A fetch is safe to
     * give up: the leader changes nothing for it but its record of this follower's progress, which
     * the next fetch restates. The default ignores {@code abandon} (the fetch then runs its course).
     */
    default ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs, CompletableFuture<?> abandon)
            throws ReplicaClientException {
        return fetch(request, timeoutMs);
    }

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

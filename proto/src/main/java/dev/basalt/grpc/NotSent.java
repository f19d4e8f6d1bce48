package dev.basalt.grpc;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;

/**
 * When a failed gRPC call certainly did nothing, shared by the broker and the client: the
 * connection was never made, or the server said so with the trailer {@code basalt-not-processed}
 * on an UNAVAILABLE status (docs/api.md). Anything else that failed after the request left may or
 * may not have taken effect. Thread-safety: stateless.
 */
public final class NotSent {
    /** Trailer on an UNAVAILABLE status: the server did not process the request; sending it again is safe. */
    public static final Metadata.Key<String> NOT_PROCESSED = Metadata.Key.of("basalt-not-processed", Metadata.ASCII_STRING_MARSHALLER);

    private NotSent() {
    }

    /** An UNAVAILABLE status carrying {@link #NOT_PROCESSED}. */
    public static StatusRuntimeException notProcessed(String why) {
        Metadata trailers = new Metadata();
        trailers.put(NOT_PROCESSED, "true");
        return Status.UNAVAILABLE.withDescription(why).asRuntimeException(trailers);
    }

    /** True if {@code t} is an UNAVAILABLE status whose sender said the request was not processed. */
    public static boolean isNotProcessed(Throwable t) {
        Metadata trailers = Status.trailersFromThrowable(t);
        return Status.fromThrowable(t).getCode() == Status.Code.UNAVAILABLE && trailers != null && trailers.containsKey(NOT_PROCESSED);
    }

    /** True if the failure happened before any connection was established (the request was never sent). */
    public static boolean neverConnected(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof ConnectException || c instanceof UnknownHostException
                    || c instanceof NoRouteToHostException || c instanceof UnresolvedAddressException) {
                return true;
            }
        }
        return false;
    }
}

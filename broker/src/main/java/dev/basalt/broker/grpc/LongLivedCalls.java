package dev.basalt.broker.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tracks the open streaming calls of the services it intercepts, so that a stopping node can end
 * them. gRPC's graceful {@code Server.shutdown()} waits for every open call, and a stream that
 * never ends by itself (a health Watch) would hold the node's shutdown for its whole timeout.
 *
 * <p>Thread-safety: thread-safe. {@link #closeAll} writes to the calls from the caller's thread,
 * so it may be used only once the service itself no longer writes to them (for the health service:
 * after {@code HealthStatusManager.enterTerminalState()}, which writes synchronously).
 */
public final class LongLivedCalls implements ServerInterceptor {
    private final Set<ServerCall<?, ?>> open = ConcurrentHashMap.newKeySet();

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
                                                                 ServerCallHandler<ReqT, RespT> next) {
        if (call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY) {
            return next.startCall(call, headers);
        }
        open.add(call);
        ServerCall<ReqT, RespT> tracked = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                open.remove(call);
                super.close(status, trailers);
            }
        };
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(tracked, headers)) {
            @Override
            public void onCancel() {
                open.remove(call);
                super.onCancel();
            }

            @Override
            public void onComplete() {
                open.remove(call);
                super.onComplete();
            }
        };
    }

    /** Streams open now. */
    public int size() {
        return open.size();
    }

    /** Ends every open stream with {@code status} (see the class comment for when this is allowed). */
    public void closeAll(Status status) {
        for (ServerCall<?, ?> c : open) {
            if (open.remove(c)) {
                try {
                    c.close(status, new Metadata());
                } catch (IllegalStateException alreadyClosed) {
                    // closed by the service meanwhile: nothing to end
                }
            }
        }
    }
}

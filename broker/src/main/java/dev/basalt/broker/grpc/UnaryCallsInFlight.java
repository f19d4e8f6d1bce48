package dev.basalt.broker.grpc;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the unary calls in flight on a server, so that a stopping node can give them their time
 * and then end the streams (a client's produce and fetch sessions never end by themselves, and
 * gRPC's graceful shutdown would wait for them for its whole timeout).
 *
 * <p>Thread-safety: thread-safe.
 */
public final class UnaryCallsInFlight implements ServerInterceptor {
    private final AtomicInteger inFlight = new AtomicInteger();

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
                                                                 ServerCallHandler<ReqT, RespT> next) {
        if (call.getMethodDescriptor().getType() != MethodDescriptor.MethodType.UNARY) {
            return next.startCall(call, headers);
        }
        inFlight.incrementAndGet();
        ServerCall.Listener<ReqT> delegate;
        try {
            delegate = next.startCall(call, headers);
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            throw e;
        }
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
            private boolean done; // listener callbacks are serialized by gRPC

            private void finish() {
                if (!done) {
                    done = true;
                    inFlight.decrementAndGet();
                }
            }

            @Override
            public void onCancel() {
                finish();
                super.onCancel();
            }

            @Override
            public void onComplete() {
                finish();
                super.onComplete();
            }
        };
    }

    /** Unary calls started and not yet completed or cancelled. */
    public int count() {
        return inFlight.get();
    }
}

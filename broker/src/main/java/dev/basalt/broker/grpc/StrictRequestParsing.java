package dev.basalt.broker.grpc;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes a malformed request message an {@code INVALID_ARGUMENT} status naming the parse error.
 * grpc-java parses a request before any application code runs and turns a parse failure into
 * {@code UNKNOWN "Application error processing RPC"}, which tells a client nothing (and is not
 * the typed answer the protocol promises). Each wrapped method receives the raw message stream
 * and parses it itself with the method's own marshaller; a failure closes the call with
 * {@code INVALID_ARGUMENT} (or keeps {@code RESOURCE_EXHAUSTED} for a message over the size
 * limit) and the service never sees the call.
 *
 * <p>Thread-safety: stateless; the wrapped handlers are as thread-safe as the originals (gRPC
 * delivers one call's callbacks serially).
 */
public final class StrictRequestParsing {
    private static final MethodDescriptor.Marshaller<InputStream> RAW = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(InputStream value) {
            return value;
        }

        @Override
        public InputStream parse(InputStream stream) {
            return stream;
        }
    };

    private StrictRequestParsing() {
    }

    /** {@code service} with every method parsing its requests as described above. */
    public static ServerServiceDefinition wrap(ServerServiceDefinition service) {
        List<ServerMethodDefinition<?, ?>> wrapped = new ArrayList<>();
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            wrapped.add(wrapMethod(m));
        }
        return describedAs(service.getServiceDescriptor(), wrapped);
    }

    /**
     * A definition of {@code methods} that keeps {@code generated}'s schema descriptor (the
     * .proto file behind the service), which server reflection serves; a definition built from
     * the service name alone is invisible to reflection.
     */
    public static ServerServiceDefinition describedAs(ServiceDescriptor generated, List<ServerMethodDefinition<?, ?>> methods) {
        ServiceDescriptor.Builder sd = ServiceDescriptor.newBuilder(generated.getName())
                .setSchemaDescriptor(generated.getSchemaDescriptor());
        methods.forEach(m -> sd.addMethod(m.getMethodDescriptor()));
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(sd.build());
        methods.forEach(b::addMethod);
        return b.build();
    }

    private static <ReqT, RespT> ServerMethodDefinition<InputStream, RespT> wrapMethod(ServerMethodDefinition<ReqT, RespT> def) {
        MethodDescriptor<ReqT, RespT> original = def.getMethodDescriptor();
        MethodDescriptor<InputStream, RespT> raw = original.toBuilder(RAW, original.getResponseMarshaller()).build();
        ServerCallHandler<ReqT, RespT> handler = def.getServerCallHandler();
        return ServerMethodDefinition.create(raw, (call, headers) -> startCall(original, handler, call, headers));
    }

    private static <ReqT, RespT> ServerCall.Listener<InputStream> startCall(MethodDescriptor<ReqT, RespT> original,
            ServerCallHandler<ReqT, RespT> handler, ServerCall<InputStream, RespT> call, Metadata headers) {
        ServerCall<ReqT, RespT> typed = new TypedCall<>(call, original);
        ServerCall.Listener<ReqT> delegate = handler.startCall(typed, headers);
        return new ServerCall.Listener<>() {
            private boolean rejected; // gRPC calls one call's listener serially

            @Override
            public void onMessage(InputStream message) {
                if (rejected) {
                    return;
                }
                ReqT request;
                try {
                    request = original.parseRequest(message);
                } catch (RuntimeException e) {
                    rejected = true;
                    call.close(statusFor(e, original.getFullMethodName()), new Metadata());
                    return;
                }
                delegate.onMessage(request);
            }

            @Override
            public void onHalfClose() {
                if (!rejected) {
                    delegate.onHalfClose();
                }
            }

            @Override
            public void onCancel() {
                delegate.onCancel();
            }

            @Override
            public void onComplete() {
                delegate.onComplete();
            }

            @Override
            public void onReady() {
                if (!rejected) {
                    delegate.onReady();
                }
            }
        };
    }

    static Status statusFor(RuntimeException e, String method) {
        if (e instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) {
            return s.getStatus();
        }
        String why = e instanceof StatusRuntimeException s && s.getStatus().getDescription() != null
                ? s.getStatus().getDescription() : String.valueOf(e.getMessage());
        return Status.INVALID_ARGUMENT.withDescription("malformed " + method + " request: " + why);
    }

    /** The call as the original handler sees it: its own method descriptor, responses unchanged. */
    private static final class TypedCall<ReqT, RespT> extends ForwardingServerCall<ReqT, RespT> {
        private final ServerCall<InputStream, RespT> raw;
        private final MethodDescriptor<ReqT, RespT> method;

        TypedCall(ServerCall<InputStream, RespT> raw, MethodDescriptor<ReqT, RespT> method) {
            this.raw = raw;
            this.method = method;
        }

        @Override
        @SuppressWarnings("unchecked")
        protected ServerCall<ReqT, RespT> delegate() {
            // Only getMethodDescriptor involves the request type, and it is overridden below.
            return (ServerCall<ReqT, RespT>) (ServerCall<?, RespT>) raw;
        }

        @Override
        public MethodDescriptor<ReqT, RespT> getMethodDescriptor() {
            return method;
        }
    }
}

package dev.basalt.broker.metrics;

import com.google.protobuf.Descriptors;
import com.google.protobuf.Message;
import dev.basalt.broker.grpc.FetchReply;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ProduceResponse;
import io.grpc.Context;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Request metrics of one gRPC listener ({@code listener} label: {@value #CLIENT} or
 * {@value #CONTROLLER}), per gRPC method ({@code rpc} label, the full method name):
 * calls, errors by code, and for unary calls the latency split Kafka's request metrics use:
 * <ul>
 *   <li>queue: the request arrived on the transport until a request thread starts the handler;</li>
 *   <li>local: the handler's own work (validation, append or read);</li>
 *   <li>remote-wait: the handler returned until the answer is sent (acks=all waiting for the
 *       ISR, a long-poll fetch parked in the purgatory);</li>
 *   <li>send: the answer handed to gRPC until the stream is closed;</li>
 *   <li>duration: arrival to close.</li>
 * </ul>
 * Errors: domain errors are the {@code ErrorCode}s in the answer (for Produce and Fetch every
 * partition's, for other methods the answer's top-level {@code error_code}); a call that ends with
 * a gRPC status other than OK counts {@code GRPC_<STATUS>}, except a streaming call the client
 * cancelled (how a client ends a long-lived stream). The clients' request streams
 * ({@value #PRODUCE_STREAM}, {@value #FETCH_STREAM}: the Java client's produce and fetch path) are
 * timed per request message under their own {@code rpc} label, matched to their answers by
 * correlation id: queue (received by the transport until the handler runs), local, remote-wait
 * and duration (received until the answer, or a fetch's last part, is handed to gRPC; there is no
 * per-message send phase). Other streaming calls (replica fetch sessions, subscriptions, the Raft
 * envelope stream between voters) count calls, messages and errors only: their durations are
 * session lengths.
 *
 * <p>How: a {@link ServerStreamTracer} is created on the transport thread when a call arrives
 * (the arrival time) and puts the call's {@link CallTiming} into the call's {@link Context}; an
 * interceptor stamps the handler's start and end and the answer; the tracer records everything
 * when the stream closes. Each method's data points are resolved once, on its first call.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class RpcMetrics {
    private static final Context.Key<CallTiming> TIMING = Context.key("basalt-call-timing");
    /** Distinct {@code rpc} label values at most (bounded cardinality whatever clients send). */
    static final int METHODS_MAX = 128;
    static final String OTHER = "other";

    /** Streams timed per request message (see the class comment). */
    static final String PRODUCE_STREAM = "basalt.v1.ProduceService/ProduceStream";
    static final String FETCH_STREAM = "basalt.v1.FetchService/FetchStream";
    /** Unanswered requests timed per stream, at most (ProduceStream reads 32 ahead; more are not timed). */
    static final int TIMED_REQUESTS_PER_STREAM_MAX = 256;

    /** The listener the calls arrive on: the client port (clients and follower replicas). */
    public static final String CLIENT = "client";
    /** The CONTROLLER port: Raft between voters, and the controller's services. */
    public static final String CONTROLLER = "controller";

    private final Families families;
    private final String listener;
    private final ConcurrentHashMap<String, Method> methods = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Descriptors.Descriptor, Optional<Descriptors.FieldDescriptor>> errorFields =
            new ConcurrentHashMap<>();

    /**
     * The request families, registered once per node and shared by every listener's
     * {@link RpcMetrics}: one series per (listener, rpc). Thread-safe.
     */
    static final class Families {
        final Counter requests;
        final Counter messages;
        final Counter errors;
        final Histogram queue;
        final Histogram local;
        final Histogram remoteWait;
        final Histogram send;
        final Histogram duration;

        Families(PrometheusRegistry registry) {
            requests = Counter.builder().name("basalt_requests_total").help("Calls, by listener and gRPC method (a streaming"
                    + " call counts when it ends)").labelNames("listener", "rpc").withoutExemplars().register(registry);
            messages = Counter.builder().name("basalt_request_messages_total").help("Request messages received, by listener"
                    + " and gRPC method: one per unary call, one per message of a streaming call (Raft envelopes, replica"
                    + " fetches)").labelNames("listener", "rpc").withoutExemplars().register(registry);
            errors = Counter.builder().name("basalt_request_errors_total")
                    .help("Error codes in answers (per partition for Produce and Fetch) and gRPC failures (GRPC_<STATUS>)")
                    .labelNames("listener", "rpc", "code").withoutExemplars().register(registry);
            queue = histogram(registry, "basalt_request_queue_seconds", "Unary calls and each request of ProduceStream and"
                    + " FetchStream: arrival until a request thread runs the handler");
            local = histogram(registry, "basalt_request_local_seconds", "Unary calls and each request of ProduceStream and"
                    + " FetchStream: the handler's own work");
            remoteWait = histogram(registry, "basalt_request_remote_wait_seconds", "Unary calls and each request of"
                    + " ProduceStream and FetchStream: handler done until the answer is ready (acks=all replication, long-poll"
                    + " fetches)");
            send = histogram(registry, "basalt_request_send_seconds", "Unary calls: answer handed to gRPC until the stream"
                    + " closed");
            duration = histogram(registry, "basalt_request_duration_seconds", "Unary calls: arrival until the stream closed;"
                    + " a request of ProduceStream or FetchStream: arrival until its answer (a fetch's last part) is sent");
        }

        private static Histogram histogram(PrometheusRegistry registry, String name, String help) {
            return Histogram.builder().name(name).unit(Unit.SECONDS).help(help).labelNames("listener", "rpc").classicOnly()
                    .classicUpperBounds(BrokerMetrics.REQUEST_SECONDS_BUCKETS).withoutExemplars().register(registry);
        }
    }

    RpcMetrics(Families families, String listener) {
        this.families = families;
        this.listener = listener;
    }

    private static final long UNCORRELATED = Long.MIN_VALUE;

    /**
     * Called by a {@value #PRODUCE_STREAM} or {@value #FETCH_STREAM} handler, in the call's
     * context, once it has parsed a request: its answer is matched by this id. Requests arrive
     * here as raw bytes (the handlers parse them), so only the handler knows the id.
     */
    public static void correlate(long correlationId) {
        CallTiming t = TIMING.get();
        if (t != null && t.perMessage != null) {
            CallTiming.Handling h = t.current;
            if (h != null && correlationId != UNCORRELATED) {
                h.correlationId = correlationId;
            }
        }
    }

    /** The {@code listener} label of this instance's series. */
    public String listener() {
        return listener;
    }

    /** Install with {@code ServerBuilder.addStreamTracerFactory}. */
    public ServerStreamTracer.Factory tracerFactory() {
        return new ServerStreamTracer.Factory() {
            @Override
            public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
                return new Tracer(new CallTiming(method(fullMethodName), System.nanoTime(),
                        fullMethodName.equals(PRODUCE_STREAM) || fullMethodName.equals(FETCH_STREAM)));
            }
        };
    }

    /** Install with {@code ServerBuilder.intercept} (runs before every service's own interceptors). */
    public ServerInterceptor interceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                               ServerCallHandler<Q, R> next) {
                CallTiming t = TIMING.get();
                if (t == null) {
                    return next.startCall(call, headers);
                }
                t.unary = call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY;
                ServerCall<Q, R> timed = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                    @Override
                    public void sendMessage(R message) {
                        t.answeredNanos = System.nanoTime();
                        t.method.countErrors(message);
                        if (t.perMessage != null) {
                            t.answered(message, t.answeredNanos);
                        }
                        super.sendMessage(message);
                    }
                };
                return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(timed, headers)) {
                    @Override
                    public void onMessage(Q message) {
                        if (t.perMessage == null) {
                            super.onMessage(message);
                            return;
                        }
                        t.handling(System.nanoTime()); // raw bytes here: the handler names the correlation id
                        try {
                            super.onMessage(message);
                        } finally {
                            t.handled(System.nanoTime());
                        }
                    }

                    @Override
                    public void onHalfClose() {
                        // Unary handlers run here (ServerCalls.asyncUnaryCall).
                        t.handlerStartNanos = System.nanoTime();
                        try {
                            super.onHalfClose();
                        } finally {
                            t.handlerEndNanos = System.nanoTime();
                        }
                    }
                };
            }
        };
    }

    private Method method(String fullMethodName) {
        Method m = methods.get(fullMethodName);
        if (m != null) {
            return m;
        }
        // The name comes from the client, before gRPC knows whether the method exists: past the
        // bound (far above the ~40 methods the node serves) every new name shares one series.
        return methods.computeIfAbsent(methods.size() < METHODS_MAX ? fullMethodName : OTHER, Method::new);
    }

    /** One method's data points, resolved on its first call. */
    private final class Method {
        final String rpc;
        final CounterDataPoint calls;
        final CounterDataPoint messages;
        final DistributionDataPoint queueSeconds;
        final DistributionDataPoint localSeconds;
        final DistributionDataPoint remoteWaitSeconds;
        final DistributionDataPoint sendSeconds;
        final DistributionDataPoint durationSeconds;
        /** By ErrorCode number; children created on the first error of each code. */
        final AtomicReferenceArray<CounterDataPoint> byCode = new AtomicReferenceArray<>(128);
        final AtomicReferenceArray<CounterDataPoint> byStatus = new AtomicReferenceArray<>(Status.Code.values().length);

        Method(String rpc) {
            this.rpc = rpc;
            Families f = families;
            calls = f.requests.labelValues(listener, rpc);
            messages = f.messages.labelValues(listener, rpc);
            queueSeconds = f.queue.labelValues(listener, rpc);
            localSeconds = f.local.labelValues(listener, rpc);
            remoteWaitSeconds = f.remoteWait.labelValues(listener, rpc);
            sendSeconds = f.send.labelValues(listener, rpc);
            durationSeconds = f.duration.labelValues(listener, rpc);
        }

        /** One request of a stream timed per message: received, handler start and end, answered. */
        void observe(long receivedNanos, long startNanos, long localEndNanos, long answeredNanos) {
            queueSeconds.observe(Math.max(0, startNanos - receivedNanos) / 1e9);
            localSeconds.observe(Math.max(0, localEndNanos - startNanos) / 1e9);
            remoteWaitSeconds.observe(Math.max(0, answeredNanos - localEndNanos) / 1e9);
            durationSeconds.observe(Math.max(0, answeredNanos - receivedNanos) / 1e9);
        }

        void error(ErrorCode code) {
            int n = code == ErrorCode.UNRECOGNIZED ? -1 : code.getNumber();
            if (n < 0 || n >= byCode.length()) {
                families.errors.labelValues(listener, rpc, "UNRECOGNIZED").inc();
                return;
            }
            CounterDataPoint c = byCode.get(n);
            if (c == null) {
                c = families.errors.labelValues(listener, rpc, code.name());
                byCode.set(n, c);
            }
            c.inc();
        }

        void failed(Status.Code code) {
            CounterDataPoint c = byStatus.get(code.ordinal());
            if (c == null) {
                c = families.errors.labelValues(listener, rpc, "GRPC_" + code.name());
                byStatus.set(code.ordinal(), c);
            }
            c.inc();
        }

        void countErrors(Object answer) {
            if (answer instanceof ProduceResponse r) {
                if (r.getErrorCode() != ErrorCode.NONE) {
                    error(r.getErrorCode());
                }
                for (int i = 0; i < r.getTopicsCount(); i++) {
                    ProduceResponse.TopicResponse t = r.getTopics(i);
                    for (int j = 0; j < t.getPartitionsCount(); j++) {
                        ErrorCode c = t.getPartitions(j).getErrorCode();
                        if (c != ErrorCode.NONE) {
                            error(c);
                        }
                    }
                }
            } else if (answer instanceof FetchReply r) {
                r.forEachError(this::error);
            } else if (answer instanceof Message m) {
                Descriptors.FieldDescriptor f = errorFields.computeIfAbsent(m.getDescriptorForType(), RpcMetrics::errorField)
                        .orElse(null);
                if (f != null) {
                    int n = ((Descriptors.EnumValueDescriptor) m.getField(f)).getNumber();
                    if (n != ErrorCode.NONE_VALUE) {
                        ErrorCode c = ErrorCode.forNumber(n);
                        error(c == null ? ErrorCode.UNRECOGNIZED : c);
                    }
                }
            }
        }
    }

    private static Optional<Descriptors.FieldDescriptor> errorField(Descriptors.Descriptor type) {
        Descriptors.FieldDescriptor f = type.findFieldByName("error_code");
        if (f == null || f.isRepeated() || f.getType() != Descriptors.FieldDescriptor.Type.ENUM
                || !f.getEnumType().getFullName().equals(ErrorCode.getDescriptor().getFullName())) {
            return Optional.empty();
        }
        return Optional.of(f);
    }

    /** One call's timestamps (System.nanoTime), written by the threads that reach each step. */
    private static final class CallTiming {
        final Method method;
        final long arrivedNanos;
        volatile boolean unary;
        volatile long handlerStartNanos;
        volatile long handlerEndNanos;
        volatile long answeredNanos;
        /** A stream timed per request: arrival times of messages not yet handled, in order; else null. */
        final java.util.concurrent.ConcurrentLinkedQueue<Long> received;
        /** Handled, unanswered requests by correlation id: {received, handler start, handler end}; else null. */
        final ConcurrentHashMap<Long, long[]> perMessage;

        CallTiming(Method method, long arrivedNanos, boolean timedPerMessage) {
            this.method = method;
            this.arrivedNanos = arrivedNanos;
            this.received = timedPerMessage ? new java.util.concurrent.ConcurrentLinkedQueue<>() : null;
            this.perMessage = timedPerMessage ? new ConcurrentHashMap<>() : null;
        }

        /** The request whose handler runs now (a stream delivers its messages one at a time), or null. */
        volatile Handling current;

        /** One request in its handler: an answer sent before the handler returns is recorded at once. */
        static final class Handling {
            /** Set by the handler ({@link RpcMetrics#correlate}) once it has parsed the request; else unknown. */
            volatile long correlationId = UNCORRELATED;
            final long receivedNanos;
            final long startNanos;
            final java.util.concurrent.atomic.AtomicBoolean recorded = new java.util.concurrent.atomic.AtomicBoolean();

            Handling(long receivedNanos, long startNanos) {
                this.receivedNanos = receivedNanos;
                this.startNanos = startNanos;
            }
        }

        /** The transport received a request message (messages reach the handler in this order). */
        void receivedMessage(long nanos) {
            if (received != null && received.size() < TIMED_REQUESTS_PER_STREAM_MAX) {
                received.add(nanos);
            }
        }

        void handling(long startNanos) {
            Long in = received.poll();
            current = new Handling(in == null ? startNanos : in, startNanos);
        }

        void handled(long endNanos) {
            Handling h = current;
            if (h == null) {
                return;
            }
            if (h.correlationId == UNCORRELATED) {
                current = null; // refused before the handler saw it (malformed): not timed
                return;
            }
            boolean kept = !h.recorded.get() && perMessage.size() < TIMED_REQUESTS_PER_STREAM_MAX;
            if (kept) {
                perMessage.put(h.correlationId, new long[] {h.receivedNanos, h.startNanos, endNanos});
            }
            current = null; // an answer from now on finds the entry; one before found h
            // exactly one side claims the request: an answer that claimed it recorded it already
            if (!h.recorded.compareAndSet(false, true) && kept) {
                perMessage.remove(h.correlationId);
            }
        }

        void answered(Object answer, long nanos) {
            long id;
            if (answer instanceof ProduceResponse r) {
                id = r.getCorrelationId();
            } else if (answer instanceof FetchReply r && r.lastPart()) {
                id = r.correlationId();
            } else {
                return;
            }
            Handling h = current;
            if (h != null && h.correlationId == id && h.recorded.compareAndSet(false, true)) {
                // answered before its handler returned (acks=1, data at once, an error)
                method.observe(h.receivedNanos, h.startNanos, nanos, nanos);
                return;
            }
            long[] at = perMessage.remove(id); // the handler returned (and claimed it) first
            if (at != null) {
                method.observe(at[0], at[1], Math.min(at[2], nanos), nanos);
            }
        }
    }

    private static final class Tracer extends ServerStreamTracer {
        private final CallTiming t;

        Tracer(CallTiming t) {
            this.t = t;
        }

        @Override
        public Context filterContext(Context context) {
            return context.withValue(TIMING, t);
        }

        @Override
        public void inboundMessage(int seqNo) {
            t.method.messages.inc();
            t.receivedMessage(System.nanoTime());
        }

        @Override
        public void streamClosed(Status status) {
            long closed = System.nanoTime();
            Method m = t.method;
            m.calls.inc();
            if (!status.isOk() && !(status.getCode() == Status.Code.CANCELLED && !t.unary)) {
                // a client ending a long-lived stream (closing, or moving off a stalled broker)
                // cancels it, often with a long poll parked: that is how such a stream ends, not
                // an error; a cancelled unary call (a client giving up on its answer) still counts
                m.failed(status.getCode());
            }
            long start = t.handlerStartNanos;
            long end = t.handlerEndNanos;
            long answered = t.answeredNanos;
            if (!t.unary || start == 0 || answered == 0) {
                return; // streaming, or failed before the handler ran or answered
            }
            // An answer sent from inside the handler (acks=1, a fetch with data, an error) waited for
            // nothing: local time ends at the answer. The stream may even close before the handler
            // has returned (end still 0).
            long localEnd = end == 0 || end > answered ? answered : end;
            m.queueSeconds.observe(seconds(start - t.arrivedNanos));
            m.localSeconds.observe(seconds(localEnd - start));
            m.remoteWaitSeconds.observe(seconds(answered - localEnd));
            m.sendSeconds.observe(seconds(closed - answered));
            m.durationSeconds.observe(seconds(closed - t.arrivedNanos));
        }

        private static double seconds(long nanos) {
            return Math.max(0, nanos) / 1e9;
        }
    }
}

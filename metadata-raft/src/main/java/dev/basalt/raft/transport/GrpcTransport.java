package dev.basalt.raft.transport;

import dev.basalt.proto.v1.RaftEnvelope;
import dev.basalt.proto.v1.RaftServiceGrpc;
import dev.basalt.proto.v1.SendAck;
import dev.basalt.raft.core.RaftMessage;
import dev.basalt.util.SuppressForbidden;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Transport} over gRPC ({@code basalt.v1.RaftService}, raft.proto): one long-lived client
 * stream per peer, opened lazily and reopened after a failure with a backoff of
 * {@link Options#reconnectBackoffMs()}. Thread-safe: each peer's state is guarded by its own
 * monitor; inbound envelopes arrive on gRPC's threads and are handed to the inbound consumer.
 *
 * <p>Limits: a bounded queue per peer ({@link Options#sendQueueMessagesMax()}); messages are
 * written only while gRPC flow control says the stream is ready, so a slow or dead peer fills its
 * queue and later messages to it are dropped (counted in {@link #droppedMessages()}), never
 * blocking the driver. A stream that stays not-ready for {@link Options#sendTimeoutMs()} with
 * messages waiting is cancelled and reopened. Keepalive pings detect dead connections. Inbound
 * envelopes larger than {@link Options#messageBytesMax()} are refused by gRPC
 * (RESOURCE_EXHAUSTED); malformed ones are logged and dropped.
 */
public final class GrpcTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcTransport.class);

    /**
     * @param sendQueueMessagesMax messages waiting per peer before new ones are dropped
     * @param sendTimeoutMs        how long a stream may stay blocked with messages waiting
     * @param messageBytesMax      largest envelope accepted inbound
     * @param reconnectBackoffMs   wait before reopening a failed stream
     */
    public record Options(int sendQueueMessagesMax, long sendTimeoutMs, int messageBytesMax, long reconnectBackoffMs) {
        public static final Options DEFAULT = new Options(4_096, 5_000, 16 << 20, 100);

        public Options {
            if (sendQueueMessagesMax < 1 || sendTimeoutMs < 1 || messageBytesMax < 1024 || reconnectBackoffMs < 0) {
                throw new IllegalArgumentException("bad transport options");
            }
        }
    }

    /** The longest wait between connection attempts to a peer while messages for it wait (gRPC's own grows to 2 min). */
    static final long CONNECT_RETRY_MAX_MS = 1_000;

    private final int localId;
    private final InetSocketAddress listenAddress;
    private final Options options;
    private final Map<Integer, Peer> peers = new TreeMap<>();
    private final AtomicLong dropped = new AtomicLong();
    private final java.util.List<io.grpc.ServerServiceDefinition> extraServices = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.List<ServerInterceptor> interceptors = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final java.util.List<ServerStreamTracer.Factory> tracers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile Server server;

    /** {@code peerAddresses} maps every other node this one may talk to (voters and observers) to its address. */
    public GrpcTransport(int localId, InetSocketAddress listenAddress, Map<Integer, InetSocketAddress> peerAddresses,
                         Options options) {
        this.localId = localId;
        this.listenAddress = Objects.requireNonNull(listenAddress, "listenAddress");
        this.options = Objects.requireNonNull(options, "options");
        peerAddresses.forEach((id, address) -> {
            if (id != localId) {
                peers.put(id, new Peer(id, address));
            }
        });
    }

    /**
     * Serves {@code service} on this transport's listener beside the Raft service (the node's
     * controller-side services share the CONTROLLER port). Call before {@link #start}.
     */
    public void addService(io.grpc.ServerServiceDefinition service) {
        if (server != null) {
            throw new IllegalStateException("addService after start");
        }
        extraServices.add(Objects.requireNonNull(service, "service"));
    }

    /**
     * Instruments every call on this transport's listener (Raft and the extra services): the
     * embedding node supplies them (request metrics), so this module needs no metrics library.
     * {@code tracer} sees each stream from its arrival to its close; {@code interceptor} runs
     * before every service's own interceptors. Either may be null. Call before {@link #start}.
     */
    public void instrument(ServerStreamTracer.Factory tracer, ServerInterceptor interceptor) {
        if (server != null) {
            throw new IllegalStateException("instrument after start");
        }
        if (tracer != null) {
            tracers.add(tracer);
        }
        if (interceptor != null) {
            interceptors.add(interceptor);
        }
    }

    @Override
    public void start(Consumer<RaftMessage> inbound) throws IOException {
        NettyServerBuilder builder = NettyServerBuilder.forAddress(listenAddress)
                .maxInboundMessageSize(options.messageBytesMax())
                .permitKeepAliveTime(1, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .addService(new Service(inbound));
        extraServices.forEach(builder::addService);
        tracers.forEach(builder::addStreamTracerFactory);
        interceptors.forEach(builder::intercept);
        server = builder.build().start();
    }

    /** The port the server listens on (useful when started on port 0). */
    public int port() {
        return server.getPort();
    }

    @Override
    public void send(RaftMessage message) {
        Peer p = peers.get(message.to());
        if (p == null) {
            dropped.incrementAndGet();
            return;
        }
        p.enqueue(RaftMessageCodec.encode(message));
    }

    @Override
    public long droppedMessages() {
        return dropped.get();
    }

    @Override
    public void close() {
        for (Peer p : peers.values()) {
            p.close();
        }
        Server s = server;
        if (s != null) {
            s.shutdownNow();
            try {
                s.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Inbound side: decode, check the addressee, hand over. */
    private final class Service extends RaftServiceGrpc.RaftServiceImplBase {
        private final Consumer<RaftMessage> inbound;

        Service(Consumer<RaftMessage> inbound) {
            this.inbound = inbound;
        }

        @Override
        public StreamObserver<RaftEnvelope> send(StreamObserver<SendAck> responseObserver) {
            return new StreamObserver<>() {
                @Override
                public void onNext(RaftEnvelope envelope) {
                    RaftMessage m;
                    try {
                        if (envelope.getTo() != localId) {
                            throw new IllegalArgumentException("envelope for node " + envelope.getTo());
                        }
                        if (!peers.containsKey(envelope.getFrom())) {
                            throw new IllegalArgumentException("unknown sender node " + envelope.getFrom());
                        }
                        m = RaftMessageCodec.decode(envelope);
                    } catch (IllegalArgumentException e) {
                        LOG.warn("node {}: dropping malformed raft envelope from {}: {}", localId, envelope.getFrom(),
                                e.getMessage());
                        return;
                    }
                    Peer from = peers.get(envelope.getFrom());
                    if (from != null) {
                        from.peerSeen();
                    }
                    inbound.accept(m);
                }

                @Override
                public void onError(Throwable t) {
                    // the peer went away; it reopens its stream when it comes back
                }

                @Override
                public void onCompleted() {
                    responseObserver.onNext(SendAck.getDefaultInstance());
                    responseObserver.onCompleted();
                }
            };
        }
    }

    /** Outbound side for one peer: a bounded queue drained into one stream while it is ready. */
    private final class Peer {
        private final int id;
        private final ManagedChannel channel;
        private final RaftServiceGrpc.RaftServiceStub stub;
        private final ArrayDeque<RaftEnvelope> queue = new ArrayDeque<>();
        private ClientCallStreamObserver<RaftEnvelope> stream;
        private long reconnectAtMs;
        private long blockedSinceMs = -1;
        private long lastConnectRetryMs = Long.MIN_VALUE / 2;
        private boolean closed;
        private boolean watchingState;

        Peer(int id, InetSocketAddress address) {
            this.id = id;
            this.channel = NettyChannelBuilder.forAddress(address).usePlaintext()
                    .keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(2, TimeUnit.SECONDS)
                    .keepAliveWithoutCalls(true).build();
            this.stub = RaftServiceGrpc.newStub(channel);
        }

        synchronized void enqueue(RaftEnvelope envelope) {
            if (closed || queue.size() >= options.sendQueueMessagesMax()) {
                dropped.incrementAndGet();
                return;
            }
            queue.add(envelope);
            drain();
        }

        @SuppressForbidden(reason = "transport timers use the monotonic clock")
        private synchronized void drain() {
            long nowMs = System.nanoTime() / 1_000_000;
            if (stream == null) {
                if (closed || nowMs < reconnectAtMs) {
                    return;
                }
                open();
            }
            boolean wrote = false;
            // Only a connected channel takes messages: while it is connecting (or the peer is down)
            // gRPC would buffer them in the call beyond our bound and deliver them late and stale.
            // They wait in the bounded queue instead; the stream's onReady handler drains it.
            ConnectivityState state = channel.getState(true);
            boolean connected = state == ConnectivityState.READY;
            if (state == ConnectivityState.TRANSIENT_FAILURE && !queue.isEmpty()) {
                maybeRetryConnectNow(nowMs);
            }
            if (!connected && !watchingState && !queue.isEmpty()) {
                watchingState = true;
                channel.notifyWhenStateChanged(state, () -> {
                    synchronized (Peer.this) {
                        watchingState = false;
                        drain();
                    }
                });
            }
            while (connected && stream != null && stream.isReady() && !queue.isEmpty()) {
                stream.onNext(queue.poll());
                wrote = true;
            }
            if (stream != null && !queue.isEmpty()) {
                if (blockedSinceMs < 0 || wrote) {
                    blockedSinceMs = nowMs;
                } else if (nowMs - blockedSinceMs > options.sendTimeoutMs()) {
                    LOG.warn("node {}: stream to {} blocked for {} ms, reopening", localId, id, nowMs - blockedSinceMs);
                    stream.cancel("send timeout", null);
                    failed(nowMs);
                }
            } else {
                blockedSinceMs = -1;
            }
        }

        private void open() {
            stub.send(new ClientResponseObserver<RaftEnvelope, SendAck>() {
                private ClientCallStreamObserver<RaftEnvelope> mine;

                @Override
                public void beforeStart(ClientCallStreamObserver<RaftEnvelope> requestStream) {
                    mine = requestStream;
                    stream = requestStream;
                    requestStream.setOnReadyHandler(Peer.this::drain);
                }

                @Override
                public void onNext(SendAck ack) {
                }

                @Override
                @SuppressForbidden(reason = "transport timers use the monotonic clock")
                public void onError(Throwable t) {
                    synchronized (Peer.this) {
                        if (stream == mine) { // a newer stream may already have replaced this one
                            LOG.debug("node {}: stream to {} failed: {}", localId, id, t.toString());
                            failed(System.nanoTime() / 1_000_000);
                        }
                    }
                }

                @Override
                public void onCompleted() {
                    synchronized (Peer.this) {
                        if (stream == mine) {
                            stream = null;
                        }
                    }
                }
            });
        }

        /**
         * gRPC waits longer and longer between connection attempts to a peer that stays down
         * (up to 2 minutes): a voter restarted after a long outage stayed cut off from the leader,
         * and the quorum had one member fewer, for over a minute. While messages wait for the peer,
         * reconnect at least every {@value #CONNECT_RETRY_MAX_MS} ms instead.
         */
        private void maybeRetryConnectNow(long nowMs) {
            if (nowMs - lastConnectRetryMs >= CONNECT_RETRY_MAX_MS) {
                lastConnectRetryMs = nowMs;
                channel.resetConnectBackoff();
            }
        }

        /** The peer sent us something, so it is up: connect back now if our channel to it is failing. */
        @SuppressForbidden(reason = "transport timers use the monotonic clock")
        synchronized void peerSeen() {
            if (!closed && channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
                maybeRetryConnectNow(System.nanoTime() / 1_000_000);
            }
        }

        /** The stream is gone: what was queued is lost, as on a real network; reopen after a backoff. */
        private void failed(long nowMs) {
            stream = null;
            dropped.addAndGet(queue.size()); // lost with the stream: count them like any other drop
            queue.clear();
            blockedSinceMs = -1;
            reconnectAtMs = nowMs + options.reconnectBackoffMs();
        }

        synchronized void close() {
            closed = true;
            if (stream != null) {
                stream.onCompleted();
                stream = null;
            }
            queue.clear();
            channel.shutdownNow();
        }
    }
}

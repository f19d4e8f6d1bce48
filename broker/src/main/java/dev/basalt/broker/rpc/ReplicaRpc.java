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
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC binding of replica.proto's ReplicaService, both ends: {@link #service} serves followers
 * from a {@link ReplicaRequestHandler} (decode, call, encode; no logic), and {@link #clients}
 * opens {@link ReplicaClient}s for a broker's fetchers. Domain errors travel as error codes in
 * the responses; a gRPC status only means the transport or a bug failed.
 *
 * <p>Fetches travel over one ReplicaFetchSession stream per follower and leader (one request
 * answered at a time), falling back to unary ReplicaFetch against a leader without it.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class ReplicaRpc {
    private static final Logger log = LoggerFactory.getLogger(ReplicaRpc.class);

    private ReplicaRpc() {
    }

    /** The service to add to the broker's client-listener server. */
    public static ServerServiceDefinition service(ReplicaRequestHandler handler) {
        return server(handler).definition();
    }

    /** The service and a handle on its open fetch sessions (a stopping broker ends them). */
    public static Server server(ReplicaRequestHandler handler) {
        return new Server(handler::handleFetch, handler::handleOffsetForLeaderEpoch);
    }

    /**
     * The service over bare functions (tests drive the transport with them).
     *
     * @param fetch answers a fetch by calling its consumer exactly once, now or later, from any thread
     */
    public static ServerServiceDefinition service(BiConsumer<ReplicaFetchRequest, Consumer<ReplicaFetchResponse>> fetch,
                                                  Function<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> offsetForLeaderEpoch) {
        return new Server(fetch, offsetForLeaderEpoch).definition();
    }

    /**
     * The leader side: the service definition and the fetch sessions open on it. A follower's
     * session lives as long as the connection, so gRPC's graceful shutdown would wait for it for
     * the whole shutdown timeout: a stopping broker ends them with {@link #endSessions}.
     *
     * <p>Thread-safety: thread-safe.
     */
    public static final class Server {
        private final Set<FetchSession> sessions = ConcurrentHashMap.newKeySet();
        private final ServerServiceDefinition definition;

        Server(BiConsumer<ReplicaFetchRequest, Consumer<ReplicaFetchResponse>> fetch,
               Function<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> offsetForLeaderEpoch) {
            this.definition = bind(fetch, offsetForLeaderEpoch, sessions);
        }

        public ServerServiceDefinition definition() {
            return definition;
        }

        /** Fetch sessions open now. */
        public int openSessions() {
            return sessions.size();
        }

        /** Ends every open session with {@code status}; followers reconnect (elsewhere, once this broker is gone). */
        public void endSessions(Status status) {
            for (FetchSession s : sessions) {
                s.end(status);
            }
        }
    }

    private static ServerServiceDefinition bind(BiConsumer<ReplicaFetchRequest, Consumer<ReplicaFetchResponse>> fetch,
                                                Function<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> offsetForLeaderEpoch,
                                                Set<FetchSession> sessions) {
        return new ReplicaServiceGrpc.ReplicaServiceImplBase() {
            @Override
            public void replicaFetch(ReplicaFetchRequest request, StreamObserver<ReplicaFetchResponse> obs) {
                try {
                    fetch.accept(request, response -> {
                        obs.onNext(response);
                        obs.onCompleted();
                    });
                } catch (RuntimeException e) {
                    log.error("ReplicaFetch failed unexpectedly", e);
                    obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }

            @Override
            public StreamObserver<ReplicaFetchRequest> replicaFetchSession(StreamObserver<ReplicaFetchResponse> obs) {
                return new FetchSession(fetch, (ServerCallStreamObserver<ReplicaFetchResponse>) obs, sessions);
            }

            @Override
            public void offsetForLeaderEpoch(OffsetForLeaderEpochRequest request, StreamObserver<OffsetForLeaderEpochResponse> obs) {
                OffsetForLeaderEpochResponse response;
                try {
                    response = offsetForLeaderEpoch.apply(request);
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
     * The leader's end of one follower's ReplicaFetchSession: each request goes to the handler,
     * whose single answer (now, or later from the fetch purgatory on an appending thread or the
     * timer) is written to the stream. A second request before that answer breaks the protocol.
     *
     * <p>Thread-safety: requests arrive serially from gRPC; answers may come from any thread, so
     * the stream is written under this object's lock, and nothing is written after it ended.
     */
    private static final class FetchSession implements StreamObserver<ReplicaFetchRequest> {
        private final BiConsumer<ReplicaFetchRequest, Consumer<ReplicaFetchResponse>> handler;
        private final ServerCallStreamObserver<ReplicaFetchResponse> out;
        private final Set<FetchSession> registry;
        private boolean awaitingAnswer; // guarded by this
        private boolean ended; // guarded by this

        FetchSession(BiConsumer<ReplicaFetchRequest, Consumer<ReplicaFetchResponse>> handler,
                     ServerCallStreamObserver<ReplicaFetchResponse> out, Set<FetchSession> registry) {
            this.handler = handler;
            this.out = out;
            this.registry = registry;
            registry.add(this);
            // A parked answer may arrive after the follower went away: drop it instead of throwing.
            out.setOnCancelHandler(() -> {
                synchronized (this) {
                    ended = true;
                }
                registry.remove(this);
            });
        }

        @Override
        public void onNext(ReplicaFetchRequest request) {
            synchronized (this) {
                if (ended) {
                    return;
                }
                if (awaitingAnswer) {
                    ended = true;
                    registry.remove(this);
                    out.onError(Status.FAILED_PRECONDITION
                            .withDescription("a ReplicaFetchSession request arrived before the previous one was answered")
                            .asRuntimeException());
                    return;
                }
                awaitingAnswer = true;
            }
            try {
                handler.accept(request, new ReplicaRequestHandler.Responder() {
                    @Override
                    public void accept(ReplicaFetchResponse response) {
                        answer(response);
                    }

                    @Override
                    public boolean abandoned() {
                        synchronized (FetchSession.this) {
                            return ended;
                        }
                    }
                });
            } catch (RuntimeException e) {
                log.error("ReplicaFetch failed unexpectedly", e);
                end(Status.INTERNAL.withDescription(e.toString()));
            }
        }

        private void answer(ReplicaFetchResponse response) {
            synchronized (this) {
                if (ended) {
                    return;
                }
                // Cleared before the write: the follower's next request may arrive as soon as it is out.
                awaitingAnswer = false;
                out.onNext(response);
            }
        }

        synchronized void end(Status status) {
            registry.remove(this);
            if (!ended) {
                ended = true;
                out.onError(status.asRuntimeException());
            }
        }

        @Override
        public synchronized void onError(Throwable t) {
            registry.remove(this);
            ended = true; // the call is over already; nothing may be written
        }

        @Override
        public synchronized void onCompleted() {
            registry.remove(this);
            if (!ended) {
                ended = true;
                out.onCompleted();
            }
        }
    }

    /**
     * Clients over plaintext Netty channels (one channel per leader broker).
     *
     * @param inboundBytesMax largest answer accepted (≥ replica.fetch.response.max.bytes plus framing)
     */
    public static ReplicaClient.Factory clients(int inboundBytesMax) {
        // Callbacks on the transport thread: they only hand an answer to the waiting fetcher.
        return clients((hostPort) -> NettyChannelBuilder.forTarget(hostPort).usePlaintext().directExecutor()
                .withOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MS)
                .maxInboundMessageSize(inboundBytesMax).build());
    }

    /**
     * A connection attempt to a leader gives up after this long (Netty's default is 30 s): where
     * the network drops the attempt's packets, the next attempt (at most a second later, see
     * ReconnectingChannel) gets through within a few seconds of the network healing.
     */
    static final int CONNECT_TIMEOUT_MS = 3_000;

    /** Clients over channels from {@code channels} ("host:port" → channel); tests pass in-process ones. */
    public static ReplicaClient.Factory clients(Function<String, ManagedChannel> channels) {
        return (brokerId, host, port) -> new GrpcReplicaClient(brokerId, channels.apply(host + ":" + port));
    }

    /**
     * A follower's connection to one leader: fetches over a ReplicaFetchSession stream opened on
     * first use and reopened after any failure; OffsetForLeaderEpoch (rare) as unary calls.
     *
     * <p>Thread-safety: one fetch at a time (the fetcher's thread); {@link #close} from any thread.
     */
    private static final class GrpcReplicaClient implements ReplicaClient {
        private final int brokerId;
        private final ManagedChannel channel;
        private final ReplicaServiceGrpc.ReplicaServiceBlockingStub stub;
        private final ReplicaServiceGrpc.ReplicaServiceStub asyncStub;
        private final Object lock = new Object();
        private ClientCallStreamObserver<ReplicaFetchRequest> session; // guarded by lock
        private CompletableFuture<ReplicaFetchResponse> pending; // guarded by lock
        private volatile boolean sessionsUnsupported;

        /** Caps gRPC's reconnect wait to a leader that was down for long (see ReconnectingChannel). */
        private final ReconnectingChannel reconnect;

        GrpcReplicaClient(int brokerId, ManagedChannel channel) {
            this.brokerId = brokerId;
            this.channel = channel;
            this.reconnect = new ReconnectingChannel(channel);
            this.stub = ReplicaServiceGrpc.newBlockingStub(channel);
            this.asyncStub = ReplicaServiceGrpc.newStub(channel);
        }

        @Override
        public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs) throws ReplicaClientException {
            return fetch(request, timeoutMs, null);
        }

        /**
         * Abandoning ends the stream the fetch waits on (a session answers one request at a time, so
         * the next fetch cannot go out on it before this one is answered); the next fetch opens a
         * new stream on the same connection. A unary fetch (a leader without sessions) is not abandoned.
         */
        @Override
        public ReplicaFetchResponse fetch(ReplicaFetchRequest request, long timeoutMs, CompletableFuture<?> abandon)
                throws ReplicaClientException {
            if (sessionsUnsupported) {
                return unaryFetch(request, timeoutMs);
            }
            CompletableFuture<ReplicaFetchResponse> answer = new CompletableFuture<>();
            synchronized (lock) {
                pending = answer;
                if (session == null) {
                    reconnect.channel();
                    openSession();
                }
                // A stream that failed as it opened (the lock is reentrant) has failed the answer already.
                if (session != null) {
                    session.onNext(request);
                }
            }
            if (abandon != null) {
                abandon.whenComplete((v, e) -> abandonIfPending(answer));
            }
            try {
                return answer.get(timeoutMs, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // A lost answer or a stalled leader: end this stream; the next fetch opens a new one,
                // on a new connection. The old one may be black-holed (a network dropping its packets):
                // TCP would keep retransmitting into it with a doubling backoff, and a stream opened
                // on it after the network heals waited for the next retransmission (found probing:
                // followers rejoined the ISR 80 s after a 2-minute fault ended).
                resetSession("no answer within " + timeoutMs + " ms");
                channel.enterIdle();
                throw new ReplicaClientException("ReplicaFetch to broker " + brokerId + ": no answer within " + timeoutMs + " ms", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Abandoned) {
                    throw new ReplicaClientException("ReplicaFetch to broker " + brokerId + ": abandoned", e.getCause(), true);
                }
                Status status = Status.fromThrowable(e.getCause());
                if (status.getCode() == Status.Code.UNIMPLEMENTED) {
                    log.info("Broker {} has no ReplicaFetchSession; fetching with unary calls", brokerId);
                    sessionsUnsupported = true;
                    return unaryFetch(request, timeoutMs);
                }
                throw new ReplicaClientException("ReplicaFetch to broker " + brokerId + ": " + status, e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                resetSession("interrupted");
                throw new ReplicaClientException("ReplicaFetch to broker " + brokerId + ": interrupted", e);
            }
        }

        /**
         * Opens {@link #session}: a stream whose answers complete {@link #pending} and whose end
         * fails it. Under lock; the session is set before the call starts, so an error delivered
         * at once (on this thread or the transport's) finds it.
         */
        private void openSession() {
            ClientCallStreamObserver<ReplicaFetchRequest>[] opened = newObserverArray();
            asyncStub.replicaFetchSession(new ClientResponseObserver<ReplicaFetchRequest, ReplicaFetchResponse>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<ReplicaFetchRequest> requests) {
                    opened[0] = requests;
                    session = requests;
                }

                @Override
                public void onNext(ReplicaFetchResponse response) {
                    CompletableFuture<ReplicaFetchResponse> f;
                    synchronized (lock) {
                        if (session != opened[0]) {
                            return; // a late answer on a stream we gave up on
                        }
                        f = pending;
                        pending = null;
                    }
                    if (f != null) {
                        f.complete(response);
                    }
                }

                @Override
                public void onError(Throwable t) {
                    ended(t);
                }

                @Override
                public void onCompleted() {
                    ended(Status.UNAVAILABLE.withDescription("broker " + brokerId + " ended the fetch session").asRuntimeException());
                }

                private void ended(Throwable t) {
                    CompletableFuture<ReplicaFetchResponse> f;
                    synchronized (lock) {
                        if (session != opened[0]) {
                            return;
                        }
                        session = null;
                        f = pending;
                        pending = null;
                    }
                    if (f != null) {
                        f.completeExceptionally(t);
                    }
                }
            });
        }

        @SuppressWarnings("unchecked")
        private static ClientCallStreamObserver<ReplicaFetchRequest>[] newObserverArray() {
            return (ClientCallStreamObserver<ReplicaFetchRequest>[]) new ClientCallStreamObserver<?>[1];
        }

        private void resetSession(String why) {
            ClientCallStreamObserver<ReplicaFetchRequest> s;
            CompletableFuture<ReplicaFetchResponse> waiting;
            synchronized (lock) {
                s = session;
                waiting = pending;
                session = null;
                pending = null;
            }
            if (s != null) {
                s.cancel(why, null);
            }
            if (waiting != null) {
                // The fetcher waiting for this answer learns at once (a closing fetcher must not wait out its timeout).
                waiting.completeExceptionally(Status.CANCELLED.withDescription(why).asRuntimeException());
            }
        }

        /** The fetcher gave {@code answer} up: when it is still the one waited for, its stream ends and it fails as abandoned. */
        private void abandonIfPending(CompletableFuture<ReplicaFetchResponse> answer) {
            ClientCallStreamObserver<ReplicaFetchRequest> s;
            synchronized (lock) {
                if (pending != answer) {
                    return; // answered (or failed) already
                }
                s = session;
                session = null;
                pending = null;
            }
            if (s != null) {
                s.cancel("fetch abandoned: the follower asks for more partitions", null);
            }
            answer.completeExceptionally(new Abandoned());
        }

        /** Fails a fetch its caller abandoned. */
        private static final class Abandoned extends Exception {
            private static final long serialVersionUID = 1L;

            Abandoned() {
                super("abandoned by the fetcher", null, false, false);
            }
        }

        private ReplicaFetchResponse unaryFetch(ReplicaFetchRequest request, long timeoutMs) throws ReplicaClientException {
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
                if (e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
                    channel.enterIdle(); // as for a fetch without an answer: the connection may be black-holed
                }
                throw new ReplicaClientException("OffsetForLeaderEpoch to broker " + brokerId + ": " + e.getStatus(), e);
            }
        }

        @Override
        public void close() {
            resetSession("closed");
            channel.shutdownNow();
        }
    }
}

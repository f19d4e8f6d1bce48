package dev.basalt.broker.rpc;

import dev.basalt.broker.gateway.RecordGateway;
import dev.basalt.proto.v1.FetchRecordsRequest;
import dev.basalt.proto.v1.FetchRecordsResponse;
import dev.basalt.proto.v1.ProduceRecordsRequest;
import dev.basalt.proto.v1.ProduceRecordsResponse;
import dev.basalt.proto.v1.RecordServiceGrpc;
import io.grpc.BindableService;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC binding of records.proto's RecordService over the {@link RecordGateway}: decode, call,
 * encode. SubscribeRecords writes one message at a time and asks the gateway for the next only
 * when the stream is ready again (gRPC flow control), so a slow reader holds one message, not a
 * backlog.
 *
 * <p>Thread-safety: thread-safe; a subscription's writes are serialized by its own lock.
 */
public final class RecordRpc {
    private static final Logger log = LoggerFactory.getLogger(RecordRpc.class);

    private RecordRpc() {
    }

    public static BindableService service(RecordGateway gateway) {
        return new RecordServiceGrpc.RecordServiceImplBase() {
            @Override
            public void produceRecords(ProduceRecordsRequest request, StreamObserver<ProduceRecordsResponse> obs) {
                try {
                    gateway.produce(request, r -> {
                        obs.onNext(r);
                        obs.onCompleted();
                    });
                } catch (RuntimeException e) {
                    log.error("ProduceRecords failed unexpectedly", e);
                    obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }

            @Override
            public void fetchRecords(FetchRecordsRequest request, StreamObserver<FetchRecordsResponse> obs) {
                try {
                    gateway.fetch(request, r -> {
                        obs.onNext(r);
                        obs.onCompleted();
                    });
                } catch (RuntimeException e) {
                    log.error("FetchRecords failed unexpectedly", e);
                    obs.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }

            @Override
            public void subscribeRecords(FetchRecordsRequest request, StreamObserver<FetchRecordsResponse> obs) {
                Stream s = new Stream((ServerCallStreamObserver<FetchRecordsResponse>) obs);
                try {
                    gateway.subscribe(request, s);
                } catch (RuntimeException e) {
                    log.error("SubscribeRecords failed unexpectedly", e);
                    s.fail(Status.INTERNAL.withDescription(e.toString()));
                }
            }
        };
    }

    /** One subscriber's stream: at most one message waiting for the transport. */
    private static final class Stream implements RecordGateway.Subscription {
        private final ServerCallStreamObserver<FetchRecordsResponse> out;
        private Runnable whenReady; // guarded by this
        private boolean done; // guarded by this

        Stream(ServerCallStreamObserver<FetchRecordsResponse> out) {
            this.out = out;
            out.setOnCancelHandler(() -> {
                synchronized (this) {
                    done = true;
                    whenReady = null;
                }
            });
            out.setOnReadyHandler(this::ready);
        }

        private void ready() {
            Runnable r;
            synchronized (this) {
                if (done || !out.isReady()) {
                    return;
                }
                r = whenReady;
                whenReady = null;
            }
            if (r != null) {
                r.run();
            }
        }

        @Override
        public synchronized boolean cancelled() {
            return done;
        }

        @Override
        public void send(FetchRecordsResponse message, Runnable then) {
            synchronized (this) {
                if (done) {
                    return;
                }
                out.onNext(message);
                if (!out.isReady()) {
                    whenReady = then; // the onReady handler continues the subscription
                    return;
                }
            }
            then.run();
        }

        @Override
        public synchronized void end(FetchRecordsResponse last) {
            if (!done) {
                done = true;
                out.onNext(last);
                out.onCompleted();
            }
        }

        synchronized void fail(Status status) {
            if (!done) {
                done = true;
                out.onError(status.asRuntimeException());
            }
        }
    }
}

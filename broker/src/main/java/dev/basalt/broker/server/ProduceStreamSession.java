package dev.basalt.broker.server;

import dev.basalt.proto.v1.ProduceRequest;
import dev.basalt.proto.v1.ProduceResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's {@code ProduceStream}: each request goes to the same {@link ProduceHandler} as a
 * unary Produce, in the order it arrived (the handler appends before it returns, so the stream's
 * order is the append order); each answer goes back tagged with its request's correlation id
 * whenever it is ready (acks=-1 answers wait for the HW, so answers may overtake one another).
 *
 * <p>At most {@link #UNANSWERED_REQUESTS_MAX} requests are read ahead of their answers: the
 * session asks gRPC for one more request per answer sent (once the answers can be written, so a
 * client that does not read its answers is not read either), and HTTP/2 flow control holds back
 * a client that sends more. Requests are appended one at a time: a partition's append is a write
 * into its mapped segment (fsyncs happen on the flusher thread), so one request does not hold the
 * next for long. A client that half-closes gets the stream completed once every request
 * it sent is answered; a cancelled stream drops the answers still to come (the client treats
 * those requests as indeterminate).
 *
 * <p>Thread-safety: gRPC delivers {@link #onNext} and the other callbacks serially; answers come
 * from any thread (request threads, the purgatory's timer, network threads completing a HW move),
 * so every use of the outbound observer is under its lock.
 */
final class ProduceStreamSession implements StreamObserver<ProduceRequest> {
    private static final Logger log = LoggerFactory.getLogger(ProduceStreamSession.class);
    /** Requests read from the stream and not yet answered, at most. */
    static final int UNANSWERED_REQUESTS_MAX = 32;

    private final ProduceHandler produce;
    private final ServerCallStreamObserver<ProduceResponse> out;
    // guarded by out
    private int unanswered;
    /** Requests owed to the client (one per answer sent) while the outbound buffer was full. */
    private int requestsOwed;
    private boolean halfClosed;
    private boolean closed;

    /** Call from the call handler, before it returns (flow control is switched to manual there). */
    ProduceStreamSession(ProduceHandler produce, ServerCallStreamObserver<ProduceResponse> out) {
        this.produce = produce;
        this.out = out;
        out.disableAutoRequest();
        out.setOnCancelHandler(() -> {
            synchronized (out) {
                closed = true;
            }
        });
        // Closed under us too: StrictRequestParsing closes the call on a malformed or oversized
        // message without telling this observer, while earlier requests may still be waiting.
        out.setOnCloseHandler(() -> {
            synchronized (out) {
                closed = true;
            }
        });
        out.setOnReadyHandler(() -> {
            synchronized (out) {
                if (!closed && requestsOwed > 0 && out.isReady()) {
                    out.request(requestsOwed);
                    requestsOwed = 0;
                }
            }
        });
        out.request(UNANSWERED_REQUESTS_MAX);
    }

    @Override
    public void onNext(ProduceRequest req) {
        long correlationId = req.getCorrelationId();
        dev.basalt.broker.metrics.RpcMetrics.correlate(correlationId);
        synchronized (out) {
            if (closed) {
                return; // read ahead before the stream closed: nobody would get its answer, so do not append it
            }
            unanswered++;
        }
        try {
            produce.handle(req, response -> answer(response.toBuilder().setCorrelationId(correlationId).build()));
        } catch (RuntimeException e) {
            log.error("Produce on a stream failed unexpectedly; closing the stream", e);
            synchronized (out) {
                if (!closed) {
                    closed = true;
                    out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }
        }
    }

    private void answer(ProduceResponse response) {
        synchronized (out) {
            unanswered--;
            if (closed) {
                return;
            }
            try {
                out.onNext(response);
                if (halfClosed) {
                    if (unanswered == 0) {
                        closed = true;
                        out.onCompleted();
                    }
                } else if (out.isReady()) {
                    out.request(1);
                } else {
                    requestsOwed++; // a client not reading its answers gets no more requests read
                }
            } catch (RuntimeException e) {
                // The call closed between our check and the write (the answering thread, a
                // purgatory's, must not be the one to fail).
                closed = true;
                log.debug("produce stream closed while answering", e);
            }
        }
    }

    @Override
    public void onError(Throwable t) {
        synchronized (out) {
            closed = true; // the client cancelled: nobody reads the answers still to come
        }
    }

    @Override
    public void onCompleted() {
        synchronized (out) {
            halfClosed = true;
            if (!closed && unanswered == 0) {
                closed = true;
                out.onCompleted();
            }
        }
    }
}

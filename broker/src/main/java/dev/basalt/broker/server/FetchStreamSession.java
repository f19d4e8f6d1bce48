package dev.basalt.broker.server;

import dev.basalt.broker.grpc.FetchReply;
import dev.basalt.log.FetchSlice;
import dev.basalt.proto.v1.FetchRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer's {@code FetchStream}: each request is one fetch, served by the same
 * {@link FetchHandler} as FetchInParts (long-poll included) and answered as the same parts, each
 * tagged with the request's correlation id, the last one marked. One fetch per stream at a time:
 * the next request is read only once the previous answer's last part is written.
 *
 * <p>The answer's slices of the segment mappings are released as soon as its parts are written:
 * gRPC serializes a message into its transport buffers inside {@code onNext} (the reply is
 * drained synchronously), so nothing reads the mapping after that.
 *
 * <p>Thread-safety: gRPC delivers the inbound callbacks serially; an answer comes from a request
 * thread or from whichever thread completes the parked fetch, so every use of the outbound
 * observer is under its lock.
 */
final class FetchStreamSession implements StreamObserver<FetchRequest> {
    private static final Logger log = LoggerFactory.getLogger(FetchStreamSession.class);

    private final FetchHandler fetch;
    private final int partBytesMin;
    private final ServerCallStreamObserver<FetchReply> out;
    // guarded by out
    private boolean waiting;
    /** The next request is owed to the client: held back while its answers cannot be written. */
    private boolean requestOwed;
    private boolean halfClosed;
    private boolean closed;

    /** Call from the call handler, before it returns (flow control is switched to manual there). */
    FetchStreamSession(FetchHandler fetch, int partBytesMin, ServerCallStreamObserver<FetchReply> out) {
        this.fetch = fetch;
        this.partBytesMin = partBytesMin;
        this.out = out;
        out.disableAutoRequest();
        Runnable close = () -> {
            synchronized (out) {
                closed = true;
            }
        };
        out.setOnCancelHandler(close);
        out.setOnCloseHandler(close); // also when StrictRequestParsing closes the call on a malformed message
        out.setOnReadyHandler(() -> {
            synchronized (out) {
                if (!closed && requestOwed && out.isReady()) {
                    requestOwed = false;
                    out.request(1);
                }
            }
        });
        out.request(1);
    }

    @Override
    public void onNext(FetchRequest req) {
        synchronized (out) {
            if (closed) {
                return;
            }
            waiting = true;
        }
        long correlationId = req.getCorrelationId();
        dev.basalt.broker.metrics.RpcMetrics.correlate(correlationId);
        try {
            fetch.handle(req, (reply, slices) -> answer(correlationId, reply, slices));
        } catch (RuntimeException e) {
            log.error("Fetch on a stream failed unexpectedly; closing the stream", e);
            synchronized (out) {
                if (!closed) {
                    closed = true;
                    out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
                }
            }
        }
    }

    private void answer(long correlationId, FetchReply reply, List<FetchSlice> slices) {
        try {
            synchronized (out) {
                waiting = false;
                if (closed) {
                    return;
                }
                List<FetchReply> parts = reply.parts(partBytesMin);
                for (int i = 0; i < parts.size(); i++) {
                    out.onNext(parts.get(i).tagged(correlationId, i == parts.size() - 1));
                }
                if (halfClosed) {
                    closed = true;
                    out.onCompleted();
                } else if (out.isReady()) {
                    out.request(1);
                } else {
                    requestOwed = true; // a client that does not read its answers gets no more fetches served
                }
            }
        } catch (RuntimeException e) {
            // Closed between our check and the write, or the answer could not be cut into parts:
            // end the call if it is still open (the client then retries), never fail the answering thread.
            synchronized (out) {
                if (!closed) {
                    closed = true;
                    try {
                        out.onError(Status.INTERNAL.withDescription("fetch answer failed: " + e).asRuntimeException());
                    } catch (RuntimeException alreadyClosed) {
                        log.debug("fetch stream already closed", alreadyClosed);
                    }
                }
            }
            log.debug("fetch stream answer failed", e);
        } finally {
            slices.forEach(FetchSlice::close);
        }
    }

    @Override
    public void onError(Throwable t) {
        synchronized (out) {
            closed = true;
        }
    }

    @Override
    public void onCompleted() {
        synchronized (out) {
            halfClosed = true;
            if (!closed && !waiting) {
                closed = true;
                out.onCompleted();
            }
        }
    }
}

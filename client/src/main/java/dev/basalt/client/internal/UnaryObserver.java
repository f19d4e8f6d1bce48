package dev.basalt.client.internal;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The observer of a unary call that reports exactly one outcome: the answer or a failure.
 *
 * <p>gRPC hands a unary answer to {@code onNext} as soon as it arrives and closes the call
 * afterwards. When the call then fails before its trailers (the connection drops, the deadline
 * fires), {@code onError} follows the answer. The answer arrived whole and is what the broker
 * did; the late error says nothing more about it and is ignored. Handling both would, for a
 * produce, complete a batch and then retry or fail it as well (and free its memory twice). A call
 * that closes without an answer and without an error is reported as a failure, so that nothing
 * waits for it forever.
 *
 * <p>Thread-safety: gRPC calls it from its own threads; one outcome wins.
 */
public abstract class UnaryObserver<T> implements StreamObserver<T> {
    private final AtomicBoolean decided = new AtomicBoolean();

    /** The broker's answer. */
    protected abstract void onAnswer(T answer);

    /** The call failed before an answer arrived. */
    protected abstract void onFailure(Throwable t);

    @Override
    public final void onNext(T value) {
        if (decided.compareAndSet(false, true)) {
            onAnswer(value);
        }
    }

    @Override
    public final void onError(Throwable t) {
        if (decided.compareAndSet(false, true)) {
            onFailure(t);
        }
    }

    @Override
    public final void onCompleted() {
        if (decided.compareAndSet(false, true)) {
            onFailure(Status.INTERNAL.withDescription("the call ended without an answer").asRuntimeException());
        }
    }
}

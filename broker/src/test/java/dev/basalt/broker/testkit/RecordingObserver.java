package dev.basalt.broker.testkit;

import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A client-side observer of a streaming call for tests: keeps every message in arrival order and
 * how the call ended (null for a normal completion, the error otherwise).
 *
 * <p>Thread-safety: gRPC calls it from its threads; the queue and the future are thread-safe.
 */
public final class RecordingObserver<T> implements StreamObserver<T> {
    public final LinkedBlockingQueue<T> messages = new LinkedBlockingQueue<>();
    public final CompletableFuture<Throwable> ended = new CompletableFuture<>();

    @Override
    public void onNext(T value) {
        messages.add(value);
    }

    @Override
    public void onError(Throwable t) {
        ended.complete(t);
    }

    @Override
    public void onCompleted() {
        ended.complete(null);
    }
}

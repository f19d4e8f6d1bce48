package dev.basalt.broker.producer;

import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.InitProducerIdRequest;
import dev.basalt.proto.v1.InitProducerIdResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Serves InitProducerId (produce.proto): a fresh producer id with epoch 0, or, for a producer that
 * names its current id and epoch, the same id with the next epoch (KIP-360's bump after a batch of
 * unknown outcome; it lets the producer restart its sequences at 0 without a gap being refused).
 * An epoch that would pass {@link #EPOCH_MAX} gets a fresh id instead.
 *
 * <p>No state of its own: an idempotent producer's epoch lives in the batches it writes (each
 * partition's producer state refuses older epochs), so a bump needs no coordinator.
 *
 * <p>Thread-safety: thread-safe; answers complete from futures, never blocking a gRPC thread.
 */
public final class InitProducerIdHandler {
    /** Largest epoch handed out; the next bump takes a new producer id (Kafka keeps Short.MAX_VALUE unused too). */
    public static final short EPOCH_MAX = Short.MAX_VALUE - 1;
    /** Bound on how long a request waits for a block of ids. */
    static final int TIMEOUT_MS_MAX = 60_000;

    private final ProducerIdManager ids;
    private final BooleanSupplier serving;
    private final ScheduledExecutorService timer;
    private final java.util.function.LongSupplier allocatedEnd;

    /**
     * @param serving whether this broker is registered and unfenced (only then does the controller
     *                hand it blocks)
     * @param timer   runs request deadlines
     */
    public InitProducerIdHandler(ProducerIdManager ids, BooleanSupplier serving, ScheduledExecutorService timer) {
        this(ids, serving, timer, () -> Long.MAX_VALUE);
    }

    /**
     * @param allocatedEnd one past the highest producer id the cluster has handed out (the
     *                     metadata image's): an epoch bump of an id at or above it is refused
     */
    public InitProducerIdHandler(ProducerIdManager ids, BooleanSupplier serving, ScheduledExecutorService timer,
                                 java.util.function.LongSupplier allocatedEnd) {
        this.allocatedEnd = allocatedEnd;
        this.ids = ids;
        this.serving = serving;
        this.timer = timer;
    }

    /** Handles one request; {@code respond} is called exactly once. */
    public void handle(InitProducerIdRequest req, Consumer<InitProducerIdResponse> respond) {
        long pid = req.getProducerId();
        int epoch = req.getProducerEpoch();
        if ((pid < 0) != (epoch < 0) || req.getTimeoutMs() <= 0) {
            respond.accept(error(ErrorCode.INVALID_REQUEST, "producer_id and producer_epoch must both be >= 0 (an epoch bump)"
                    + " or both -1 (a new id), and timeout_ms > 0; got " + pid + ", " + epoch + ", " + req.getTimeoutMs()));
            return;
        }
        if (pid >= 0 && pid >= allocatedEnd.getAsLong()) {
            // found probing: any id was bumped, so a client could take (and fence) ids the cluster
            // never handed out; a block allocated a moment ago and not yet in this broker's image
            // is refused too, and the client's retry after its back-off then succeeds
            respond.accept(error(ErrorCode.INVALID_REQUEST, "producer id " + pid + " was never handed out by this cluster"
                    + " (ids so far end at " + allocatedEnd.getAsLong() + "); ask for a new one with producer_id -1"));
            return;
        }
        if (pid >= 0 && epoch < EPOCH_MAX) {
            respond.accept(InitProducerIdResponse.newBuilder().setProducerId(pid).setProducerEpoch(epoch + 1).build());
            return;
        }
        if (!serving.getAsBoolean()) {
            respond.accept(error(ErrorCode.BROKER_NOT_AVAILABLE, "the broker is not registered and unfenced yet"));
            return;
        }
        CompletableFuture<Long> next = ids.nextProducerId();
        long timeoutMs = Math.min(req.getTimeoutMs(), TIMEOUT_MS_MAX);
        var deadline = timer.schedule(() -> next.completeExceptionally(new java.util.concurrent.TimeoutException()),
                timeoutMs, TimeUnit.MILLISECONDS);
        next.whenComplete((id, e) -> {
            deadline.cancel(false);
            if (e == null) {
                respond.accept(InitProducerIdResponse.newBuilder().setProducerId(id).setProducerEpoch(0).build());
                return;
            }
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof java.util.concurrent.TimeoutException) {
                respond.accept(error(ErrorCode.REQUEST_TIMED_OUT, "no producer id within " + timeoutMs + " ms"));
            } else {
                respond.accept(error(ErrorCode.BROKER_NOT_AVAILABLE, cause.getMessage()));
            }
        });
    }

    private static InitProducerIdResponse error(ErrorCode code, String message) {
        return InitProducerIdResponse.newBuilder().setErrorCode(code).setErrorMessage(message == null ? "" : message)
                .setProducerId(-1).setProducerEpoch(-1).build();
    }
}

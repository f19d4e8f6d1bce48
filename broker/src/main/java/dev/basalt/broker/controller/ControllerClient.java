package dev.basalt.broker.controller;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.ControllerServiceGrpc;
import dev.basalt.proto.v1.ErrorCode;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;

/**
 * A broker's connection to the metadata quorum's controllers (their CONTROLLER listeners, from
 * {@code controller.quorum.voters}): sends a request to the controller it believes active and, on
 * NOT_CONTROLLER or a transport failure, to the hinted controller or the next voter, with a
 * back-off, until the request's deadline. Never blocks the caller: every call returns a future.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class ControllerClient implements AutoCloseable {
    /** Back-off between attempts at different controllers. */
    static final long RETRY_BACKOFF_MS = 50;

    private final Map<Integer, ManagedChannel> channels = new TreeMap<>();
    private final List<Integer> voterIds;
    private final ScheduledExecutorService scheduler;
    private volatile int activeHint = -1;
    private volatile boolean closed;

    public ControllerClient(Map<Integer, NodeConfig.HostPort> voters, ScheduledExecutorService scheduler, int messageBytesMax) {
        this.scheduler = scheduler;
        voters.forEach((id, hp) -> channels.put(id, NettyChannelBuilder.forAddress(hp.host(), hp.port()).usePlaintext()
                .maxInboundMessageSize(messageBytesMax).build()));
        this.voterIds = List.copyOf(channels.keySet());
    }

    /** The controller the last answer named active, or -1. */
    public int activeHint() {
        return activeHint;
    }

    public void hint(int controllerId) {
        if (controllerId >= 0 && channels.containsKey(controllerId)) {
            activeHint = controllerId;
        }
    }

    /**
     * Calls {@code call} on the Controller service of the active controller until an answer other
     * than NOT_CONTROLLER arrives or {@code timeoutMs} passes. The future fails only with the last
     * transport error when no controller answered at all.
     */
    public <R> CompletableFuture<R> call(BiFunction<ControllerServiceGrpc.ControllerServiceFutureStub, Long, ListenableFuture<R>> call,
                                         Function<R, ErrorCode> errorOf, ToIntFunction<R> controllerOf, long timeoutMs) {
        CompletableFuture<R> out = new CompletableFuture<>();
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        attempt(out, ch -> call.apply(ControllerServiceGrpc.newFutureStub(ch), remainingMs(deadlineNs)), errorOf, controllerOf,
                deadlineNs, 0, null);
        return out;
    }

    /** The same for the AdminService the controllers serve (admin changes forwarded by a broker). */
    public <R> CompletableFuture<R> callAdmin(BiFunction<AdminServiceGrpc.AdminServiceFutureStub, Long, ListenableFuture<R>> call,
                                              Function<R, ErrorCode> errorOf, long timeoutMs) {
        CompletableFuture<R> out = new CompletableFuture<>();
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        attempt(out, ch -> call.apply(AdminServiceGrpc.newFutureStub(ch), remainingMs(deadlineNs)), errorOf, r -> -1,
                deadlineNs, 0, null);
        return out;
    }

    private static long remainingMs(long deadlineNs) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime()));
    }

    private <R> void attempt(CompletableFuture<R> out, Function<ManagedChannel, ListenableFuture<R>> send,
                             Function<R, ErrorCode> errorOf, ToIntFunction<R> controllerOf, long deadlineNs, int tries,
                             R lastAnswer) {
        if (closed) {
            out.completeExceptionally(Status.UNAVAILABLE.withDescription("controller client closed").asRuntimeException());
            return;
        }
        if (System.nanoTime() >= deadlineNs) {
            if (lastAnswer != null) {
                out.complete(lastAnswer);
            } else {
                out.completeExceptionally(Status.DEADLINE_EXCEEDED.withDescription("no active controller answered").asRuntimeException());
            }
            return;
        }
        int target = activeHint >= 0 ? activeHint : voterIds.get(tries % voterIds.size());
        ListenableFuture<R> f;
        try {
            f = send.apply(channels.get(target));
        } catch (RuntimeException e) {
            out.completeExceptionally(e);
            return;
        }
        Executor direct = MoreExecutors.directExecutor();
        Futures.addCallback(f, new FutureCallback<>() {
            @Override
            public void onSuccess(R answer) {
                if (errorOf.apply(answer) != ErrorCode.NOT_CONTROLLER) {
                    if (errorOf.apply(answer) == ErrorCode.NONE) {
                        activeHint = target;
                    }
                    out.complete(answer);
                    return;
                }
                int named = controllerOf.applyAsInt(answer);
                activeHint = named >= 0 && named != target && channels.containsKey(named) ? named : -1;
                retry(answer, activeHint >= 0);
            }

            @Override
            public void onFailure(Throwable t) {
                Status.Code code = t instanceof StatusRuntimeException s ? s.getStatus().getCode() : Status.Code.UNKNOWN;
                if (code != Status.Code.UNAVAILABLE && code != Status.Code.DEADLINE_EXCEEDED && code != Status.Code.UNIMPLEMENTED) {
                    out.completeExceptionally(t);
                    return;
                }
                if (activeHint == target) {
                    activeHint = -1;
                }
                retry(lastAnswer, false);
            }

            private void retry(R answer, boolean immediately) {
                long delay = immediately ? 0 : RETRY_BACKOFF_MS;
                try {
                    scheduler.schedule(() -> attempt(out, send, errorOf, controllerOf, deadlineNs, tries + 1, answer), delay,
                            TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    out.completeExceptionally(Status.UNAVAILABLE.withDescription("shutting down").asRuntimeException());
                }
            }
        }, direct);
    }

    /**
     * Opens a BrokerSession stream to the controller believed active (or the next voter); returns
     * a handle that cancels it. {@code events} sees the answer and the end of the stream.
     */
    public Runnable openSession(dev.basalt.proto.v1.BrokerSessionRequest request, int attempt,
                                io.grpc.stub.StreamObserver<dev.basalt.proto.v1.BrokerSessionEvent> events) {
        int target = activeHint >= 0 ? activeHint : voterIds.get(Math.floorMod(attempt, voterIds.size()));
        io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
        ctx.run(() -> ControllerServiceGrpc.newStub(channels.get(target)).brokerSession(request, events));
        return () -> ctx.cancel(null);
    }

    @Override
    public void close() {
        closed = true;
        List<ManagedChannel> all = new ArrayList<>(channels.values());
        all.forEach(ManagedChannel::shutdownNow);
    }
}

package dev.basalt.broker.controller;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.proto.v1.AdminServiceGrpc;
import dev.basalt.proto.v1.ControllerServiceGrpc;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.grpc.NotSent;
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
 * <p>Which controller is "believed active", in this order: the Raft leader this node's own voter
 * knows of (combined mode: it learns of a new leader as soon as the leader's first append reaches
 * it), the controller the last answer named, then the voters in turn. The turn is shared by all
 * calls, so a controller that stopped answering without closing its connections (a paused
 * process) is not asked first again and again. Idempotent calls (heartbeats, registration) cap
 * each attempt ({@code attemptTimeoutMs}) so that such a controller costs one attempt, not the
 * whole deadline.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class ControllerClient implements AutoCloseable {
    /** Back-off between attempts at different controllers. */
    static final long RETRY_BACKOFF_MS = 50;

    private final Map<Integer, dev.basalt.broker.rpc.ReconnectingChannel> channels = new TreeMap<>();
    private final List<Integer> voterIds;
    private final ScheduledExecutorService scheduler;
    private volatile int activeHint = -1;
    /** The Raft leader this node's own voter knows of (-1 = none known, or not a voter). */
    private volatile java.util.function.IntSupplier localLeader = () -> -1;
    /** Which voter to try next when no controller is known: shared by all calls. */
    private final java.util.concurrent.atomic.AtomicInteger rotation = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;

    public ControllerClient(Map<Integer, NodeConfig.HostPort> voters, ScheduledExecutorService scheduler, int messageBytesMax) {
        this.scheduler = scheduler;
        voters.forEach((id, hp) -> channels.put(id, new dev.basalt.broker.rpc.ReconnectingChannel(
                NettyChannelBuilder.forAddress(hp.host(), hp.port()).usePlaintext().maxInboundMessageSize(messageBytesMax).build())));
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

    /** On a voter node: where the node's own Raft state tells who leads the quorum (-1 = unknown). */
    public void localLeader(java.util.function.IntSupplier leader) {
        this.localLeader = leader;
    }

    /** The controller a request would go to first now, or -1 when none is known (the voters in turn). */
    public int preferredTarget() {
        return pickKnown(-1);
    }

    private int pickKnown(int avoid) {
        int local = localLeader.getAsInt();
        if (local >= 0 && local != avoid && channels.containsKey(local)) {
            return local;
        }
        int hint = activeHint;
        return hint >= 0 && hint != avoid ? hint : -1;
    }

    /** The known controller unless it is {@code avoid} (it just failed or disowned the role), else the next voter in turn. */
    private int pickTarget(int avoid) {
        int known = pickKnown(avoid);
        if (known >= 0) {
            return known;
        }
        int next = voterIds.get(Math.floorMod(rotation.getAndIncrement(), voterIds.size()));
        if (next == avoid && voterIds.size() > 1) {
            next = voterIds.get(Math.floorMod(rotation.getAndIncrement(), voterIds.size()));
        }
        return next;
    }

    /**
     * Calls {@code call} on the Controller service of the active controller until an answer other
     * than NOT_CONTROLLER arrives or {@code timeoutMs} passes. The future fails only with the last
     * transport error when no controller answered at all.
     */
    public <R> CompletableFuture<R> call(BiFunction<ControllerServiceGrpc.ControllerServiceFutureStub, Long, ListenableFuture<R>> call,
                                         Function<R, ErrorCode> errorOf, ToIntFunction<R> controllerOf, long timeoutMs) {
        return call(call, errorOf, controllerOf, timeoutMs, timeoutMs);
    }

    /**
     * The same, each attempt given at most {@code attemptTimeoutMs} (for requests the controller may
     * safely see twice): a controller that does not answer in time is left for the next one.
     */
    public <R> CompletableFuture<R> call(BiFunction<ControllerServiceGrpc.ControllerServiceFutureStub, Long, ListenableFuture<R>> call,
                                         Function<R, ErrorCode> errorOf, ToIntFunction<R> controllerOf, long timeoutMs,
                                         long attemptTimeoutMs) {
        CompletableFuture<R> out = new CompletableFuture<>();
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        attempt(out, ch -> call.apply(ControllerServiceGrpc.newFutureStub(ch), Math.min(attemptTimeoutMs, remainingMs(deadlineNs))),
                errorOf, controllerOf, deadlineNs, -1, null, true);
        return out;
    }

    /**
     * The same for the AdminService the controllers serve (admin changes forwarded by a broker).
     * An admin change is not idempotent (a create sent twice meets its own topic), so it is sent
     * to another controller only after a definite answer: NOT_CONTROLLER, a connection that was
     * never made, or {@link NotSent#NOT_PROCESSED}. A call that may have reached a controller and got no
     * answer (connection lost mid-request, deadline passed) fails with that transport error, which
     * the client reads as "outcome unknown", never with an earlier NOT_CONTROLLER. A call that
     * reached no controller at all fails with {@link NotSent#notProcessed}.
     */
    public <R> CompletableFuture<R> callAdmin(BiFunction<AdminServiceGrpc.AdminServiceFutureStub, Long, ListenableFuture<R>> call,
                                              Function<R, ErrorCode> errorOf, long timeoutMs) {
        return callAdmin(call, errorOf, r -> -1, timeoutMs);
    }

    /**
     * As {@link #callAdmin(BiFunction, Function, long)}; a NOT_CONTROLLER answer naming the active
     * controller ({@code controllerOf}, -1 when it names none) is retried there at once.
     */
    public <R> CompletableFuture<R> callAdmin(BiFunction<AdminServiceGrpc.AdminServiceFutureStub, Long, ListenableFuture<R>> call,
                                              Function<R, ErrorCode> errorOf, ToIntFunction<R> controllerOf, long timeoutMs) {
        CompletableFuture<R> out = new CompletableFuture<>();
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        attempt(out, ch -> call.apply(AdminServiceGrpc.newFutureStub(ch), remainingMs(deadlineNs)), errorOf, controllerOf,
                deadlineNs, -1, null, false);
        return out;
    }

    private static long remainingMs(long deadlineNs) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime()));
    }

    private <R> void attempt(CompletableFuture<R> out, Function<ManagedChannel, ListenableFuture<R>> send,
                             Function<R, ErrorCode> errorOf, ToIntFunction<R> controllerOf, long deadlineNs, int avoid,
                             R lastAnswer, boolean repeatable) {
        if (closed) {
            out.completeExceptionally(NotSent.notProcessed("controller client closed"));
            return;
        }
        if (System.nanoTime() >= deadlineNs) {
            if (lastAnswer != null) {
                out.complete(lastAnswer);
            } else if (!repeatable) {
                // every attempt failed definitely (a non-repeatable call stops at any other failure)
                out.completeExceptionally(NotSent.notProcessed("no active controller could be reached"));
            } else {
                out.completeExceptionally(Status.DEADLINE_EXCEEDED.withDescription("no active controller answered").asRuntimeException());
            }
            return;
        }
        int target = pickTarget(avoid);
        ListenableFuture<R> f;
        try {
            f = send.apply(channels.get(target).channel());
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
                retry(answer, activeHint >= 0, target);
            }

            @Override
            public void onFailure(Throwable t) {
                Status.Code code = t instanceof StatusRuntimeException s ? s.getStatus().getCode() : Status.Code.UNKNOWN;
                boolean retriable = repeatable
                        ? code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED || code == Status.Code.UNIMPLEMENTED
                        : code == Status.Code.UNAVAILABLE && (NotSent.neverConnected(t) || NotSent.isNotProcessed(t)) || code == Status.Code.UNIMPLEMENTED;
                if (!retriable) {
                    out.completeExceptionally(t);
                    return;
                }
                if (activeHint == target) {
                    activeHint = -1;
                }
                retry(lastAnswer, false, target);
            }

            private void retry(R answer, boolean immediately, int failed) {
                long delay = immediately ? 0 : RETRY_BACKOFF_MS;
                try {
                    scheduler.schedule(() -> attempt(out, send, errorOf, controllerOf, deadlineNs, failed, answer, repeatable), delay,
                            TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    out.completeExceptionally(NotSent.notProcessed("shutting down"));
                }
            }
        }, direct);
    }

    /** An open BrokerSession stream: the controller it went to, and how to cancel it. */
    public record OpenSession(int controllerId, Runnable cancel) { }

    /**
     * Opens a BrokerSession stream to the controller believed active (or the next voter); returns
     * its target and a handle that cancels it. {@code events} sees the answer and the end of the stream.
     */
    public OpenSession openSession(dev.basalt.proto.v1.BrokerSessionRequest request,
                                   io.grpc.stub.StreamObserver<dev.basalt.proto.v1.BrokerSessionEvent> events) {
        int target = pickTarget(-1);
        io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
        ctx.run(() -> ControllerServiceGrpc.newStub(channels.get(target).channel()).brokerSession(request, events));
        return new OpenSession(target, () -> ctx.cancel(null));
    }

    @Override
    public void close() {
        closed = true;
        List<ManagedChannel> all = new ArrayList<>();
        channels.values().forEach(c -> all.add(c.raw()));
        all.forEach(ManagedChannel::shutdownNow);
    }
}

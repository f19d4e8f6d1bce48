package dev.basalt.client.internal;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.basalt.client.BasaltException;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.UnknownServerException;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A read that any of several brokers can answer, asked of them in turn: the next address is asked
 * as soon as one fails in a way another broker may not (cannot be reached, timed out, "not me"),
 * and also, without giving up on it, when one has gone unanswered for the hedge delay. A broker
 * that accepts a request and never answers (paused with SIGSTOP, overloaded, cut off with its
 * connection open) would otherwise hold the caller for the whole request timeout before the next
 * address is tried. The first acceptable answer wins and the requests still pending are
 * cancelled. Only for requests that are safe to send twice (reads, and FindCoordinator, whose one
 * side effect, creating the offsets topic, is idempotent); never for a mutation.
 *
 * <p>{@link #askAsync} is the mechanism (the metadata refresh, which runs on gRPC threads, uses it
 * as is); {@link #ask} blocks on it. The requests are asynchronous gRPC calls, each with its own
 * deadline, one per entry of the list (callers pass lists without repeated addresses).
 */
public final class HedgedRead {
    private HedgedRead() {
    }

    /** The answer and the index (in the list given) of the address that gave it. */
    public record Answer<R>(int index, R value) {
    }

    /**
     * Asks {@code addresses} from {@code start} (wrapping around), each at most once, blocking
     * until an answer or the end.
     *
     * @param send         sends the request to an address (its own deadline set)
     * @param refusal      for an answer that another broker may answer better ("not the
     *                     coordinator", "not ready"), the error to remember while the next is
     *                     asked; null for an answer to return
     * @param classify     a failed call as the client's typed exception
     * @param tryNext      whether such a failure lets another address be asked; one that does
     *                     not (a definite answer about the request itself) is thrown at once
     * @throws BasaltException once every address failed, the last refusal (a broker's answer), or
     *                         else the last failed call; at once, a failure that {@code tryNext} refuses
     */
    public static <R> Answer<R> ask(List<HostPort> addresses, int start, long hedgeAfterMs,
                                    Function<HostPort, ListenableFuture<R>> send, Function<R, BasaltException> refusal,
                                    BiFunction<HostPort, StatusRuntimeException, BasaltException> classify,
                                    Predicate<BasaltException> tryNext) {
        CompletableFuture<Answer<R>> f = askAsync(addresses, start, hedgeAfterMs, send, (address, answer) -> refusal.apply(answer),
                classify, tryNext);
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true); // cancels the requests still pending
            Thread.currentThread().interrupt();
            throw new DefiniteException("interrupted", false, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new UnknownServerException(String.valueOf(e.getCause()), e.getCause());
        }
    }

    /**
     * As {@link #ask}, without blocking: the future completes with the answer, or exceptionally
     * with what {@link #ask} throws (a {@link RuntimeException} that {@code send} throws, such as
     * a closed client's, ends it too). Completing or cancelling it cancels the requests still
     * pending. {@code refusal} also gets the address that answered.
     */
    public static <R> CompletableFuture<Answer<R>> askAsync(List<HostPort> addresses, int start, long hedgeAfterMs,
                                                            Function<HostPort, ListenableFuture<R>> send,
                                                            BiFunction<HostPort, R, BasaltException> refusal,
                                                            BiFunction<HostPort, StatusRuntimeException, BasaltException> classify,
                                                            Predicate<BasaltException> tryNext) {
        if (addresses.isEmpty()) {
            return CompletableFuture.failedFuture(new dev.basalt.client.ConnectionException("no broker address to ask"));
        }
        Walk<R> w = new Walk<>(addresses, start, hedgeAfterMs, send, refusal, classify, tryNext);
        w.result.whenComplete((a, e) -> w.cancelPending());
        w.sendNext();
        return w.result;
    }

    /**
     * One walk over the addresses. State guarded by the Walk itself; nothing is called with that
     * lock held (a call may answer at once, on this thread, and its listener take the lock again).
     */
    private static final class Walk<R> {
        final CompletableFuture<Answer<R>> result = new CompletableFuture<>();
        private final List<HostPort> addresses;
        private final int start;
        private final long hedgeAfterMs;
        private final Function<HostPort, ListenableFuture<R>> send;
        private final BiFunction<HostPort, R, BasaltException> refusal;
        private final BiFunction<HostPort, StatusRuntimeException, BasaltException> classify;
        private final Predicate<BasaltException> tryNext;
        private final List<ListenableFuture<R>> calls = new ArrayList<>();
        private int pending;
        private BasaltException lastRefusal;
        private BasaltException lastFailure;
        /** Whether every address has so far failed as not a client port ({@link NotAClientPortException}). */
        private boolean noneAClientPort = true;

        Walk(List<HostPort> addresses, int start, long hedgeAfterMs, Function<HostPort, ListenableFuture<R>> send,
             BiFunction<HostPort, R, BasaltException> refusal, BiFunction<HostPort, StatusRuntimeException, BasaltException> classify,
             Predicate<BasaltException> tryNext) {
            this.addresses = addresses;
            this.start = start;
            this.hedgeAfterMs = hedgeAfterMs;
            this.send = send;
            this.refusal = refusal;
            this.classify = classify;
            this.tryNext = tryNext;
        }

        private HostPort address(int i) {
            return addresses.get(Math.floorMod(start + i, addresses.size()));
        }

        /** Asks the next address, or, with none left and none pending, ends with the last failure. */
        void sendNext() {
            int i;
            BasaltException end = null;
            synchronized (this) {
                if (result.isDone() || (calls.size() == addresses.size() && pending > 0)) {
                    return; // decided, or the requests still pending may answer
                }
                if (calls.size() == addresses.size()) {
                    // every address failed: a broker's own answer says more than a call that
                    // timed out (the paused broker's failure is usually the last to come)
                    end = lastRefusal != null ? lastRefusal : lastFailure;
                    if (!noneAClientPort) {
                        end = NotAClientPortException.asOneOfSeveral(end); // another address may yet serve
                    }
                    if (end == null) {
                        end = new dev.basalt.client.ConnectionException("no answer from " + addresses);
                    }
                    i = -1;
                } else {
                    i = calls.size();
                    calls.add(null); // its place, filled once sent
                    pending++;
                }
            }
            if (i < 0) {
                result.completeExceptionally(end);
                return;
            }
            ListenableFuture<R> call;
            try {
                // in the root context: a request shared by many callers (a coalesced refresh) must
                // not inherit one caller's deadline or cancellation (say, an application's own gRPC
                // server call); it has its own deadline
                call = java.util.Objects.requireNonNull(io.grpc.Context.ROOT.call(() -> send.apply(address(i))), "no call sent");
            } catch (Exception e) {
                result.completeExceptionally(e);
                return;
            }
            synchronized (this) {
                calls.set(i, call);
            }
            if (result.isDone()) {
                call.cancel(true); // decided while it was being sent
                return;
            }
            call.addListener(() -> {
                try {
                    finished(i, call);
                } catch (RuntimeException e) {
                    // a callback that threw (refusal, classify, tryNext): the walk ends with it
                    // rather than waiting forever for a call whose outcome was dropped
                    result.completeExceptionally(e);
                }
            }, MoreExecutors.directExecutor());
            if (i + 1 < addresses.size()) {
                CompletableFuture.delayedExecutor(hedgeAfterMs, TimeUnit.MILLISECONDS).execute(() -> {
                    synchronized (this) {
                        if (result.isDone() || calls.size() != i + 1) {
                            return; // answered, or a failure has already moved on to the next address
                        }
                    }
                    sendNext(); // unanswered for the hedge delay: the next address as well
                });
            }
        }

        private void finished(int i, ListenableFuture<R> call) {
            if (call.isCancelled()) {
                return; // cancelled by this walk once it was decided
            }
            HostPort address = address(i);
            BasaltException refused = null;
            BasaltException failure = null;
            try {
                R answer = call.get();
                refused = refusal.apply(address, answer);
                if (refused == null) {
                    result.complete(new Answer<>(Math.floorMod(start + i, addresses.size()), answer));
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // not reached: the call is done
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof StatusRuntimeException sre)) {
                    result.completeExceptionally(new UnknownServerException("call to " + address + " failed: " + e.getCause(),
                            e.getCause()));
                    return;
                }
                failure = classify.apply(address, sre);
                if (!tryNext.test(failure)) {
                    result.completeExceptionally(failure);
                    return;
                }
            }
            synchronized (this) {
                pending--;
                noneAClientPort &= failure instanceof NotAClientPortException;
                if (refused != null) {
                    lastRefusal = refused;
                } else {
                    lastFailure = failure;
                }
            }
            // the next address now rather than after the hedge delay of one still pending
            sendNext();
        }

        void cancelPending() {
            List<ListenableFuture<R>> toCancel;
            synchronized (this) {
                toCancel = new ArrayList<>(calls);
            }
            for (ListenableFuture<R> c : toCancel) {
                if (c != null) {
                    c.cancel(true);
                }
            }
        }
    }
}

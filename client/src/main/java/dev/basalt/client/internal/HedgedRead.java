package dev.basalt.client.internal;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.basalt.client.BasaltException;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.UnknownServerException;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
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
 * <p>Blocks the calling thread; the requests themselves are asynchronous gRPC calls, each with its
 * own deadline, one per entry of the list (callers pass lists without repeated addresses).
 */
public final class HedgedRead {
    private HedgedRead() {
    }

    /** The answer and the index (in the list given) of the address that gave it. */
    public record Answer<R>(int index, R value) {
    }

    /**
     * Asks {@code addresses} from {@code start} (wrapping around), each at most once.
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
        int n = addresses.size();
        if (n == 0) {
            throw new dev.basalt.client.ConnectionException("no broker address to ask");
        }
        BlockingQueue<Integer> finished = new LinkedBlockingQueue<>();
        List<ListenableFuture<R>> calls = new ArrayList<>();
        BasaltException lastRefusal = null;
        BasaltException lastFailure = null;
        int pending = 0;
        try {
            while (true) {
                boolean askNext;
                if (pending == 0) {
                    if (calls.size() == n) {
                        // every address failed: a broker's own answer says more than a call that
                        // timed out (the paused broker's failure is usually the last to come)
                        throw lastRefusal != null ? lastRefusal : lastFailure;
                    }
                    askNext = true;
                } else {
                    Integer done = calls.size() < n ? finished.poll(hedgeAfterMs, TimeUnit.MILLISECONDS) : finished.take();
                    if (done == null) {
                        askNext = true; // unanswered for the hedge delay: ask the next address as well
                    } else {
                        pending--;
                        HostPort address = addresses.get(Math.floorMod(start + done, n));
                        try {
                            R answer = calls.get(done).get();
                            BasaltException refused = refusal.apply(answer);
                            if (refused == null) {
                                return new Answer<>(Math.floorMod(start + done, n), answer);
                            }
                            lastRefusal = refused;
                        } catch (ExecutionException e) {
                            if (!(e.getCause() instanceof StatusRuntimeException sre)) {
                                throw new UnknownServerException("call to " + address + " failed: " + e.getCause(), e.getCause());
                            }
                            BasaltException failure = classify.apply(address, sre);
                            if (!tryNext.test(failure)) {
                                throw failure;
                            }
                            lastFailure = failure;
                        }
                        // the next address now rather than after the hedge delay of one still
                        // pending (with none pending, the top of the loop asks it)
                        askNext = pending > 0 && calls.size() < n;
                    }
                }
                if (askNext) {
                    int i = calls.size();
                    calls.add(send.apply(addresses.get(Math.floorMod(start + i, n))));
                    pending++;
                    calls.get(i).addListener(() -> finished.add(i), MoreExecutors.directExecutor());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DefiniteException("interrupted", false, e);
        } finally {
            calls.forEach(c -> c.cancel(true));
        }
    }
}

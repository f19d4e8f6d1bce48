package dev.basalt.cli;

import dev.basalt.client.Admin;
import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.DefiniteException;
import dev.basalt.client.IndeterminateException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * How a command waits for its admin calls, given the user's {@code --timeout-ms}: up to that
 * plus {@link #GRACE_MS}, so that the admin client's own deadline (default.api.timeout.ms, which
 * the command sets to --timeout-ms) comes first where it applies and its error, which says more,
 * is the one printed. A call still unanswered at the end of the wait is a timeout that names the
 * user's --timeout-ms: found probing, {@code topics --create --timeout-ms 5000} during a quorum
 * outage said "no answer within 6000 ms". Otherwise as {@link Admin#get} and
 * {@link Admin#getAll}: the same exceptions, an unanswered change being an
 * {@link IndeterminateException}.
 *
 * <p>Thread-safety: immutable.
 */
final class AdminWait {
    /** What a wait adds to --timeout-ms (see the class comment). */
    static final long GRACE_MS = 1_000;

    private final long timeoutMs;

    AdminWait(long timeoutMs) {
        if (timeoutMs <= 0) {
            throw new BasaltCli.UsageException("--timeout-ms must be positive, not " + timeoutMs);
        }
        this.timeoutMs = timeoutMs;
    }

    /** The user's --timeout-ms. */
    long timeoutMs() {
        return timeoutMs;
    }

    /** How long a wait lasts: --timeout-ms plus {@link #GRACE_MS}. */
    long waitMs() {
        return timeoutMs + GRACE_MS;
    }

    /** A read: its value, or its failure as {@link Admin#get} throws it; unanswered: {@link ClientTimeoutException}. */
    <T> T get(CompletableFuture<T> f) {
        if (!waitFor(f)) {
            throw new ClientTimeoutException(noAnswer());
        }
        return Admin.get(f, Duration.ZERO);
    }

    /**
     * A change per entity: every value, or the first failure in key order as {@link Admin#getAll}
     * throws it; one unanswered is an {@link IndeterminateException} (it may still be applied).
     */
    <T> Map<String, T> getAll(Map<String, CompletableFuture<T>> futures) {
        Map<String, T> out = new LinkedHashMap<>();
        futures.forEach((k, f) -> {
            if (!waitFor(f)) {
                throw Admin.unansweredChange(k, new ClientTimeoutException(noAnswer()));
            }
            out.putAll(Admin.getAll(Map.of(k, f), Duration.ZERO));
        });
        return out;
    }

    private String noAnswer() {
        return "no answer within " + timeoutMs + " ms (--timeout-ms)";
    }

    /** Waits until {@code f} is done or the wait is over; true if it is done (whatever its outcome). */
    private boolean waitFor(CompletableFuture<?> f) {
        try {
            f.get(waitMs(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | CancellationException | TimeoutException e) {
            // the outcome is read by Admin.get / getAll, or the wait is over
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DefiniteException("interrupted", false, e);
        }
        return f.isDone();
    }
}

package dev.basalt.broker.purgatory;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task once after a delay; what the purgatory uses for timeouts, so tests can drive it with
 * a manual clock ({@code ManualTimer} in the broker's tests) instead of sleeping.
 *
 * <p>Thread-safety: implementations are thread-safe.
 */
public interface Timer {

    /** A scheduled task. */
    interface Scheduled {
        /** Cancels the task if it has not run; harmless afterwards. */
        void cancel();
    }

    /** Runs {@code task} once, {@code delayMs} (≥ 0) from now, on the timer's thread. */
    Scheduled schedule(Runnable task, long delayMs);

    /** A timer over a scheduled executor (production: the node's timer thread). */
    static Timer of(ScheduledExecutorService executor) {
        return (task, delayMs) -> {
            ScheduledFuture<?> f = executor.schedule(task, Math.max(0, delayMs), TimeUnit.MILLISECONDS);
            return () -> f.cancel(false);
        };
    }
}

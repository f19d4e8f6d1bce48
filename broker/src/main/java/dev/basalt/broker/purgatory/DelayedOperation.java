package dev.basalt.broker.purgatory;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A request that waits for a condition (a long-polling fetch that wants min_bytes, a produce with
 * acks=all that wants the high watermark past its batch) or for its timeout, whichever comes first.
 *
 * <p>Thread-safety: {@link #tryComplete()} may be called concurrently from appending threads and
 * the timer; {@link #onComplete(boolean)} runs exactly once, guarded by {@link #forceComplete()}.
 */
public abstract class DelayedOperation {
    private final AtomicBoolean completed = new AtomicBoolean();
    private volatile Timer.Scheduled timer;
    private volatile Runnable onFinish;

    /**
     * Checks the condition; if met, calls {@link #forceComplete()} and returns true. Must be cheap:
     * it runs on the appending thread for every append to a watched key.
     */
    public abstract boolean tryComplete();

    /** Runs once: sends the response. {@code expired} is true when the timeout fired first. */
    protected abstract void onComplete(boolean expired);

    /** Completes the operation if nobody did yet; returns whether this call did it. */
    public final boolean forceComplete() {
        return complete(false);
    }

    final boolean expire() {
        return complete(true);
    }

    private boolean complete(boolean expired) {
        if (!completed.compareAndSet(false, true)) {
            return false;
        }
        Timer.Scheduled t = timer;
        if (t != null) {
            t.cancel();
        }
        Runnable finish = onFinish;
        if (finish != null) {
            finish.run();
        }
        onComplete(expired);
        return true;
    }

    public final boolean isCompleted() {
        return completed.get();
    }

    final void timer(Timer.Scheduled timer) {
        this.timer = timer;
    }

    /** Set by the purgatory before the operation is parked; runs once, on completion. */
    final void onFinish(Runnable onFinish) {
        this.onFinish = onFinish;
    }
}

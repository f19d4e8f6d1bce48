package dev.basalt.client.testkit;

import dev.basalt.client.internal.Time;
import java.util.concurrent.atomic.AtomicLong;

/** A monotonic clock that moves only when told; wall-clock time (record timestamps) stays real. Thread-safe. */
public final class ManualTime implements Time {
    private final AtomicLong monotonicMs = new AtomicLong(1_000_000);

    @Override
    public long nowMs() {
        return System.currentTimeMillis();
    }

    @Override
    public long monotonicMs() {
        return monotonicMs.get();
    }

    public void set(long ms) {
        monotonicMs.set(ms);
    }

    public void advance(long ms) {
        monotonicMs.addAndGet(ms);
    }
}

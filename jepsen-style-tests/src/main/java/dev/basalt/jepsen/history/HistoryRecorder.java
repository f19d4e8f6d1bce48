package dev.basalt.jepsen.history;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Collects a live run's history: workers and the nemesis append ops from their own threads; each
 * op gets the next index and both clocks under one lock, so the history order is the order of
 * real events as the recorder saw them. The monotonic clock is relative to the recorder's
 * creation; the wall clock is for people reading the report.
 *
 * <p>Thread-safety: thread-safe (one lock around append and snapshot).
 */
public final class HistoryRecorder {
    private final LongSupplier wallMs;
    private final LongSupplier nanos;
    private final long startNanos;
    private final List<Op> ops = new ArrayList<>();

    /** @param wallMs wall clock in ms; @param nanos a monotonic clock in ns (System::nanoTime in a live run) */
    public HistoryRecorder(LongSupplier wallMs, LongSupplier nanos) {
        this.wallMs = wallMs;
        this.nanos = nanos;
        this.startNanos = nanos.getAsLong();
    }

    /** Stamps {@code op} with the next index and the current times, appends it, and returns it. */
    public synchronized Op record(Op op) {
        Op stamped = op.withIndex(ops.size()).withTimes(wallMs.getAsLong(), nanos.getAsLong() - startNanos);
        ops.add(stamped);
        return stamped;
    }

    public synchronized Op invoke(int process, Fn f, List<Msg> values) {
        return record(Op.of(process, OpType.INVOKE, f, 0, 0).withValues(values));
    }

    /** The current monotonic time of this recorder (ns since its creation). */
    public long nowNanos() {
        return nanos.getAsLong() - startNanos;
    }

    public synchronized History snapshot() {
        return History.of(List.copyOf(ops));
    }

    public synchronized int size() {
        return ops.size();
    }
}

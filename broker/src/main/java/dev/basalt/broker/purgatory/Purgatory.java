package dev.basalt.broker.purgatory;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Parks {@link DelayedOperation}s under keys (partitions) until an event on a key completes them
 * or their timeout expires (scheduled on a {@link Timer}). The replica manager calls
 * {@link #checkAndComplete} whenever a partition's log end offset or high watermark moves, or its
 * leadership changes. Bounded: at most {@code inflightMax} operations wait at once; beyond
 * that {@link #tryWatch} refuses and the caller answers THROTTLED.
 *
 * <p>Thread-safety: fully thread-safe. Completion callbacks run on the thread that triggered
 * them (an appending request thread) or on the timer thread.
 */
public final class Purgatory<K> {
    private final String name;
    private final Timer timer;
    private final int inflightMax;
    private final ConcurrentMap<K, List<DelayedOperation>> watchers = new ConcurrentHashMap<>();
    private final AtomicInteger inflight = new AtomicInteger();

    public Purgatory(String name, ScheduledExecutorService timer, int inflightMax) {
        this(name, Timer.of(timer), inflightMax);
    }

    /** With an explicit {@link Timer} (tests pass a manual one). */
    public Purgatory(String name, Timer timer, int inflightMax) {
        if (inflightMax <= 0) {
            throw new IllegalArgumentException("inflightMax must be positive: " + inflightMax);
        }
        this.name = name;
        this.timer = timer;
        this.inflightMax = inflightMax;
    }

    /**
     * Tries the operation once; if not complete, parks it under {@code keys} for at most
     * {@code timeoutMs}.
     *
     * @return false if the purgatory is full (the operation was neither completed nor parked)
     */
    public boolean tryWatch(DelayedOperation op, Collection<K> keys, long timeoutMs) {
        if (op.tryComplete()) {
            return true;
        }
        if (inflight.incrementAndGet() > inflightMax) {
            inflight.decrementAndGet();
            return false;
        }
        op.onFinish(() -> {
            for (K key : keys) {
                List<DelayedOperation> ops = watchers.get(key);
                if (ops != null) {
                    ops.remove(op);
                }
            }
            inflight.decrementAndGet();
        });
        for (K key : keys) {
            watchers.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(op);
        }
        op.timer(timer.schedule(op::expire, Math.max(0, timeoutMs)));
        // An event may have fired between the first check and the registration: check again.
        op.tryComplete();
        return true;
    }

    /** An event happened on {@code key} (an append, a high-watermark move): re-check its waiters. */
    public void checkAndComplete(K key) {
        List<DelayedOperation> ops = watchers.get(key);
        if (ops == null) {
            return;
        }
        for (DelayedOperation op : ops) {
            if (!op.isCompleted()) {
                op.tryComplete();
            }
        }
    }

    /** Completes everything now (shutdown): each operation answers as if it expired. */
    public void expireAll() {
        for (List<DelayedOperation> ops : watchers.values()) {
            for (DelayedOperation op : ops) {
                op.expire();
            }
        }
    }

    public int inflight() {
        return inflight.get();
    }

    public String name() {
        return name;
    }
}

package dev.basalt.broker.testkit;

import dev.basalt.broker.purgatory.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A {@link Timer} driven by hand: tasks run on the caller's thread of {@link #advance}, in due-time
 * order (then scheduling order). Thread-safe (synchronized); tasks run outside the lock.
 */
public final class ManualTimer implements Timer {
    private final PriorityQueue<Task> tasks = new PriorityQueue<>();
    private long nowMs;
    private long seq;

    private final class Task implements Comparable<Task>, Scheduled {
        final long dueMs;
        final long order;
        final Runnable body;
        volatile boolean cancelled;

        Task(long dueMs, long order, Runnable body) {
            this.dueMs = dueMs;
            this.order = order;
            this.body = body;
        }

        @Override
        public int compareTo(Task o) {
            return dueMs != o.dueMs ? Long.compare(dueMs, o.dueMs) : Long.compare(order, o.order);
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    @Override
    public synchronized Scheduled schedule(Runnable task, long delayMs) {
        Task t = new Task(nowMs + Math.max(0, delayMs), seq++, task);
        tasks.add(t);
        return t;
    }

    /** Moves time forward by {@code ms} and runs every task due by then. */
    public void advance(long ms) {
        long target;
        synchronized (this) {
            target = nowMs + ms;
        }
        while (true) {
            Task due;
            synchronized (this) {
                Task head = tasks.peek();
                if (head == null || head.dueMs > target) {
                    nowMs = target;
                    return;
                }
                due = tasks.poll();
                nowMs = due.dueMs;
            }
            if (!due.cancelled) {
                due.body.run();
            }
        }
    }

    public synchronized long nowMs() {
        return nowMs;
    }

    /** Tasks still scheduled and not cancelled. */
    public synchronized int pending() {
        List<Task> live = new ArrayList<>();
        for (Task t : tasks) {
            if (!t.cancelled) {
                live.add(t);
            }
        }
        return live.size();
    }
}

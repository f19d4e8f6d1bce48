package dev.basalt.broker.replica.sim;

import java.util.PriorityQueue;

/**
 * The simulated clock and the one event queue of a run: events ordered by (simulated time, sequence
 * number), so two events at the same millisecond run in the order they were scheduled and a run
 * replays exactly from its seed. After every event the {@link #afterEach} hook runs (the cheap
 * invariants). Not thread-safe; one instance per run, driven by one thread.
 */
final class SimScheduler {
    private record Event(long timeMs, long seq, Runnable action) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(timeMs, o.timeMs);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** A run that schedules more than this is looping (a harness or protocol livelock). */
    static final long EVENTS_MAX = 3_000_000;

    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private long nowMs;
    private long sequence;
    private long eventCount;
    private Runnable afterEach = () -> { };

    long nowMs() {
        return nowMs;
    }

    long eventCount() {
        return eventCount;
    }

    void afterEach(Runnable hook) {
        this.afterEach = hook;
    }

    void schedule(long delayMs, Runnable action) {
        if (delayMs < 0) {
            throw new IllegalArgumentException("negative delay " + delayMs);
        }
        queue.add(new Event(nowMs + delayMs, sequence++, action));
    }

    /** Runs every event due by {@code endMs}, then sets the clock to {@code endMs}. */
    void runUntil(long endMs) {
        while (!queue.isEmpty() && queue.peek().timeMs <= endMs) {
            Event e = queue.poll();
            nowMs = e.timeMs;
            if (++eventCount > EVENTS_MAX) {
                throw new IllegalStateException("runaway simulation: more than " + EVENTS_MAX + " events");
            }
            e.action.run();
            afterEach.run();
        }
        nowMs = Math.max(nowMs, endMs);
    }
}

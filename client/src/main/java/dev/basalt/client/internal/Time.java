package dev.basalt.client.internal;

/**
 * The client's source of time, injectable so that tests of batching and linger can use a fake
 * clock. {@link #nowMs()} is wall-clock time (record timestamps); {@link #monotonicMs()} is for
 * measuring intervals (linger, deadlines).
 *
 * <p>Thread-safety: implementations must be thread-safe.
 */
public interface Time {
    long nowMs();

    long monotonicMs();

    /** The real clocks. */
    Time SYSTEM = new Time() {
        @Override
        public long nowMs() {
            return System.currentTimeMillis();
        }

        @Override
        public long monotonicMs() {
            return System.nanoTime() / 1_000_000L;
        }
    };
}

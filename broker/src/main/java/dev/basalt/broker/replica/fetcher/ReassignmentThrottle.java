package dev.basalt.broker.replica.fetcher;

import dev.basalt.log.TopicPartition;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-broker limit on reassignment catch-up traffic (config {@code reassignment.throttle.bytes.per.second}):
 * a token bucket shared by every fetcher of this broker, applied only to partitions this broker is
 * being added to and whose ISR it has not joined yet. ISR members' fetches never ask it.
 *
 * <p>Method: before a fetch, {@link #reserve} grants a throttled partition up to the tokens available
 * as its {@code partition_max_bytes} (nothing, and the partition skips this round, while the bucket is
 * empty); after the answer, {@link #settle} returns what was not used, or takes the overshoot (a
 * leader always sends a whole first batch, which may exceed the limit): the balance may go negative,
 * and the next grant waits until it is paid back. So over any run longer than the burst, the bytes
 * copied stay within one burst of rate × time. The burst is one second of the rate, at least
 * {@link #BURST_BYTES_MIN} so that one batch fits.
 *
 * <p>Thread-safety: thread-safe (one lock; fetcher threads of several leaders share it). Time comes in
 * as {@code nowMs}; it reads no clock.
 */
public final class ReassignmentThrottle {
    /** Config key: bytes per second of catch-up traffic for reassigned replicas; absent or 0 = unlimited. */
    public static final String CONFIG_KEY = "reassignment.throttle.bytes.per.second";
    /** Smallest burst: one 64 KiB batch must always fit. */
    static final long BURST_BYTES_MIN = 64 * 1024;

    private final Set<TopicPartition> throttled = ConcurrentHashMap.newKeySet();
    private long rateBytesPerSecond; // guarded by this; 0 = unlimited
    private double tokens; // guarded by this
    private long lastRefillMs = -1; // guarded by this
    private long bytesThrottledTotal; // guarded by this

    /** Sets the rate (0 = unlimited). A new rate starts with an empty bucket, so no burst follows a change. */
    public synchronized void setRate(long bytesPerSecond) {
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("negative rate " + bytesPerSecond);
        }
        if (bytesPerSecond != rateBytesPerSecond) {
            rateBytesPerSecond = bytesPerSecond;
            tokens = Math.min(tokens, 0);
        }
    }

    public synchronized long rateBytesPerSecond() {
        return rateBytesPerSecond;
    }

    /** Marks {@code tp} as catching up for a reassignment (throttled) or not. */
    public void setThrottled(TopicPartition tp, boolean on) {
        if (on) {
            throttled.add(tp);
        } else {
            throttled.remove(tp);
        }
    }

    public boolean isThrottled(TopicPartition tp) {
        return throttled.contains(tp);
    }

    /** Bytes the throttled partitions have fetched since this broker started (progress reports, tests). */
    public synchronized long bytesThrottledTotal() {
        return bytesThrottledTotal;
    }

    /**
     * Grants up to {@code wantedBytes} to one throttled partition's fetch: {@code wantedBytes} when
     * unlimited, else what the bucket holds (0 = skip this round).
     */
    public synchronized long reserve(long nowMs, long wantedBytes) {
        if (rateBytesPerSecond == 0) {
            return wantedBytes;
        }
        refill(nowMs);
        long granted = (long) Math.max(0, Math.min(tokens, wantedBytes));
        tokens -= granted;
        return granted;
    }

    /** The fetch granted {@code grantedBytes} and received {@code receivedBytes}: settle the difference. */
    public synchronized void settle(long grantedBytes, long receivedBytes) {
        bytesThrottledTotal += receivedBytes;
        if (rateBytesPerSecond != 0) {
            tokens += grantedBytes - receivedBytes;
        }
    }

    /** When the bucket next holds a token (nowMs when it does now or the rate is unlimited). */
    public synchronized long nextGrantMs(long nowMs) {
        if (rateBytesPerSecond == 0) {
            return nowMs;
        }
        refill(nowMs);
        if (tokens >= 1) {
            return nowMs;
        }
        return nowMs + (long) Math.ceil((1 - tokens) * 1000.0 / rateBytesPerSecond);
    }

    private void refill(long nowMs) {
        if (lastRefillMs >= 0 && nowMs > lastRefillMs) {
            double burst = Math.max(BURST_BYTES_MIN, rateBytesPerSecond);
            tokens = Math.min(burst, tokens + (nowMs - lastRefillMs) * rateBytesPerSecond / 1000.0);
        }
        lastRefillMs = Math.max(lastRefillMs, nowMs);
    }
}

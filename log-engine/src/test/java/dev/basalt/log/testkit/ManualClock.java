package dev.basalt.log.testkit;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Clock} that moves only when told: log tests drive segment.ms, retention.ms,
 * flush.ms and tombstone expiry deterministically. Thread-safe.
 */
public final class ManualClock extends Clock {
    private final AtomicLong nowMs;

    public ManualClock(long startMs) {
        this.nowMs = new AtomicLong(startMs);
    }

    public long advance(long ms) {
        if (ms < 0) {
            throw new IllegalArgumentException("time never goes back: " + ms);
        }
        return nowMs.addAndGet(ms);
    }

    public void set(long ms) {
        nowMs.set(ms);
    }

    @Override
    public long millis() {
        return nowMs.get();
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(nowMs.get());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }
}

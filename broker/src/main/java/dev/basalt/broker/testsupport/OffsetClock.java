package dev.basalt.broker.testsupport;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;

/**
 * TEST ONLY (selected by {@code -Dbasalt.test.clock=true}): the system clock plus an offset that
 * the clock nemesis changes at run time, so a node's wall clock jumps or is skewed while monotonic
 * timers ({@code System.nanoTime}) run on.
 *
 * <p>Thread-safety: thread-safe; the offset is volatile and every reader sees one value.
 */
public final class OffsetClock extends Clock {
    private final Clock base;
    private volatile long offsetMs;

    public OffsetClock(Clock base) {
        this.base = base;
    }

    public long offsetMs() {
        return offsetMs;
    }

    public void offsetMs(long offsetMs) {
        this.offsetMs = offsetMs;
    }

    @Override
    public ZoneId getZone() {
        return base.getZone();
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("the node's clock has one zone (UTC)");
    }

    @Override
    public long millis() {
        return base.millis() + offsetMs;
    }

    @Override
    public Instant instant() {
        return base.instant().plusMillis(offsetMs);
    }
}

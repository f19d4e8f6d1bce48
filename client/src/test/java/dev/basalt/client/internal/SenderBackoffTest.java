package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Retry backoff: exponential from retry.backoff.ms, capped at retry.backoff.max.ms, ±20% jitter. */
class SenderBackoffTest {
    @Test
    void doubles_thenCaps() {
        assertEquals(100, Sender.backoffMs(1, 100, 1000, 0.5));
        assertEquals(200, Sender.backoffMs(2, 100, 1000, 0.5));
        assertEquals(800, Sender.backoffMs(4, 100, 1000, 0.5));
        assertEquals(1000, Sender.backoffMs(5, 100, 1000, 0.5));
        assertEquals(1000, Sender.backoffMs(60, 100, 1000, 0.5));
    }

    @Test
    void fixedBackoff_whenCapEqualsBase_hasNoJitter() {
        assertEquals(100, Sender.backoffMs(7, 100, 100, 0.99));
    }

    @Property
    void withinJitterBounds(@ForAll @IntRange(min = 0, max = 100) int attempts, @ForAll @DoubleRange(min = 0, max = 1, maxIncluded = false) double r) {
        long b = Sender.backoffMs(attempts, 100, 10_000, r);
        double nominal = Math.min(100 * Math.pow(2, Math.max(0, attempts - 1)), 10_000);
        assertTrue(b >= (long) (nominal * 0.8) && b <= (long) (nominal * 1.2), attempts + " -> " + b);
    }
}

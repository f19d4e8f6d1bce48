package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** A Produce request's timeout_ms: inside the call deadline, and within the delivery time its batches have left. */
class SenderBrokerTimeoutTest {
    @Test
    void insideTheCallDeadline_whenDeliveryTimeIsAmple() {
        assertEquals(29_000, Sender.brokerTimeoutMs(30_000, 120_000));
        assertEquals(1_800, Sender.brokerTimeoutMs(2_000, 120_000), "a tenth for short request timeouts");
    }

    @Test
    void cappedByTheDeliveryTimeLeft_withAFloor() {
        assertEquals(10_000, Sender.brokerTimeoutMs(30_000, 10_000));
        assertEquals(Sender.BROKER_TIMEOUT_MS_MIN, Sender.brokerTimeoutMs(30_000, 1));
        assertEquals(Sender.BROKER_TIMEOUT_MS_MIN, Sender.brokerTimeoutMs(30_000, 0), "0 would mean: do not wait");
        assertEquals(Sender.BROKER_TIMEOUT_MS_MIN, Sender.brokerTimeoutMs(30_000, -40));
    }

    @Property
    void neverPastTheDeliveryTimeLeftNorTheCallDeadline(@ForAll @IntRange(min = 1, max = 600_000) int requestTimeoutMs,
                                                        @ForAll @LongRange(min = -1_000, max = 10_000_000) long leftMs) {
        int t = Sender.brokerTimeoutMs(requestTimeoutMs, leftMs);
        assertTrue(t >= 1 && t <= requestTimeoutMs, t + " for request.timeout.ms " + requestTimeoutMs);
        assertTrue(t <= Math.max(Sender.BROKER_TIMEOUT_MS_MIN, leftMs), t + " with " + leftMs + " ms left");
    }
}

package dev.basalt.broker.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The slot pools of deleted topics are dropped once idle (a broker outliving many short-lived
 * topics kept a pool for each); a pool with a call in flight is kept until its slot comes back.
 */
class ProducerSlotsTest {
    private final AtomicLong ids = new AtomicLong(100);
    private final ProducerSlots slots = new ProducerSlots(() -> CompletableFuture.completedFuture(ids.getAndIncrement()), 4, 4);

    @Test
    void idlePoolsOfDeletedTopicsAreDropped_busyOnesAndLiveTopicsKept() {
        ProducerSlots.Slot gone = slots.acquire("gone", 0).join();
        ProducerSlots.Slot kept = slots.acquire("kept", 0).join();
        ProducerSlots.Slot busy = slots.acquire("busy", 0).join();
        slots.release(gone, ProducerSlots.Outcome.APPENDED, 3, "gone", 0);
        slots.release(kept, ProducerSlots.Outcome.APPENDED, 3, "kept", 0);

        assertEquals(1, slots.forgetIdle(t -> t.equals("kept")), "only 'gone' is deleted and idle");
        assertEquals(0, slots.live("gone", 0));
        assertEquals(1, slots.live("kept", 0));
        assertEquals(1, slots.live("busy", 0), "its call is still in flight");

        slots.release(busy, ProducerSlots.Outcome.APPENDED, 1, "busy", 0); // the call ends after the sweep: no error
        assertEquals(1, slots.forgetIdle(t -> t.equals("kept")));
        assertEquals(0, slots.live("busy", 0));

        // a topic made again under the name starts from a fresh slot (new producer id, sequence 0)
        ProducerSlots.Slot again = slots.acquire("gone", 0).join();
        assertNotEquals(gone.producerId, again.producerId);
        assertEquals(0, again.nextSequence());
    }
}

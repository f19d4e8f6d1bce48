package dev.basalt.broker.purgatory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.testkit.ManualTimer;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The purgatory completes each parked operation exactly once: by an event or by its timeout; it is bounded. */
class PurgatoryTest {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void shutdown() {
        timer.shutdownNow();
    }

    static final class Op extends DelayedOperation {
        final AtomicBoolean ready = new AtomicBoolean();
        final AtomicInteger completions = new AtomicInteger();
        final CountDownLatch done = new CountDownLatch(1);
        volatile boolean expired;

        @Override
        public boolean tryComplete() {
            return ready.get() && forceComplete();
        }

        @Override
        protected void onComplete(boolean expired) {
            this.expired = expired;
            completions.incrementAndGet();
            done.countDown();
        }
    }

    @Test
    void anEventOnAWatchedKeyCompletesTheOperationOnce() throws Exception {
        Purgatory<String> p = new Purgatory<>("test", timer, 10);
        Op op = new Op();
        assertTrue(p.tryWatch(op, List.of("a", "b"), 60_000));
        assertEquals(1, p.inflight());
        p.checkAndComplete("a");
        assertEquals(0, op.completions.get(), "not ready yet");
        op.ready.set(true);
        p.checkAndComplete("b");
        p.checkAndComplete("a");
        assertEquals(1, op.completions.get());
        assertFalse(op.expired);
        assertEquals(0, p.inflight());
    }

    @Test
    void theTimeoutCompletesAnOperationNobodyWoke() throws Exception {
        Purgatory<String> p = new Purgatory<>("test", timer, 10);
        Op op = new Op();
        p.tryWatch(op, List.of("a"), 20);
        assertTrue(op.done.await(10, TimeUnit.SECONDS));
        assertTrue(op.expired);
        op.ready.set(true);
        p.checkAndComplete("a");
        assertEquals(1, op.completions.get());
        assertEquals(0, p.inflight());
    }

    @Test
    void manualTimer_expiresExactlyAtTheTimeout_andCompletionCancelsTheTimer() {
        ManualTimer manual = new ManualTimer();
        Purgatory<String> p = new Purgatory<>("test", manual, 10);
        Op slow = new Op();
        Op woken = new Op();
        p.tryWatch(slow, List.of("a"), 100);
        p.tryWatch(woken, List.of("b"), 100);
        manual.advance(99);
        assertEquals(0, slow.completions.get(), "1 ms before the timeout nothing expired");
        woken.ready.set(true);
        p.checkAndComplete("b");
        assertEquals(1, manual.pending(), "the woken operation's timer was cancelled");
        manual.advance(1);
        assertEquals(1, slow.completions.get());
        assertTrue(slow.expired);
        assertFalse(woken.expired);
        assertEquals(0, p.inflight());
    }

    @Test
    void theTimeoutIsFinalEvenIfTheConditionHoldsLater() throws Exception {
        ManualTimer manual = new ManualTimer();
        Purgatory<String> p = new Purgatory<>("test", manual, 10);
        Op op = new Op();
        p.tryWatch(op, List.of("a"), 20);
        manual.advance(20);
        assertTrue(op.expired);
        op.ready.set(true);
        p.checkAndComplete("a");
        assertEquals(1, op.completions.get());
        assertEquals(0, p.inflight());
    }

    @Test
    void aFullPurgatoryRefusesInsteadOfGrowing() {
        Purgatory<String> p = new Purgatory<>("test", timer, 2);
        assertTrue(p.tryWatch(new Op(), List.of("a"), 60_000));
        assertTrue(p.tryWatch(new Op(), List.of("a"), 60_000));
        assertFalse(p.tryWatch(new Op(), List.of("a"), 60_000));
        Op ready = new Op();
        ready.ready.set(true);
        assertTrue(p.tryWatch(ready, List.of("a"), 60_000), "an operation that completes at once needs no slot");
        p.expireAll();
        assertEquals(0, p.inflight());
    }
}

package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.BufferExhaustedException;
import dev.basalt.client.RecordTooLargeException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * buffer.memory accounting and back-pressure: pooled buffers are recycled, the budget is never
 * exceeded, a blocked allocation proceeds when memory is returned and fails with
 * BufferExhaustedException after max.block.ms otherwise.
 */
class BufferPoolTest {
    @Test
    void pooledBuffersAreReused_andAccountingHolds() throws Exception {
        BufferPool pool = new BufferPool(4096, 1024);
        ByteBuffer a = pool.allocate(1024, 0);
        assertEquals(3072, pool.availableBytes());
        a.put((byte) 7);
        pool.deallocate(a);
        assertEquals(4096, pool.availableBytes());
        ByteBuffer b = pool.allocate(1024, 0);
        assertSame(a, b);
        assertEquals(0, b.position());
        ByteBuffer big = pool.allocate(2500, 0);
        assertEquals(2500, big.capacity());
        assertEquals(4096 - 1024 - 2500, pool.availableBytes());
        pool.deallocate(big);
        pool.deallocate(b);
        assertEquals(4096, pool.availableBytes());
    }

    @Test
    void exhausted_failsAfterMaxBlock() throws Exception {
        BufferPool pool = new BufferPool(2048, 1024);
        pool.allocate(1024, 0);
        pool.allocate(1024, 0);
        BufferExhaustedException e = assertThrows(BufferExhaustedException.class, () -> pool.allocate(1024, 20));
        assertTrue(e.retriable());
        assertEquals(0, pool.waitingThreads());
    }

    @Test
    void blockedAllocation_proceedsWhenMemoryReturns() throws Exception {
        BufferPool pool = new BufferPool(2048, 1024);
        java.util.concurrent.atomic.AtomicInteger waits = new java.util.concurrent.atomic.AtomicInteger();
        pool.onWait(waits::incrementAndGet); // the producer wakes its sender here
        ByteBuffer a = pool.allocate(1024, 0);
        pool.allocate(1024, 0);
        CompletableFuture<ByteBuffer> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return pool.allocate(1024, 30_000);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        while (pool.waitingThreads() == 0) {
            Thread.onSpinWait();
        }
        assertEquals(1, waits.get(), "told once, when the caller started waiting");
        pool.deallocate(a);
        assertSame(a, waiting.get(30, TimeUnit.SECONDS));
        assertEquals(1, waits.get());
    }

    @Test
    void largerThanBudget_isRecordTooLarge() {
        BufferPool pool = new BufferPool(2048, 1024);
        assertThrows(RecordTooLargeException.class, () -> pool.allocate(4096, 0));
    }

    @Test
    void oddSizes_takeMemoryFromFreePooledBuffers() throws Exception {
        BufferPool pool = new BufferPool(2048, 1024);
        pool.deallocate(pool.allocate(1024, 0));
        pool.deallocate(pool.allocate(1024, 0));
        ByteBuffer big = pool.allocate(2048, 0);
        assertEquals(0, pool.availableBytes());
        pool.deallocate(big);
        assertEquals(2048, pool.availableBytes());
    }
}

package dev.basalt.client.internal;

import dev.basalt.client.BufferExhaustedException;
import dev.basalt.client.RecordTooLargeException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The producer's bounded batch memory ({@code buffer.memory}). Buffers of exactly
 * {@code poolableSizeBytes} (batch.size) are recycled through a free list, so steady-state
 * batching allocates nothing; other sizes (a record larger than batch.size) are allocated and
 * later returned to the unpooled budget. When the budget is used up, {@link #allocate} blocks
 * the sending thread (back-pressure) in FIFO order for at most {@code maxBlockMs}, then throws
 * {@link BufferExhaustedException}.
 *
 * <p>Memory accounting: {@code totalBytes = free.size() * poolableSizeBytes + unpooledAvailable
 * + bytes handed out}, checked by {@link #availableBytes()} in tests.
 *
 * <p>Thread-safety: thread-safe (one lock).
 */
public final class BufferPool {
    private final long totalBytes;
    private final int poolableSizeBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Deque<ByteBuffer> free = new ArrayDeque<>();
    private final Deque<Condition> waiters = new ArrayDeque<>();
    private long unpooledAvailable;
    private boolean closed;

    public BufferPool(long totalBytes, int poolableSizeBytes) {
        if (poolableSizeBytes <= 0 || totalBytes < poolableSizeBytes) {
            throw new IllegalArgumentException("need 0 < poolable " + poolableSizeBytes + " <= total " + totalBytes);
        }
        this.totalBytes = totalBytes;
        this.poolableSizeBytes = poolableSizeBytes;
        this.unpooledAvailable = totalBytes;
    }

    /**
     * A buffer of exactly {@code sizeBytes} capacity (position 0, limit = capacity), blocking
     * while memory is exhausted.
     *
     * @throws RecordTooLargeException   if sizeBytes exceeds the whole budget
     * @throws BufferExhaustedException  if memory did not free up within maxBlockMs
     */
    public ByteBuffer allocate(int sizeBytes, long maxBlockMs) throws InterruptedException {
        if (sizeBytes > totalBytes) {
            throw new RecordTooLargeException("a batch of " + sizeBytes + " bytes exceeds buffer.memory " + totalBytes);
        }
        lock.lock();
        try {
            ensureOpen();
            if (sizeBytes == poolableSizeBytes && !free.isEmpty()) {
                return free.pollFirst();
            }
            if (waiters.isEmpty() && free.size() * (long) poolableSizeBytes + unpooledAvailable >= sizeBytes) {
                reserve(sizeBytes);
                return ByteBuffer.allocate(sizeBytes);
            }
            return waitForMemory(sizeBytes, maxBlockMs);
        } finally {
            lock.unlock();
        }
    }

    /** Told (under the pool's lock: must not block) whenever a caller starts waiting for memory. */
    private volatile Runnable onWait = () -> { };

    /**
     * Runs {@code r} whenever a caller starts waiting for memory: the producer wakes its sender,
     * which sends lingering batches at once while memory is exhausted (found probing: each blocked
     * send waited for the sender's next 100 ms check).
     */
    public void onWait(Runnable r) {
        this.onWait = java.util.Objects.requireNonNull(r);
    }

    private ByteBuffer waitForMemory(int sizeBytes, long maxBlockMs) throws InterruptedException {
        Condition mine = lock.newCondition();
        waiters.addLast(mine);
        onWait.run();
        long leftNanos = TimeUnit.MILLISECONDS.toNanos(maxBlockMs);
        try {
            while (true) {
                ensureOpen();
                boolean first = waiters.peekFirst() == mine;
                if (first && sizeBytes == poolableSizeBytes && !free.isEmpty()) {
                    return free.pollFirst();
                }
                if (first && free.size() * (long) poolableSizeBytes + unpooledAvailable >= sizeBytes) {
                    reserve(sizeBytes);
                    return ByteBuffer.allocate(sizeBytes);
                }
                if (leftNanos <= 0) {
                    throw new BufferExhaustedException("buffer.memory (" + totalBytes + " bytes) stayed full for "
                            + maxBlockMs + " ms (max.block.ms); the record was not sent");
                }
                leftNanos = mine.awaitNanos(leftNanos);
            }
        } finally {
            waiters.remove(mine);
            Condition next = waiters.peekFirst();
            if (next != null) {
                next.signal();
            }
        }
    }

    /** Takes sizeBytes from the unpooled budget, releasing pooled buffers into it as needed. */
    private void reserve(int sizeBytes) {
        while (unpooledAvailable < sizeBytes) {
            free.pollLast();
            unpooledAvailable += poolableSizeBytes;
        }
        unpooledAvailable -= sizeBytes;
    }

    /** Returns a buffer obtained from {@link #allocate}; its contents are discarded. */
    public void deallocate(ByteBuffer buffer) {
        lock.lock();
        try {
            if (buffer.capacity() == poolableSizeBytes) {
                buffer.clear();
                free.addLast(buffer);
            } else {
                unpooledAvailable += buffer.capacity();
            }
            Condition next = waiters.peekFirst();
            if (next != null) {
                next.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Bytes that could be allocated now without waiting. */
    public long availableBytes() {
        lock.lock();
        try {
            return free.size() * (long) poolableSizeBytes + unpooledAvailable;
        } finally {
            lock.unlock();
        }
    }

    /** Threads blocked waiting for memory. */
    public int waitingThreads() {
        lock.lock();
        try {
            return waiters.size();
        } finally {
            lock.unlock();
        }
    }

    public long totalBytes() {
        return totalBytes;
    }

    public int poolableSizeBytes() {
        return poolableSizeBytes;
    }

    /** Wakes and fails every waiter; later allocations fail too. */
    public void close() {
        lock.lock();
        try {
            closed = true;
            waiters.forEach(Condition::signal);
        } finally {
            lock.unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("producer is closed");
        }
    }
}

package dev.basalt.client.internal;

import dev.basalt.client.BasaltException;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.record.Header;
import dev.basalt.record.RecordBatchBuilder;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Per-partition queues of {@link ProducerBatch}es between the threads that call
 * {@code send()} and the sender thread. A partition's batch is ready to send when it is full,
 * when it has waited linger.ms (or its retry backoff), when a flush or close is in progress,
 * or when other threads are blocked waiting for buffer memory.
 *
 * <p>Order: a partition has at most one request in flight (it is muted from drain until its
 * answer is handled), and a batch to retry is put back at the head of its queue before the
 * partition is unmuted (both on the sender thread), so it goes before any later batch of the
 * partition, to whichever broker leads it by then. Concurrent gRPC calls to one broker may be served in any order, so
 * pipelining requests of one partition could reorder them. Instead, one request may carry
 * several consecutive full batches of a partition (the protocol appends a partition's batches in
 * order, all or none), so a busy partition is not limited to one batch per round trip.
 *
 * <p>Time comes in as {@code nowMs} (monotonic), so linger and expiry are tested with a fake
 * clock. Memory comes from a {@link BufferPool}; the only blocking call is {@link #append},
 * which blocks outside the lock while memory is exhausted.
 *
 * <p>Thread-safety: thread-safe; the deques are guarded by one lock.
 */
public final class RecordAccumulator {
    /** Outcome of an append: the future, or "aborted" when a sticky caller should switch partition. */
    public record AppendResult(CompletableFuture<RecordMetadata> future, boolean batchIsFull, boolean newBatchCreated,
                               boolean abortedForNewBatch) {
    }

    /**
     * Where partitions are led, as the sender's current metadata says. A functional interface
     * so tests can pass {@code tp -> 1}; without epochs a retry always waits its full backoff.
     */
    @FunctionalInterface
    public interface LeaderView {
        /** The leader's broker id, or -1 when unknown. */
        int leaderFor(TopicPartition tp);

        /** The leader epoch, or -1 when unknown. */
        default int leaderEpochFor(TopicPartition tp) {
            return -1;
        }

        /** The largest batch the partition's leader accepts (its topic's max.message.bytes), 0 if not known. */
        default int batchBytesMaxFor(TopicPartition tp) {
            return 0;
        }
    }

    /**
     * Which leaders have sendable data, and when to look again. awaitingNewLeader: some
     * partition's head batch was refused for leadership and waits for metadata naming a newer
     * leader (the sender keeps refreshing then, so the retry does not wait its whole backoff).
     */
    public record ReadyCheck(Set<Integer> readyNodes, long nextCheckDelayMs, Set<String> unknownLeaderTopics,
                             boolean awaitingNewLeader) {
    }

    private final BufferPool pool;
    private final int batchSizeBytes;
    private final long lingerMs;
    private final long deliveryTimeoutMs;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<TopicPartition, Deque<ProducerBatch>> batches = new LinkedHashMap<>();
    private final Set<ProducerBatch> incomplete = new HashSet<>();
    /** Told of every split (the producer's batch-split-total). */
    private volatile Runnable onSplit = () -> { };
    private final Map<Integer, Integer> drainIndex = new HashMap<>();
    /** Partitions with a batch in flight: gRPC may run concurrent calls in any order, so one at a time keeps order. */
    private final Set<TopicPartition> muted = new HashSet<>();
    private int flushesInProgress;
    private boolean closing;

    public RecordAccumulator(BufferPool pool, int batchSizeBytes, long lingerMs, long deliveryTimeoutMs) {
        this.pool = pool;
        this.batchSizeBytes = batchSizeBytes;
        this.lingerMs = lingerMs;
        this.deliveryTimeoutMs = deliveryTimeoutMs;
    }

    /**
     * Appends a record to the partition's open batch, opening a new one (allocating its buffer,
     * which may block up to maxBlockMs) when needed.
     *
     * @param abortOnNewBatch return {@code abortedForNewBatch} instead of opening a new batch
     *                        (the sticky partitioner then switches partition and calls again)
     */
    public AppendResult append(TopicPartition tp, long timestamp, byte[] key, byte[] value, List<Header> headers,
                               long maxBlockMs, boolean abortOnNewBatch, long nowMs) throws InterruptedException {
        return append(tp, timestamp, key, value, headers, maxBlockMs, abortOnNewBatch, 0, nowMs);
    }

    /**
     * @param batchBytesMax the largest batch the partition's leader accepts (the topic's
     *                      max.message.bytes from the metadata), 0 if not known; see
     *                      {@link ProducerBatch#ProducerBatch(TopicPartition, ByteBuffer, int, int, long)}
     */
    public AppendResult append(TopicPartition tp, long timestamp, byte[] key, byte[] value, List<Header> headers,
                               long maxBlockMs, boolean abortOnNewBatch, int batchBytesMax, long nowMs) throws InterruptedException {
        lock.lock();
        try {
            ensureOpen();
            AppendResult r = tryAppendToLast(tp, timestamp, key, value, headers);
            if (r != null) {
                return r;
            }
            if (abortOnNewBatch) {
                return new AppendResult(null, false, false, true);
            }
        } finally {
            lock.unlock();
        }
        // a topic whose limit is below batch.size gets buffers of its limit (unpooled): a pooled
        // batch.size buffer would hold buffer.memory hostage for bytes it can never fill
        int usable = batchBytesMax > 0 ? Math.min(batchSizeBytes, batchBytesMax) : batchSizeBytes;
        int size = Math.max(usable, RecordBatchBuilder.estimateBatchSizeBytes(key, value, headers));
        ByteBuffer buffer = pool.allocate(size, maxBlockMs);
        boolean used = false;
        lock.lock();
        try {
            ensureOpen();
            AppendResult r = tryAppendToLast(tp, timestamp, key, value, headers);
            if (r != null) {
                return r;
            }
            ProducerBatch batch = new ProducerBatch(tp, buffer, batchSizeBytes, batchBytesMax, nowMs);
            CompletableFuture<RecordMetadata> f = batch.tryAppend(timestamp, key, value, headers);
            if (f == null) {
                throw new IllegalStateException("a fresh batch of " + size + " bytes could not take its first record");
            }
            batches.computeIfAbsent(tp, k -> new ArrayDeque<>()).addLast(batch);
            incomplete.add(batch);
            used = true;
            Deque<ProducerBatch> dq = batches.get(tp);
            return new AppendResult(f, dq.size() > 1 || batch.isFull(), true, false);
        } finally {
            lock.unlock();
            if (!used) {
                pool.deallocate(buffer);
            }
        }
    }

    private AppendResult tryAppendToLast(TopicPartition tp, long timestamp, byte[] key, byte[] value, List<Header> headers) {
        Deque<ProducerBatch> dq = batches.get(tp);
        if (dq == null || dq.isEmpty()) {
            return null;
        }
        ProducerBatch last = dq.peekLast();
        if (last.attempts() > 0) {
            return null; // a retried batch is closed; new records go to a new batch behind it
        }
        CompletableFuture<RecordMetadata> f = last.tryAppend(timestamp, key, value, headers);
        if (f == null) {
            return null;
        }
        return new AppendResult(f, dq.size() > 1 || last.isFull(), false, false);
    }

    /**
     * Finds the leaders that have at least one sendable batch.
     *
     * @param leaderOf partition → leader broker id, or -1 when unknown
     */
    public ReadyCheck ready(LeaderView leaderOf, long nowMs) {
        Set<Integer> nodes = new HashSet<>();
        Set<String> unknown = new HashSet<>();
        long next = Long.MAX_VALUE;
        boolean awaitingNewLeader = false;
        lock.lock();
        try {
            boolean exhausted = pool.waitingThreads() > 0;
            for (Map.Entry<TopicPartition, Deque<ProducerBatch>> e : batches.entrySet()) {
                ProducerBatch first = e.getValue().peekFirst();
                if (first == null || muted.contains(e.getKey())) {
                    continue;
                }
                boolean backingOff = backingOff(e.getKey(), first, leaderOf, nowMs);
                if (backingOff) {
                    next = Math.min(next, first.retryAfterMs() - nowMs);
                    awaitingNewLeader |= first.refusedByLeaderEpoch() >= 0;
                    continue;
                }
                int leader = leaderOf.leaderFor(e.getKey());
                if (leader < 0) {
                    unknown.add(e.getKey().topic());
                    continue;
                }
                long waited = nowMs - (first.attempts() > 0 ? first.retryAfterMs() : first.createdMs());
                boolean sendable = e.getValue().size() > 1 || first.isFull() || first.attempts() > 0 || waited >= lingerMs
                        || exhausted || closing || flushesInProgress > 0;
                if (sendable) {
                    nodes.add(leader);
                } else {
                    next = Math.min(next, lingerMs - waited);
                }
            }
        } finally {
            lock.unlock();
        }
        return new ReadyCheck(nodes, next, unknown, awaitingNewLeader);
    }

    /**
     * Takes sendable batches of the partitions led by each given node, closing them, up to
     * requestSizeBytesMax per node (a single batch larger than that still goes alone): the head
     * batch of each partition, then further batches of the same partition if they are full (or a
     * flush or close is in progress). Starts each node's scan where the last one stopped, so no
     * partition starves. Returned batches of one partition are in queue order.
     */
    public Map<Integer, List<ProducerBatch>> drain(LeaderView leaderOf,
                                                   Set<Integer> nodes, int requestSizeBytesMax, long nowMs) {
        return drain(leaderOf, nodes, requestSizeBytesMax, nowMs, null);
    }

    /**
     * The same for an idempotent producer ({@code idem} non-null): each batch taken for the first
     * time is stamped with the partition's next sequence; a partition whose head batch has no
     * sequence yet is skipped while {@link IdempotenceState#mayStamp()} is false; and a retried
     * batch travels alone (so a payload is all retries of stored batches or all new, which the
     * leader requires). A payload of new batches may hold any number of them: the leader stores it
     * as one run and recognises a retry of any batch inside its producer's last 5 runs.
     */
    public Map<Integer, List<ProducerBatch>> drain(LeaderView leaderOf, Set<Integer> nodes, int requestSizeBytesMax, long nowMs,
                                                   IdempotenceState idem) {
        Map<Integer, List<ProducerBatch>> out = new HashMap<>();
        lock.lock();
        try {
            List<TopicPartition> parts = new ArrayList<>(batches.keySet());
            if (parts.isEmpty()) {
                return out;
            }
            for (int node : nodes) {
                List<ProducerBatch> taken = drainNode(node, parts, leaderOf, requestSizeBytesMax, nowMs, idem);
                if (!taken.isEmpty()) {
                    out.put(node, taken);
                }
            }
        } finally {
            lock.unlock();
        }
        return out;
    }

    private List<ProducerBatch> drainNode(int node, List<TopicPartition> parts, LeaderView leaderOf,
                                          int requestSizeBytesMax, long nowMs, IdempotenceState idem) {
        int start = drainIndex.getOrDefault(node, 0) % parts.size();
        int[] sizeBytes = {0};
        List<ProducerBatch> taken = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            TopicPartition tp = parts.get((start + i) % parts.size());
            if (leaderOf.leaderFor(tp) != node || muted.contains(tp)) {
                continue;
            }
            Deque<ProducerBatch> dq = batches.get(tp);
            ProducerBatch first = dq.peekFirst();
            if (first == null || backingOff(tp, first, leaderOf, nowMs)) {
                continue;
            }
            if (idem != null && !first.hasSequence() && !idem.mayStamp()) {
                continue; // waits for the producer id or an epoch bump
            }
            if (!taken.isEmpty() && sizeBytes[0] + first.sizeInBytes() > requestSizeBytesMax) {
                drainIndex.put(node, (start + i) % parts.size());
                break;
            }
            takeFrom(tp, dq, taken, sizeBytes, requestSizeBytesMax, nowMs, leaderOf, idem);
        }
        return taken;
    }

    /**
     * A retried batch waits out its backoff, except after a leadership error once the metadata
     * shows a newer leader than the one that refused it: the new leader has had no chance to
     * fail yet, and waiting would only add to the failover time (KIP-951's reasoning).
     */
    private static boolean backingOff(TopicPartition tp, ProducerBatch first, LeaderView leaderOf, long nowMs) {
        if (first.attempts() == 0 || first.retryAfterMs() <= nowMs) {
            return false;
        }
        int refusedBy = first.refusedByLeaderEpoch();
        return refusedBy < 0 || leaderOf.leaderEpochFor(tp) <= refusedBy;
    }

    /** Takes the head batch and the following full ones that fit, muting the partition. */
    private void takeFrom(TopicPartition tp, Deque<ProducerBatch> dq, List<ProducerBatch> taken, int[] sizeBytes,
                          int requestSizeBytesMax, long nowMs, LeaderView leaderOf, IdempotenceState idem) {
        boolean everything = flushesInProgress > 0 || closing;
        boolean firstTaken = false;
        int leaderEpoch = leaderOf.leaderEpochFor(tp);
        int batchBytesMax = leaderOf.batchBytesMaxFor(tp);
        while (!dq.isEmpty()) {
            ProducerBatch b = dq.peekFirst();
            if (firstTaken && (b.attempts() > 0 || b.travelsAlone() || taken.get(taken.size() - 1).travelsAlone()
                    || !(b.isFull() || everything) || sizeBytes[0] + b.sizeInBytes() > requestSizeBytesMax)) {
                break;
            }
            if (firstTaken && idem != null && (taken.get(taken.size() - 1).attempts() > 1
                    || (!b.hasSequence() && !idem.mayStamp()))) {
                break; // a retried batch travels alone; nothing unstamped during a bump
            }
            dq.pollFirst();
            if (b.attempts() == 0 && !b.hasSequence() && batchBytesMax > 0 && b.sizeInBytes() > batchBytesMax
                    && b.recordCount() > 1) {
                // built before the topic's max.message.bytes was lowered: sent as parts that fit,
                // rather than refused by the leader (and, for an idempotent producer, an epoch bump)
                b.close();
                split(b, batchBytesMax);
                continue;
            }
            if (idem != null && !b.hasSequence()) {
                idem.stamp(b);
            }
            b.close();
            b.onSend(nowMs, leaderEpoch);
            taken.add(b);
            sizeBytes[0] += b.sizeInBytes();
            firstTaken = true;
        }
        muted.add(tp);
    }

    /** The partition's in-flight batch was answered: its next batch may be sent. */
    public void unmute(TopicPartition tp) {
        lock.lock();
        try {
            muted.remove(tp);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Puts a batch that will be retried back at the head of its partition's queue. Batches of one
     * partition must be re-enqueued last first, so that they keep their order.
     */
    public void reenqueue(ProducerBatch batch) {
        lock.lock();
        try {
            batches.computeIfAbsent(batch.partition(), k -> new ArrayDeque<>()).addFirst(batch);
        } finally {
            lock.unlock();
        }
    }

    /** Removes and returns queued (not in-flight) batches older than delivery.timeout.ms. */
    public List<ProducerBatch> expire(long nowMs) {
        List<ProducerBatch> out = new ArrayList<>();
        lock.lock();
        try {
            for (Deque<ProducerBatch> dq : batches.values()) {
                while (!dq.isEmpty() && !withinDeliveryTimeout(dq.peekFirst(), nowMs)) {
                    out.add(dq.pollFirst());
                }
            }
        } finally {
            lock.unlock();
        }
        return out;
    }

    /** Removes and returns every queued (not in-flight) batch of {@code topic}, oldest first per partition. */
    public List<ProducerBatch> removeTopic(String topic) {
        List<ProducerBatch> out = new ArrayList<>();
        lock.lock();
        try {
            for (Map.Entry<TopicPartition, Deque<ProducerBatch>> e : batches.entrySet()) {
                if (e.getKey().topic().equals(topic)) {
                    out.addAll(e.getValue());
                    e.getValue().clear();
                }
            }
        } finally {
            lock.unlock();
        }
        return out;
    }

    /** When the batch's delivery time is up: delivery.timeout.ms after it was created (its first record's send). */
    public long deliveryDeadlineMs(ProducerBatch b) {
        return b.createdMs() + deliveryTimeoutMs;
    }

    /** True if a batch created at createdMs may still be tried again at nowMs. */
    public boolean withinDeliveryTimeout(ProducerBatch b, long nowMs) {
        return nowMs - b.createdMs() < deliveryTimeoutMs;
    }

    /** Completes a batch's bookkeeping and returns its memory. Call exactly once per batch. */
    public void deallocate(ProducerBatch batch) {
        ByteBuffer release;
        lock.lock();
        try {
            if (!incomplete.remove(batch)) {
                throw new IllegalStateException("batch for " + batch.partition() + " deallocated twice");
            }
            release = batch.releasePart();
        } finally {
            lock.unlock();
        }
        if (release != null) {
            pool.deallocate(release);
        }
    }

    /** Runs on every split (the producer's batch-split-total). */
    public void onSplit(Runnable r) {
        this.onSplit = java.util.Objects.requireNonNull(r);
    }

    /**
     * Replaces a batch too large for its topic's limit (refused by the leader, or found at drain)
     * by its parts ({@link ProducerBatch#split(int)}), queued at the head of its partition's queue
     * in order, to be sent at once. The batch must not be in the queue. It is no longer tracked;
     * its memory is released with its last part.
     */
    public List<ProducerBatch> split(ProducerBatch batch, int partBytesMax) {
        List<ProducerBatch> parts = batch.split(partBytesMax);
        onSplit.run();
        lock.lock();
        try {
            if (!incomplete.remove(batch)) {
                throw new IllegalStateException("batch for " + batch.partition() + " split after it was released");
            }
            incomplete.addAll(parts);
            Deque<ProducerBatch> dq = batches.computeIfAbsent(batch.partition(), k -> new ArrayDeque<>());
            for (int i = parts.size() - 1; i >= 0; i--) {
                dq.addFirst(parts.get(i));
            }
        } finally {
            lock.unlock();
        }
        return parts;
    }

    /** Makes every batch sendable until {@link #endFlush()}; returns the batches to wait for. */
    public List<CompletableFuture<Void>> beginFlush() {
        lock.lock();
        try {
            flushesInProgress++;
            List<CompletableFuture<Void>> out = new ArrayList<>();
            incomplete.forEach(b -> out.add(b.doneFuture()));
            return out;
        } finally {
            lock.unlock();
        }
    }

    public void endFlush() {
        lock.lock();
        try {
            flushesInProgress--;
        } finally {
            lock.unlock();
        }
    }

    /** From now on every batch is sendable at once and no append is accepted. */
    public void beginClose() {
        lock.lock();
        try {
            closing = true;
        } finally {
            lock.unlock();
        }
    }

    /** True while some batch is queued or in flight. */
    public boolean hasIncomplete() {
        lock.lock();
        try {
            return !incomplete.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** Removes every queued batch (close without waiting); in-flight ones are left to the sender. */
    public List<ProducerBatch> drainAllQueued() {
        List<ProducerBatch> out = new ArrayList<>();
        lock.lock();
        try {
            batches.values().forEach(out::addAll);
            batches.clear();
        } finally {
            lock.unlock();
        }
        return out;
    }

    /** Fails and frees every queued batch. */
    public void abortQueued(BasaltException error) {
        for (ProducerBatch b : drainAllQueued()) {
            b.fail(error);
            deallocate(b);
        }
    }

    private void ensureOpen() {
        if (closing) {
            throw new IllegalStateException("producer is closing");
        }
    }
}

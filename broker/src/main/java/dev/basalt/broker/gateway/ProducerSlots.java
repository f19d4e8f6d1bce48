package dev.basalt.broker.gateway;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * The gateway's own idempotent producers, so that its retries never write a record twice.
 *
 * <p>Problem: the gateway resends a partition's batch when the leader moves or cannot be reached
 * mid-call; a batch without a producer id that the old leader had appended (and that its
 * followers had, so the new leader keeps it) was then appended again, and the thin client was
 * answered NONE for a request whose records are in the log twice (records.proto promises each
 * partition's records once per answered request).
 *
 * <p>Method: every forwarded batch carries a producer id, epoch 0 and the next sequence of a
 * <em>slot</em> leased for the whole call, retries included; the leader then answers a resend of
 * a batch it already holds DUPLICATE_SEQUENCE with its offset instead of appending it again
 * (produce.proto). A slot serves one call at a time, so its sequences never interleave and a slot
 * needs none of the client producer's in-flight bookkeeping. Each partition has at most
 * {@code slotsMax} slots (so at most that many calls of this broker in flight to it, and as many
 * producer ids in its producer state); calls beyond wait in line, at most {@code waitersMax}.
 * A slot whose last batch has an unknown outcome cannot know its next sequence: it moves to the
 * next epoch at sequence 0 (KIP-360's bump: the leader accepts it, and a stale copy of the old
 * epoch's batch arriving later is refused as fenced), keeping the partition's producer ids few;
 * at the last epoch, or when the leader holds a newer epoch of the id than the slot's (FENCED), it
 * is retired and a fresh producer id takes its place.
 *
 * <p>Thread-safety: thread-safe; futures complete outside the lock. No I/O, no clock.
 */
final class ProducerSlots {
    /** How a slot's call ended. */
    enum Outcome {
        /** The batch is in the log (NONE or DUPLICATE_SEQUENCE): the slot's sequence moves past it. */
        APPENDED,
        /** Nothing of the batch was appended by any attempt: the sequence stays. */
        NOT_APPENDED,
        /** Some attempt may have appended it: the slot moves to its next epoch at sequence 0. */
        UNKNOWN,
        /** The leader holds a newer epoch of the slot's producer id (not this slot's doing): the slot is retired. */
        FENCED
    }

    /** The last epoch a slot uses; past it, a fresh producer id (as InitProducerId's EPOCH_MAX). */
    static final short EPOCH_MAX = Short.MAX_VALUE - 1;

    /** A leased producer id, its epoch and its next sequence in one partition. */
    static final class Slot {
        final long producerId;
        private short epoch;
        private int nextSequence;

        private Slot(long producerId) {
            this.producerId = producerId;
        }

        int nextSequence() {
            return nextSequence;
        }

        short epoch() {
            return epoch;
        }
    }

    /** A partition's slots are all busy and its line is full. */
    static final class SlotsExhaustedException extends RuntimeException {
        SlotsExhaustedException(String message) {
            super(message);
        }
    }

    /** The highest sequence a slot starts a batch at; beyond it, the next epoch at sequence 0 (no wrap to handle). */
    static final int SEQUENCE_RETIRE_AT = Integer.MAX_VALUE / 2;

    private record Key(String topic, int partition) {
    }

    private static final class Pool {
        final ArrayDeque<Slot> idle = new ArrayDeque<>();
        final ArrayDeque<CompletableFuture<Slot>> waiters = new ArrayDeque<>();
        int live; // slots leased, idle or being created
    }

    private final Supplier<CompletableFuture<Long>> producerIds;
    private final int slotsMax;
    private final int waitersMax;
    private final Map<Key, Pool> pools = new HashMap<>(); // guarded by this

    /** @param producerIds hands out unused producer ids (the broker's ProducerIdManager) */
    ProducerSlots(Supplier<CompletableFuture<Long>> producerIds, int slotsMax, int waitersMax) {
        if (slotsMax < 1 || waitersMax < 0) {
            throw new IllegalArgumentException("slotsMax " + slotsMax + ", waitersMax " + waitersMax);
        }
        this.producerIds = producerIds;
        this.slotsMax = slotsMax;
        this.waitersMax = waitersMax;
    }

    /**
     * A slot of the partition for one call: an idle one, a new one, or the next one released
     * (in the order asked). Fails with {@link SlotsExhaustedException} if the line is full, or
     * with the producer-id source's error.
     */
    CompletableFuture<Slot> acquire(String topic, int partition) {
        Pool pool;
        synchronized (this) {
            pool = pools.computeIfAbsent(new Key(topic, partition), k -> new Pool());
            Slot s = pool.idle.pollFirst();
            if (s != null) {
                return CompletableFuture.completedFuture(s);
            }
            if (pool.live >= slotsMax) {
                if (pool.waiters.size() >= waitersMax) {
                    return CompletableFuture.failedFuture(new SlotsExhaustedException(slotsMax + " calls of this broker in flight to "
                            + topic + "-" + partition + " and " + pool.waiters.size() + " waiting"));
                }
                CompletableFuture<Slot> f = new CompletableFuture<>();
                pool.waiters.addLast(f);
                return f;
            }
            pool.live++;
        }
        return create(pool);
    }

    /**
     * Ends a call: the slot (at its next sequence, or after an unknown outcome at its next epoch)
     * goes to the next call in line or back to idle; retired (FENCED, or past the last epoch), a
     * fresh producer id takes its place for the next in line.
     */
    void release(Slot slot, Outcome outcome, int recordCount, String topic, int partition) {
        CompletableFuture<Slot> next;
        Pool pool;
        boolean replace = false;
        synchronized (this) {
            pool = pools.get(new Key(topic, partition));
            if (pool == null) {
                throw new IllegalStateException("no slots for " + topic + "-" + partition);
            }
            if (outcome == Outcome.APPENDED) {
                slot.nextSequence += recordCount;
            }
            boolean reset = outcome == Outcome.UNKNOWN || slot.nextSequence > SEQUENCE_RETIRE_AT;
            boolean retire = outcome == Outcome.FENCED || (reset && slot.epoch >= EPOCH_MAX);
            if (reset && !retire) {
                slot.epoch++;
                slot.nextSequence = 0;
            }
            next = pool.waiters.pollFirst();
            if (retire) {
                if (next != null) {
                    replace = true; // live stays: the new slot takes the retired one's place
                } else {
                    pool.live--;
                }
            } else if (next == null) {
                pool.idle.addLast(slot);
            }
        }
        if (next == null) {
            return;
        }
        if (replace) {
            create(pool).whenComplete((s, t) -> {
                if (t != null) {
                    next.completeExceptionally(t);
                } else {
                    next.complete(s);
                }
            });
        } else {
            next.complete(slot);
        }
    }

    /**
     * Takes a call waiting in line out of it (its timeout passed): true if it was still waiting,
     * false if a slot was handed to it meanwhile (the caller then releases that slot).
     */
    boolean abandon(String topic, int partition, CompletableFuture<Slot> waiting) {
        synchronized (this) {
            Pool pool = pools.get(new Key(topic, partition));
            if (pool == null || !pool.waiters.remove(waiting)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Drops the pools of topics {@code exists} no longer names (deleted) whose slots are all idle
     * and whose line is empty: nothing of them is used again (a topic made again under the name
     * gets new pools), and a broker that outlives many short-lived topics keeps no pool of theirs.
     * A pool with a call in flight stays until the next sweep. Returns how many pools were dropped.
     */
    synchronized int forgetIdle(java.util.function.Predicate<String> exists) {
        int dropped = 0;
        for (var it = pools.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Key, Pool> e = it.next();
            Pool p = e.getValue();
            if (!exists.test(e.getKey().topic()) && p.waiters.isEmpty() && p.idle.size() == p.live) {
                it.remove();
                dropped++;
            }
        }
        return dropped;
    }

    /** Slots in use or idle for the partition (a test's view). */
    synchronized int live(String topic, int partition) {
        Pool p = pools.get(new Key(topic, partition));
        return p == null ? 0 : p.live;
    }

    /** A new slot with a fresh producer id; if none comes, its place in the pool is given up. */
    private CompletableFuture<Slot> create(Pool pool) {
        CompletableFuture<Long> id;
        try {
            id = producerIds.get();
        } catch (RuntimeException e) {
            id = CompletableFuture.failedFuture(e);
        }
        return id.handle((pid, t) -> {
            if (t != null) {
                List<CompletableFuture<Slot>> failed;
                synchronized (this) {
                    pool.live--;
                    // no id now: the calls in line fail too (and retry after their back-off), none waits on a slot never made
                    failed = List.copyOf(pool.waiters);
                    pool.waiters.clear();
                }
                failed.forEach(w -> w.completeExceptionally(t));
                throw t instanceof CompletionException ce ? ce : new CompletionException(t);
            }
            return new Slot(pid);
        });
    }
}

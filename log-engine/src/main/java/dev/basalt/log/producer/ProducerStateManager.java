package dev.basalt.log.producer;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The idempotent-producer state of one partition (KIP-98's per-partition sequence rules, KIP-360's
 * epoch bump) and the rules a leader applies to each incoming batch. Pure: no I/O, no clock (time
 * comes in as {@code nowMs}), no threads.
 *
 * <h2>Rules (leader; {@link LeaderAppend#check})</h2>
 * For a batch of producer {@code p} with epoch {@code e} and sequences {@code [s, t]}:
 * <ol>
 *   <li>{@code p} unknown here (new, or its state expired or was evicted): accepted at any {@code s}
 *       (KIP-360: the state may be gone while the producer lives; refusing would make it unusable).</li>
 *   <li>{@code e} older than p's epoch: {@link InvalidProducerEpochException}.</li>
 *   <li>{@code e} newer than p's epoch (an epoch bump): {@code s} must be 0, else
 *       {@link OutOfOrderSequenceException}; the batch window restarts.</li>
 *   <li>same epoch and {@code [s, t]} inside one of p's last {@value #RUNS_PER_PRODUCER} runs of
 *       batches stored back to back (at least its last 5 batches): a duplicate, answered with the
 *       offsets those records got, nothing appended.</li>
 *   <li>same epoch and {@code s} = last sequence + 1 (wrapping): appended.</li>
 *   <li>otherwise: {@link OutOfOrderSequenceException} (a gap, or a retry older than the window).</li>
 * </ol>
 * Followers and recovery ({@link #replay}) apply the leader's decisions without checking them, so
 * every replica holding the same log prefix builds the same state.
 *
 * <h2>Bounds</h2>
 * At most {@code producersMax} producers are kept: taking in one more evicts the one with the
 * oldest last timestamp (ties: the smaller id), the producer least likely to retry; evictions are
 * counted. {@link #removeExpired} drops producers idle for {@code producer.id.expiration.ms}.
 *
 * <p>Thread-safety: not thread-safe. The partition log calls it under its append lock.
 */
public final class ProducerStateManager {
    /**
     * Runs of batches remembered per producer (see {@link ProducerStateEntry}): at least the last 5
     * batches, Kafka's window, and every batch of the producer's last 5 payloads.
     */
    public static final int RUNS_PER_PRODUCER = 5;

    /** Orders eviction candidates: oldest last timestamp first, then the smaller id (deterministic). */
    private static final Comparator<ProducerStateEntry> IDLEST_FIRST = Comparator
            .comparingLong(ProducerStateEntry::lastTimestamp).thenComparingLong(ProducerStateEntry::producerId);

    private final int producersMax;
    private final Map<Long, ProducerStateEntry> producers = new HashMap<>();
    private long evictions;

    /** @param producersMax producers kept at most, >= 1 */
    public ProducerStateManager(int producersMax) {
        if (producersMax < 1) {
            throw new IllegalArgumentException("producersMax " + producersMax + " < 1");
        }
        this.producersMax = producersMax;
    }

    public Optional<ProducerStateEntry> entry(long producerId) {
        return Optional.ofNullable(producers.get(producerId));
    }

    /** Producers kept (the state-size metric). */
    public int size() {
        return producers.size();
    }

    /** Producers evicted because the bound was reached, since this manager was made. */
    public long evictions() {
        return evictions;
    }

    /** Every entry, by producer id (snapshots; deterministic order). */
    public List<ProducerStateEntry> entries() {
        List<ProducerStateEntry> out = new ArrayList<>(producers.values());
        out.sort(Comparator.comparingLong(ProducerStateEntry::producerId));
        return out;
    }

    /** Forgets everything (the log was emptied, or state is about to be rebuilt). */
    public void clear() {
        producers.clear();
    }

    /** Replaces the state with a snapshot's entries. */
    public void load(Collection<ProducerStateEntry> entries) {
        producers.clear();
        for (ProducerStateEntry e : entries) {
            put(e);
        }
    }

    /** The state as a snapshot at {@code offset} (the caller vouches that it covers exactly the batches below it). */
    public ProducerStateSnapshot snapshot(long offset) {
        return new ProducerStateSnapshot(offset, entries());
    }

    /**
     * Starts a rebuild from a snapshot (or from nothing): afterwards the caller {@link #replay}s every
     * batch from the snapshot's offset (or the log start) up to where the state must end.
     */
    public void restore(Optional<ProducerStateSnapshot> snapshot) {
        load(snapshot.map(ProducerStateSnapshot::entries).orElse(List.of()));
    }

    /**
     * Applies a batch already in the log (follower append, recovery, rebuild after truncation):
     * no validation, the leader decided. Batches without a producer id are ignored.
     */
    public void replay(long producerId, short epoch, int firstSeq, int recordCount, long firstOffset, long lastOffset,
                       long maxTimestamp) {
        if (producerId < 0 || epoch < 0 || firstSeq < 0) {
            return;
        }
        BatchMetadata batch = new BatchMetadata(firstSeq, Sequences.last(firstSeq, recordCount), firstOffset, lastOffset,
                maxTimestamp);
        ProducerStateEntry current = producers.get(producerId);
        put(current == null ? ProducerStateEntry.first(producerId, epoch, batch) : current.withBatch(epoch, batch));
    }

    /**
     * Drops producers whose last timestamp is at least {@code expirationMs} before {@code nowMs}.
     *
     * @return how many were dropped
     */
    public int removeExpired(long nowMs, long expirationMs) {
        int before = producers.size();
        producers.values().removeIf(e -> nowMs - e.lastTimestamp() >= expirationMs);
        return before - producers.size();
    }

    private void put(ProducerStateEntry e) {
        if (!producers.containsKey(e.producerId()) && producers.size() >= producersMax) {
            ProducerStateEntry idlest = null;
            for (ProducerStateEntry c : producers.values()) {
                if (idlest == null || IDLEST_FIRST.compare(c, idlest) < 0) {
                    idlest = c;
                }
            }
            producers.remove(idlest.producerId());
            evictions++;
        }
        producers.put(e.producerId(), e);
    }

    /** Starts checking one leader payload; nothing changes until {@link LeaderAppend#commit()}. */
    public LeaderAppend leaderAppend() {
        return new LeaderAppend();
    }

    /**
     * The checks of one payload (one or more batches appended together, all or none). Each batch is
     * checked against the state as the payload's earlier batches leave it. A payload is either all
     * duplicates of batches stored back to back, or all new: a mix is refused, because its answer
     * (one base offset) could not describe both. Not thread-safe; used under the log's append lock.
     */
    public final class LeaderAppend {
        private final Map<Long, ProducerStateEntry> updated = new HashMap<>();
        private int appended;
        private BatchMetadata firstDuplicate;
        private BatchMetadata lastDuplicate;

        private LeaderAppend() {
        }

        /**
         * Checks the next batch of the payload at the offsets it would get.
         *
         * @param producerId -1 for a batch of a non-idempotent producer (always appended)
         * @return empty to append the batch; the stored batch it duplicates otherwise
         * @throws InvalidProducerEpochException  rule 2
         * @throws OutOfOrderSequenceException    rules 3 and 6
         * @throws InvalidProducerBatchException  a mix of duplicates and new batches, or a producer id
         *                                        with a negative epoch or sequence
         */
        public Optional<BatchMetadata> check(long producerId, short epoch, int firstSeq, int recordCount, long firstOffset,
                                             long lastOffset, long maxTimestamp) {
            if (producerId < 0) {
                countAppend();
                return Optional.empty();
            }
            if (epoch < 0 || firstSeq < 0) {
                throw new InvalidProducerBatchException("batch of producer " + producerId + " has epoch " + epoch
                        + " and base sequence " + firstSeq + "; both must be >= 0");
            }
            int lastSeq = Sequences.last(firstSeq, recordCount);
            ProducerStateEntry current = updated.containsKey(producerId) ? updated.get(producerId) : producers.get(producerId);
            if (current != null) {
                if (epoch < current.epoch()) {
                    throw new InvalidProducerEpochException("producer " + producerId + " epoch " + epoch
                            + " is older than its latest epoch " + current.epoch());
                }
                if (epoch > current.epoch()) {
                    if (firstSeq != 0) {
                        throw new OutOfOrderSequenceException("producer " + producerId + " starts epoch " + epoch
                                + " at sequence " + firstSeq + ", not 0");
                    }
                } else {
                    Optional<BatchMetadata> dup = current.findBatch(firstSeq, lastSeq);
                    if (dup.isPresent()) {
                        countDuplicate(dup.get());
                        return dup;
                    }
                    if (firstSeq != Sequences.next(current.lastSeq())) {
                        throw new OutOfOrderSequenceException("producer " + producerId + " epoch " + epoch + " sent sequence "
                                + firstSeq + " but the next expected is " + Sequences.next(current.lastSeq()));
                    }
                }
            }
            countAppend();
            BatchMetadata batch = new BatchMetadata(firstSeq, lastSeq, firstOffset, lastOffset, maxTimestamp);
            updated.put(producerId, current == null ? ProducerStateEntry.first(producerId, epoch, batch)
                    : current.withBatch(epoch, batch));
            return Optional.empty();
        }

        private void countAppend() {
            if (firstDuplicate != null) {
                throw new InvalidProducerBatchException("a payload mixes retries of stored batches with new batches");
            }
            appended++;
        }

        private void countDuplicate(BatchMetadata dup) {
            if (appended > 0) {
                throw new InvalidProducerBatchException("a payload mixes new batches with retries of stored batches");
            }
            if (lastDuplicate != null && dup.firstOffset() != lastDuplicate.lastOffset() + 1) {
                throw new InvalidProducerBatchException("a payload retries batches that were not stored back to back ("
                        + lastDuplicate.lastOffset() + ", then " + dup.firstOffset() + ")");
            }
            if (firstDuplicate == null) {
                firstDuplicate = dup;
            }
            lastDuplicate = dup;
        }

        /** The first duplicate when the payload is all duplicates, else empty. */
        public Optional<BatchMetadata> firstDuplicate() {
            return Optional.ofNullable(firstDuplicate);
        }

        /** The last duplicate when the payload is all duplicates, else empty. */
        public Optional<BatchMetadata> lastDuplicate() {
            return Optional.ofNullable(lastDuplicate);
        }

        /** The payload was written: its batches become the producers' state. */
        public void commit() {
            List<ProducerStateEntry> in = new ArrayList<>(updated.values());
            in.sort(Comparator.comparingLong(ProducerStateEntry::producerId));
            for (ProducerStateEntry e : in) {
                put(e);
            }
            updated.clear();
        }
    }
}

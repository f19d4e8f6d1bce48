package dev.basalt.log.producer;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a partition knows about one idempotent producer: its latest epoch, the sequence ranges and
 * offsets of its last {@link ProducerStateManager#BATCHES_PER_PRODUCER} batches in that epoch
 * (oldest first), and the largest record timestamp it wrote (for expiry). Every value is derived
 * from batches in the log, so any replica that holds the same log prefix holds the same entry.
 *
 * <p>Immutable; thread-safe. An append makes a new entry ({@link #withBatch}).
 *
 * @param producerId    the producer id, >= 0
 * @param epoch         the latest producer epoch seen, >= 0
 * @param batches       the last batches of {@code epoch}, oldest first, 1..BATCHES_PER_PRODUCER
 * @param lastTimestamp largest max timestamp of the producer's batches (ms); drives expiry
 */
public record ProducerStateEntry(long producerId, short epoch, List<BatchMetadata> batches, long lastTimestamp) {
    public ProducerStateEntry {
        if (producerId < 0 || epoch < 0) {
            throw new IllegalArgumentException("producer " + producerId + " epoch " + epoch);
        }
        if (batches.isEmpty() || batches.size() > ProducerStateManager.BATCHES_PER_PRODUCER) {
            throw new IllegalArgumentException("producer " + producerId + " with " + batches.size() + " batches");
        }
        batches = List.copyOf(batches);
    }

    /** A producer's first batch (or first batch of a newer epoch). */
    static ProducerStateEntry first(long producerId, short epoch, BatchMetadata batch) {
        return new ProducerStateEntry(producerId, epoch, List.of(batch), batch.maxTimestamp());
    }

    /** The newest batch. */
    public BatchMetadata lastBatch() {
        return batches.get(batches.size() - 1);
    }

    /** Sequence of the newest record stored for this producer. */
    public int lastSeq() {
        return lastBatch().lastSeq();
    }

    /** The stored batch with exactly this sequence range, if any (a retry of it is a duplicate). */
    public Optional<BatchMetadata> findBatch(int firstSeq, int lastSeq) {
        for (BatchMetadata b : batches) {
            if (b.firstSeq() == firstSeq && b.lastSeq() == lastSeq) {
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    /**
     * This entry after {@code batch} of {@code batchEpoch} was stored: the same epoch appends to the
     * window (dropping the oldest beyond it); any other epoch starts a fresh window. A newer epoch is
     * a bump; an older one reaches here only by replay, when the leader that stored it had forgotten
     * the producer (expiry) and accepted it as new, so the replica forgets the older state too.
     */
    ProducerStateEntry withBatch(short batchEpoch, BatchMetadata batch) {
        long ts = Math.max(lastTimestamp, batch.maxTimestamp());
        if (batchEpoch != epoch) {
            return new ProducerStateEntry(producerId, batchEpoch, List.of(batch), ts);
        }
        List<BatchMetadata> next = new ArrayList<>(batches.size() + 1);
        int from = batches.size() == ProducerStateManager.BATCHES_PER_PRODUCER ? 1 : 0;
        next.addAll(batches.subList(from, batches.size()));
        next.add(batch);
        return new ProducerStateEntry(producerId, epoch, next, ts);
    }
}

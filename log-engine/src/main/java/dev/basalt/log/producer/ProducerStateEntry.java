package dev.basalt.log.producer;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a partition knows about one idempotent producer: its latest epoch, where its last
 * {@link ProducerStateManager#RUNS_PER_PRODUCER} runs of batches of that epoch are (oldest first),
 * and the largest record timestamp it wrote (for expiry). Every value is derived from batches in
 * the log, so any replica that holds the same log prefix holds the same entry.
 *
 * <h2>Runs</h2>
 * A run is one or more batches of the producer stored back to back: each next batch starts at the
 * sequence after the previous one's last and at the offset after its last offset. Inside a run a
 * record's offset is therefore {@code firstOffset + (seq - firstSeq)}, so one {@link BatchMetadata}
 * describes every batch of the run, and a retry of any batch inside it is recognised with its
 * original offsets. A payload the leader appends is always one run, and followers, which apply the
 * same rule to the same batches, form the same runs whatever their fetch boundaries. Keeping the
 * last 5 runs keeps at least the last 5 batches (Kafka's window), and any number of batches of a
 * payload in flight stays recognisable. A run never spans the wrap of sequences past
 * Integer.MAX_VALUE (a batch that wraps is a run of its own, recognised only as a whole).
 *
 * <p>Immutable; thread-safe. An append makes a new entry ({@link #withBatch}).
 *
 * @param producerId    the producer id, >= 0
 * @param epoch         the latest producer epoch seen, >= 0
 * @param batches       the last runs of {@code epoch}, oldest first, 1..RUNS_PER_PRODUCER
 * @param lastTimestamp largest max timestamp of the producer's batches (ms); drives expiry
 */
public record ProducerStateEntry(long producerId, short epoch, List<BatchMetadata> batches, long lastTimestamp) {
    public ProducerStateEntry {
        if (producerId < 0 || epoch < 0) {
            throw new IllegalArgumentException("producer " + producerId + " epoch " + epoch);
        }
        if (batches.isEmpty() || batches.size() > ProducerStateManager.RUNS_PER_PRODUCER) {
            throw new IllegalArgumentException("producer " + producerId + " with " + batches.size() + " runs");
        }
        batches = List.copyOf(batches);
    }

    /** A producer's first batch (or first batch of another epoch). */
    static ProducerStateEntry first(long producerId, short epoch, BatchMetadata batch) {
        return new ProducerStateEntry(producerId, epoch, List.of(batch), batch.maxTimestamp());
    }

    /** The newest run. */
    public BatchMetadata lastBatch() {
        return batches.get(batches.size() - 1);
    }

    /** Sequence of the newest record stored for this producer. */
    public int lastSeq() {
        return lastBatch().lastSeq();
    }

    private static boolean wraps(BatchMetadata b) {
        return b.firstSeq() > b.lastSeq();
    }

    /**
     * Where the records with sequences {@code firstSeq..lastSeq} are stored, if every one of them
     * is inside one remembered run (a retry of stored batches is a duplicate).
     */
    public Optional<BatchMetadata> findBatch(int firstSeq, int lastSeq) {
        for (BatchMetadata run : batches) {
            if (wraps(run) || firstSeq > lastSeq) {
                if (run.firstSeq() == firstSeq && run.lastSeq() == lastSeq) {
                    return Optional.of(run);
                }
                continue;
            }
            if (firstSeq >= run.firstSeq() && lastSeq <= run.lastSeq()) {
                long first = run.firstOffset() + (firstSeq - run.firstSeq());
                return Optional.of(new BatchMetadata(firstSeq, lastSeq, first, first + (lastSeq - firstSeq),
                        run.maxTimestamp()));
            }
        }
        return Optional.empty();
    }

    /**
     * This entry after {@code batch} of {@code batchEpoch} was stored: the same epoch extends the
     * newest run when the batch follows it back to back, else adds a run (dropping the oldest
     * beyond the window); any other epoch starts afresh. A newer epoch is a bump; an older one
     * reaches here only by replay, when the leader that stored it had forgotten the producer
     * (expiry) and accepted it as new, so the replica forgets the older state too.
     */
    ProducerStateEntry withBatch(short batchEpoch, BatchMetadata batch) {
        long ts = Math.max(lastTimestamp, batch.maxTimestamp());
        if (batchEpoch != epoch) {
            return new ProducerStateEntry(producerId, batchEpoch, List.of(batch), ts);
        }
        BatchMetadata last = lastBatch();
        List<BatchMetadata> next = new ArrayList<>(batches.size() + 1);
        boolean backToBack = !wraps(last) && !wraps(batch) && last.lastSeq() != Integer.MAX_VALUE
                && batch.firstSeq() == last.lastSeq() + 1 && batch.firstOffset() == last.lastOffset() + 1
                && batch.lastSeq() - batch.firstSeq() == batch.lastOffset() - batch.firstOffset();
        if (backToBack) {
            next.addAll(batches.subList(0, batches.size() - 1));
            next.add(new BatchMetadata(last.firstSeq(), batch.lastSeq(), last.firstOffset(), batch.lastOffset(),
                    Math.max(last.maxTimestamp(), batch.maxTimestamp())));
        } else {
            int from = batches.size() == ProducerStateManager.RUNS_PER_PRODUCER ? 1 : 0;
            next.addAll(batches.subList(from, batches.size()));
            next.add(batch);
        }
        return new ProducerStateEntry(producerId, epoch, next, ts);
    }
}

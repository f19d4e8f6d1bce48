package dev.basalt.log.producer;

/**
 * Where a run of an idempotent producer's records landed (one batch, or batches stored back to
 * back: see {@link ProducerStateEntry}): its sequence range and its offsets. The leader answers a
 * retry of records inside it with their offsets. Immutable; thread-safe.
 *
 * @param firstSeq     base sequence of the batch, 0..Integer.MAX_VALUE
 * @param lastSeq      sequence of its last record (wraps to 0 after Integer.MAX_VALUE)
 * @param firstOffset  offset of its first record
 * @param lastOffset   offset of its last record
 * @param maxTimestamp largest record timestamp of the batch (ms)
 */
public record BatchMetadata(int firstSeq, int lastSeq, long firstOffset, long lastOffset, long maxTimestamp) {
    public BatchMetadata {
        if (firstSeq < 0 || lastSeq < 0) {
            throw new IllegalArgumentException("negative sequence " + firstSeq + ".." + lastSeq);
        }
        if (lastOffset < firstOffset || firstOffset < 0) {
            throw new IllegalArgumentException("bad offsets " + firstOffset + ".." + lastOffset);
        }
    }
}

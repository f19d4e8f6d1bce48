package dev.basalt.broker.replica.sim;

import dev.basalt.log.EpochEndOffset;
import java.util.ArrayList;
import java.util.List;

/**
 * One replica's partition log, in memory: batches with offsets and leader epochs, the log end offset
 * (LEO), the flushed offset (what survives a power loss) and the checkpointed high watermark. The
 * leader-epoch cache is derived from the batches (the epoch of each batch and where it starts), so it
 * can never disagree with the log. The log starts at offset 0 (no retention in the simulation).
 * Not thread-safe; owned by one simulated broker, and it survives that broker's crashes (it is the disk).
 */
final class SimLog {
    /** No epoch: the log is empty, or nothing at or below the requested epoch. */
    static final int NO_EPOCH = EpochEndOffset.UNDEFINED_EPOCH;

    /**
     * An appended batch; {@code batchId} is unique in the run (the record's "value").
     *
     * @param baseOffset  offset of its first record
     * @param count       records in it, at least 1
     * @param leaderEpoch the epoch of the leader that appended it
     * @param batchId     identity of its contents
     */
    record Batch(long baseOffset, int count, int leaderEpoch, long batchId) {
        long nextOffset() {
            return baseOffset + count;
        }

        Batch at(long newBase) {
            return new Batch(newBase, count, leaderEpoch, batchId);
        }
    }

    private final ArrayList<Batch> batches = new ArrayList<>();
    private long flushedOffset;
    private long checkpointedHighWatermark;

    long logEndOffset() {
        return batches.isEmpty() ? 0 : batches.get(batches.size() - 1).nextOffset();
    }

    long flushedOffset() {
        return flushedOffset;
    }

    long checkpointedHighWatermark() {
        return checkpointedHighWatermark;
    }

    int latestEpoch() {
        return batches.isEmpty() ? NO_EPOCH : batches.get(batches.size() - 1).leaderEpoch();
    }

    int batchCount() {
        return batches.size();
    }

    List<Batch> batches() {
        return List.copyOf(batches);
    }

    void append(Batch b) {
        if (b.baseOffset() != logEndOffset()) {
            throw new IllegalStateException("append at " + b.baseOffset() + " but log end is " + logEndOffset());
        }
        if (b.leaderEpoch() < latestEpoch()) {
            throw new IllegalStateException("append of epoch " + b.leaderEpoch() + " after epoch " + latestEpoch());
        }
        if (b.count() < 1) {
            throw new IllegalArgumentException("empty batch " + b);
        }
        batches.add(b);
    }

    /** Index of the batch holding {@code offset}, or -1 when the log does not reach it. */
    private int indexOf(long offset) {
        int lo = 0;
        int hi = batches.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Batch b = batches.get(mid);
            if (offset < b.baseOffset()) {
                hi = mid - 1;
            } else if (offset >= b.nextOffset()) {
                lo = mid + 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /** The batch holding {@code offset}, or null. */
    Batch batchAt(long offset) {
        int i = indexOf(offset);
        return i < 0 ? null : batches.get(i);
    }

    /** Batches from {@code fromOffset} (a batch boundary or the log end), at most {@code batchesMax}. */
    List<Batch> read(long fromOffset, int batchesMax) {
        if (fromOffset == logEndOffset()) {
            return List.of();
        }
        int i = indexOf(fromOffset);
        if (i < 0 || batches.get(i).baseOffset() != fromOffset) {
            throw new IllegalArgumentException("read from " + fromOffset + ", not a batch boundary below "
                    + logEndOffset());
        }
        return List.copyOf(batches.subList(i, Math.min(batches.size(), i + batchesMax)));
    }

    /** Whether {@code offset} is a batch boundary (or the log end) of this log. */
    boolean isBoundary(long offset) {
        if (offset == logEndOffset()) {
            return true;
        }
        Batch b = batchAt(offset);
        return b != null && b.baseOffset() == offset;
    }

    /** Removes every batch from {@code offset} (a batch boundary) on. */
    void truncateTo(long offset) {
        if (offset >= logEndOffset()) {
            return;
        }
        if (!isBoundary(offset)) {
            throw new IllegalStateException("truncate to " + offset + ", inside a batch");
        }
        while (!batches.isEmpty() && batches.get(batches.size() - 1).baseOffset() >= offset) {
            batches.remove(batches.size() - 1);
        }
        flushedOffset = Math.min(flushedOffset, offset);
    }

    /** fsync: everything appended so far survives a power loss; the high watermark is checkpointed too. */
    void flush(long highWatermark) {
        flushedOffset = logEndOffset();
        checkpointedHighWatermark = Math.min(highWatermark, flushedOffset);
    }

    /** A power loss: what was not flushed is gone. */
    void loseUnflushed() {
        truncateTo(flushedOffset);
    }

    /**
     * The largest epoch at or below {@code epoch} in this log, and its end offset: where the next
     * higher epoch starts, or the log end when none does (KIP-101/279); {@link EpochEndOffset#UNDEFINED}
     * when the log has no such epoch (everything in it is of a higher epoch, or it is empty).
     */
    EpochEndOffset endOffsetForEpoch(int epoch) {
        for (int i = batches.size() - 1; i >= 0; i--) {
            Batch b = batches.get(i);
            if (b.leaderEpoch() <= epoch) {
                return new EpochEndOffset(b.leaderEpoch(), b.nextOffset()); // batches are contiguous
            }
        }
        return EpochEndOffset.UNDEFINED;
    }
}

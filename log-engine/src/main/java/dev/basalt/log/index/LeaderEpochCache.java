package dev.basalt.log.index;

import dev.basalt.log.EpochEndOffset;
import dev.basalt.log.StaleLeaderEpochException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The leader-epoch cache: for each leader epoch that wrote to this log, the first offset it
 * wrote (Kafka's LeaderEpochFileCache, KIP-101). Followers ask the leader
 * {@link #endOffsetFor} their latest epoch and truncate to the answer, so logs never diverge
 * after a leader change.
 *
 * <p>Invariant: epochs and start offsets are both strictly increasing. Persisted as part of
 * {@link PartitionState}; rebuilt from the batches' partitionLeaderEpoch field if lost.
 *
 * <p>Thread-safety: not thread-safe; the owning log guards it with its lock, except
 * {@link #epochAt}, which reads a snapshot republished by every change and may be called from any
 * thread. Pure: no I/O.
 */
public final class LeaderEpochCache {
    private final TreeMap<Integer, Long> epochs = new TreeMap<>();
    /** Start offsets and their epochs, both increasing: what {@link #epochAt} reads without the lock. */
    private volatile Snapshot snapshot = Snapshot.EMPTY;

    private record Snapshot(long[] starts, int[] epochs) {
        static final Snapshot EMPTY = new Snapshot(new long[0], new int[0]);
    }

    public LeaderEpochCache() {
    }

    public LeaderEpochCache(List<EpochEntry> entries) {
        for (EpochEntry e : entries) {
            assignFromLog(e.epoch(), e.startOffset());
        }
    }

    /**
     * The epoch that wrote {@code offset}: the one with the greatest start offset at or below it,
     * or -1 if none starts that early. Lock-free (a snapshot of the last change): a reader checks a
     * batch's epoch field, which its CRC does not cover, against it.
     */
    public int epochAt(long offset) {
        Snapshot s = snapshot;
        // The last entry starting at or below the offset: of two starting at one offset (a state
        // stored before assign replaced an epoch that wrote nothing), the newer wrote it.
        long[] starts = s.starts();
        int lo = 0;
        int hi = starts.length - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (starts[mid] <= offset) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found < 0 ? EpochEndOffset.UNDEFINED_EPOCH : s.epochs()[found];
    }

    /** Republishes the snapshot; every change calls it, under the owner's lock. */
    private boolean changed() {
        long[] starts = new long[epochs.size()];
        int[] values = new int[epochs.size()];
        int i = 0;
        for (Map.Entry<Integer, Long> e : epochs.entrySet()) {
            values[i] = e.getKey();
            starts[i++] = e.getValue();
        }
        snapshot = new Snapshot(starts, values);
        return true;
    }

    /** One epoch and the first offset it wrote. */
    public record EpochEntry(int epoch, long startOffset) {
    }

    /**
     * Records that {@code epoch} started writing at {@code startOffset} (an append, an election).
     * A repeat of the latest epoch at a later offset is no change; a newer epoch at the latest
     * one's start replaces it (it wrote nothing). Epochs only move forward: an
     * older epoch is refused, never "repaired" by dropping the newer one (its offsets may be
     * acknowledged); a log that must go back truncates first ({@link #truncateFromEnd}).
     *
     * @return true if the cache changed
     * @throws StaleLeaderEpochException if {@code epoch} is older than the latest epoch
     * @throws IllegalStateException if {@code startOffset} is before the latest epoch's start
     *         (offsets never go back without a truncation)
     */
    public boolean assign(int epoch, long startOffset) {
        checkNonNegative(epoch, startOffset);
        Map.Entry<Integer, Long> latest = epochs.lastEntry();
        if (latest == null) {
            epochs.put(epoch, startOffset);
            return changed();
        }
        if (epoch < latest.getKey()) {
            throw new StaleLeaderEpochException("the leader epoch cache " + this, epoch, latest.getKey());
        }
        if (startOffset < latest.getValue()) {
            throw new IllegalStateException("epoch " + epoch + " cannot start at " + startOffset + ", before epoch "
                    + latest.getKey() + " started at " + latest.getValue() + " (truncate first): " + this);
        }
        if (epoch == latest.getKey()) {
            return false;
        }
        // An epoch that wrote nothing (a leader elected again at the same log end, with no append
        // between) is replaced, as Kafka's cache does: two epochs starting at one offset made
        // epochAt name the older, and the first read of the newer's batches took them for damage.
        epochs.values().removeIf(start -> start >= startOffset);
        epochs.put(epoch, startOffset);
        return changed();
    }

    /**
     * Crash recovery only: a batch of {@code epoch} at {@code startOffset} was found in a segment,
     * the source of truth. If the epoch covering that offset is already {@code epoch} this is no
     * change; otherwise entries that conflict with the segment (same or larger epoch, or starting
     * at or after the batch) are replaced, because the segment's bytes outrank the cached state.
     *
     * @return true if the cache changed
     */
    public boolean assignFromLog(int epoch, long startOffset) {
        checkNonNegative(epoch, startOffset);
        Map.Entry<Integer, Long> covering = null;
        for (Map.Entry<Integer, Long> e : epochs.entrySet()) {
            if (e.getValue() <= startOffset) {
                covering = e;
            }
        }
        if (covering != null && covering.getKey() == epoch) {
            return false;
        }
        epochs.entrySet().removeIf(e -> e.getKey() >= epoch || e.getValue() >= startOffset);
        epochs.put(epoch, startOffset);
        return changed();
    }

    private static void checkNonNegative(int epoch, long startOffset) {
        if (epoch < 0 || startOffset < 0) {
            throw new IllegalArgumentException("epoch " + epoch + " / start offset " + startOffset + " negative");
        }
    }

    /** The latest epoch, or -1 if none. */
    public int latestEpoch() {
        return epochs.isEmpty() ? EpochEndOffset.UNDEFINED_EPOCH : epochs.lastKey();
    }

    /**
     * Kafka's OffsetForLeaderEpoch answer: for the current epoch the log end offset; for an older
     * one, the largest known epoch ≤ requested and the start offset of the next epoch; for an epoch
     * above every known one, or none known, {@link EpochEndOffset#UNDEFINED}. An epoch below the
     * earliest known returns (requested, start of the earliest).
     */
    public EpochEndOffset endOffsetFor(int requestedEpoch, long logEndOffset) {
        if (requestedEpoch == EpochEndOffset.UNDEFINED_EPOCH || epochs.isEmpty()) {
            return EpochEndOffset.UNDEFINED;
        }
        if (requestedEpoch == epochs.lastKey()) {
            return new EpochEndOffset(requestedEpoch, logEndOffset);
        }
        Map.Entry<Integer, Long> higher = epochs.higherEntry(requestedEpoch);
        if (higher == null) {
            return EpochEndOffset.UNDEFINED;
        }
        Map.Entry<Integer, Long> floor = epochs.floorEntry(requestedEpoch);
        if (floor == null) {
            return new EpochEndOffset(requestedEpoch, higher.getValue());
        }
        return new EpochEndOffset(floor.getKey(), higher.getValue());
    }

    /** After truncating the log to {@code endOffset}: epochs that started at or after it are gone. */
    public boolean truncateFromEnd(long endOffset) {
        return epochs.values().removeIf(start -> start >= endOffset) && changed();
    }

    /**
     * After the log start moved to {@code startOffset}: earlier epochs are dropped, and the epoch
     * covering {@code startOffset} now starts there.
     */
    public boolean truncateFromStart(long startOffset) {
        Map.Entry<Integer, Long> covering = null;
        for (Map.Entry<Integer, Long> e : epochs.entrySet()) {
            if (e.getValue() <= startOffset) {
                covering = e;
            }
        }
        if (covering == null || covering.getValue() == startOffset && covering.getKey().equals(epochs.firstKey())) {
            return false;
        }
        int keep = covering.getKey();
        epochs.headMap(keep, false).clear();
        epochs.put(keep, startOffset);
        return changed();
    }

    public void clear() {
        epochs.clear();
        changed();
    }

    public List<EpochEntry> entries() {
        List<EpochEntry> out = new ArrayList<>(epochs.size());
        epochs.forEach((k, v) -> out.add(new EpochEntry(k, v)));
        return out;
    }

    @Override
    public String toString() {
        return "LeaderEpochCache" + epochs;
    }
}

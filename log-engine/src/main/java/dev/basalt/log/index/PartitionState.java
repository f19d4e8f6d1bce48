package dev.basalt.log.index;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A partition's durable bookkeeping, kept in RocksDB's {@code state} column family under the
 * partition's directory name.
 *
 * <h2>Encoding (big-endian)</h2>
 * <pre>
 *  0 version          int8   = 1
 *  1 partitionId      int64  key prefix of this partition's index entries (unique per creation)
 *  9 logStartOffset   int64
 * 17 recoveryPoint    int64  every batch below this offset was fsynced
 * 25 highWatermark    int64  last checkpoint (a lower bound of the true HW)
 * 33 cleanEndOffset   int64  log end offset at a clean close, -1 while the log is open
 * 41 epochCount       int32, then per epoch: epoch int32, startOffset int64
 *  n flags            int8   (version 2 and 3) bit 0: gapsPossible
 *n+1 tombstonesRemovedEnd int64 (version 3 only)
 * </pre>
 * Version 1 (no flags) decodes with {@code gapsPossible} true: unknown, so no check relies on it.
 * Versions 1 and 2 decode with {@code tombstonesRemovedEnd} 0: they were written before it was
 * kept (no release wrote them with a compacted, replicated log in production).
 *
 * <p>{@code gapsPossible}: the log may have offsets missing between batches (compaction, or a
 * follower copying a compacted leader). False: every batch starts where the previous one ended,
 * across segments too, which recovery and the scrubber check (a base offset is outside the CRC: a
 * flipped bit there would otherwise serve records at wrong offsets). Once true, never false again.
 *
 * <p>{@code tombstonesRemovedEnd}: compaction may have removed a tombstone below this offset,
 * here or on a leader this log copied from; 0 = none. Never decreases. A follower whose log ends
 * below a leader's value, with records before that end, may hold a value whose deletion it can
 * no longer fetch: it refetches the whole log (see PartitionLog#tombstonesRemovedEnd).
 *
 * <p>Immutable; thread-safe. Pure codec, no I/O.
 */
public record PartitionState(long partitionId, long logStartOffset, long recoveryPoint, long highWatermark,
                             long cleanEndOffset, List<LeaderEpochCache.EpochEntry> epochs, boolean gapsPossible,
                             long tombstonesRemovedEnd) {
    private static final byte VERSION_1 = 1;
    private static final byte VERSION_2 = 2;
    private static final byte VERSION = 3;
    private static final byte FLAG_GAPS_POSSIBLE = 1;

    /** A state whose log may have gaps (the safe default when nothing says otherwise). */
    public PartitionState(long partitionId, long logStartOffset, long recoveryPoint, long highWatermark, long cleanEndOffset,
                          List<LeaderEpochCache.EpochEntry> epochs) {
        this(partitionId, logStartOffset, recoveryPoint, highWatermark, cleanEndOffset, epochs, true, 0);
    }

    /** A state from which compaction removed no tombstone. */
    public PartitionState(long partitionId, long logStartOffset, long recoveryPoint, long highWatermark, long cleanEndOffset,
                          List<LeaderEpochCache.EpochEntry> epochs, boolean gapsPossible) {
        this(partitionId, logStartOffset, recoveryPoint, highWatermark, cleanEndOffset, epochs, gapsPossible, 0);
    }
    /** Bounds decoding of a damaged value. */
    public static final int EPOCH_COUNT_MAX = 1 << 20;

    public PartitionState {
        epochs = List.copyOf(epochs);
    }

    /**
     * Version 2 while no tombstone was removed (every log that is not compacted): a node rolled
     * back to a release before version 3 still reads those states.
     */
    public byte[] encode() {
        boolean v3 = tombstonesRemovedEnd != 0;
        ByteBuffer b = ByteBuffer.allocate(45 + epochs.size() * 12 + 1 + (v3 ? 8 : 0));
        b.put(v3 ? VERSION : VERSION_2).putLong(partitionId).putLong(logStartOffset).putLong(recoveryPoint).putLong(highWatermark)
                .putLong(cleanEndOffset).putInt(epochs.size());
        for (LeaderEpochCache.EpochEntry e : epochs) {
            b.putInt(e.epoch()).putLong(e.startOffset());
        }
        b.put(gapsPossible ? FLAG_GAPS_POSSIBLE : 0);
        if (v3) {
            b.putLong(tombstonesRemovedEnd);
        }
        return b.array();
    }

    /** @throws IllegalStateException if the bytes are not a state of this version */
    public static PartitionState decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte version = bytes.length < 45 ? 0 : b.get();
        if (version != VERSION && version != VERSION_2 && version != VERSION_1) {
            throw new IllegalStateException("partition state of " + bytes.length + " bytes has an unknown layout");
        }
        int flagBytes = version == VERSION_1 ? 0 : 1;
        int tailBytes = flagBytes + (version == VERSION ? 8 : 0);
        long id = b.getLong();
        long start = b.getLong();
        long recovery = b.getLong();
        long hw = b.getLong();
        long clean = b.getLong();
        int n = b.getInt();
        if (n < 0 || n > EPOCH_COUNT_MAX || b.remaining() != n * 12 + tailBytes) {
            throw new IllegalStateException("partition state declares " + n + " epochs in " + b.remaining() + " bytes");
        }
        List<LeaderEpochCache.EpochEntry> epochs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            epochs.add(new LeaderEpochCache.EpochEntry(b.getInt(), b.getLong()));
        }
        boolean gapsPossible = flagBytes == 0 || (b.get() & FLAG_GAPS_POSSIBLE) != 0;
        long removedEnd = version == VERSION ? b.getLong() : 0;
        if (removedEnd < 0) {
            throw new IllegalStateException("partition state has a negative tombstone removal end " + removedEnd);
        }
        return new PartitionState(id, start, recovery, hw, clean, epochs, gapsPossible, removedEnd);
    }
}

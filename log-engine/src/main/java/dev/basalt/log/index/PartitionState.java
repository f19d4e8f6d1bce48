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
 *  n flags            int8   (versions 2 to 4) bit 0: gapsPossible
 *n+1 tombstonesRemovedEnd int64 (versions 3 and 4)
 *n+9 compaction       3 × int64 (version 4 only): cleanedEndOffset, tombstoneDueMs, tombstoneHeldFromOffset
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
 * <p>{@code compaction}: what the last compaction pass left ({@code CleaningGate.Memory}), kept only
 * in the state a clean close writes (every other write has {@link Compaction#NONE}), so that the
 * first pass after a clean restart cleans only what was written since instead of the whole log
 * (as Kafka's cleaner-offset-checkpoint). Version 4 is written only when it is not NONE.
 *
 * <p>Immutable; thread-safe. Pure codec, no I/O.
 */
public record PartitionState(long partitionId, long logStartOffset, long recoveryPoint, long highWatermark,
                             long cleanEndOffset, List<LeaderEpochCache.EpochEntry> epochs, boolean gapsPossible,
                             long tombstonesRemovedEnd, Compaction compaction) {
    private static final byte VERSION_1 = 1;
    private static final byte VERSION_2 = 2;
    private static final byte VERSION_3 = 3;
    private static final byte VERSION = 4;
    private static final byte FLAG_GAPS_POSSIBLE = 1;

    /**
     * What the last compaction pass left, as {@code CleaningGate.Memory} holds it: the segments below
     * {@code cleanedEndOffset} are clean, the earliest delete horizon still ahead among the kept
     * tombstones, the lowest offset of a due tombstone kept for a replica ({@link Long#MAX_VALUE}: none).
     */
    public record Compaction(long cleanedEndOffset, long tombstoneDueMs, long tombstoneHeldFromOffset) {
        /** Nothing known to be clean. */
        public static final Compaction NONE = new Compaction(0, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /** A state without compaction memory (every state but the one a clean close writes). */
    public PartitionState(long partitionId, long logStartOffset, long recoveryPoint, long highWatermark, long cleanEndOffset,
                          List<LeaderEpochCache.EpochEntry> epochs, boolean gapsPossible, long tombstonesRemovedEnd) {
        this(partitionId, logStartOffset, recoveryPoint, highWatermark, cleanEndOffset, epochs, gapsPossible, tombstonesRemovedEnd,
                Compaction.NONE);
    }

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
        java.util.Objects.requireNonNull(compaction, "compaction");
    }

    /**
     * Version 2 while no tombstone was removed (every log that is not compacted): a node rolled
     * back to a release before version 3 still reads those states.
     */
    public byte[] encode() {
        boolean v4 = !compaction.equals(Compaction.NONE);
        boolean v3 = v4 || tombstonesRemovedEnd != 0;
        ByteBuffer b = ByteBuffer.allocate(45 + epochs.size() * 12 + 1 + (v3 ? 8 : 0) + (v4 ? 24 : 0));
        b.put(v4 ? VERSION : v3 ? VERSION_3 : VERSION_2).putLong(partitionId).putLong(logStartOffset).putLong(recoveryPoint).putLong(highWatermark)
                .putLong(cleanEndOffset).putInt(epochs.size());
        for (LeaderEpochCache.EpochEntry e : epochs) {
            b.putInt(e.epoch()).putLong(e.startOffset());
        }
        b.put(gapsPossible ? FLAG_GAPS_POSSIBLE : 0);
        if (v3) {
            b.putLong(tombstonesRemovedEnd);
        }
        if (v4) {
            b.putLong(compaction.cleanedEndOffset()).putLong(compaction.tombstoneDueMs()).putLong(compaction.tombstoneHeldFromOffset());
        }
        return b.array();
    }

    /** @throws IllegalStateException if the bytes are not a state of this version */
    public static PartitionState decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte version = bytes.length < 45 ? 0 : b.get();
        if (version != VERSION && version != VERSION_3 && version != VERSION_2 && version != VERSION_1) {
            throw new IllegalStateException("partition state of " + bytes.length + " bytes has an unknown layout");
        }
        int flagBytes = version == VERSION_1 ? 0 : 1;
        int tailBytes = flagBytes + (version >= VERSION_3 ? 8 : 0) + (version == VERSION ? 24 : 0);
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
        long removedEnd = version >= VERSION_3 ? b.getLong() : 0;
        if (removedEnd < 0) {
            throw new IllegalStateException("partition state has a negative tombstone removal end " + removedEnd);
        }
        Compaction compaction = Compaction.NONE;
        if (version == VERSION) {
            compaction = new Compaction(b.getLong(), b.getLong(), b.getLong());
            if (compaction.cleanedEndOffset() < 0 || compaction.tombstoneHeldFromOffset() < 0) {
                throw new IllegalStateException("partition state has a negative compaction offset " + compaction);
            }
        }
        return new PartitionState(id, start, recovery, hw, clean, epochs, gapsPossible, removedEnd, compaction);
    }
}

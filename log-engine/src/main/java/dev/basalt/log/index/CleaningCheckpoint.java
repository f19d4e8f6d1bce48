package dev.basalt.log.index;

import java.nio.ByteBuffer;

/**
 * What a compacted partition's last compaction pass left, as a clean close stores it beside the
 * partition's state (Kafka keeps the same in its cleaner-offset-checkpoint file): the segments
 * below {@code cleanedEndOffset} are clean, the earliest delete horizon still ahead among the
 * tombstones that pass kept ({@link Long#MAX_VALUE}: none), and the lowest offset of a tombstone
 * past its horizon kept because a replica lacked it ({@link Long#MAX_VALUE}: none).
 *
 * <p>It is trusted only by the open that follows the close that wrote it, when that open loads the
 * log without recovery and the checkpoint names the same partition id and log end as the state
 * the close wrote ({@code closedAtLogEnd}); every open removes all checkpoints once its partitions
 * are loaded, so none outlives the next run. Stored in the index's default column family, which a
 * node of an earlier release reads only by key (it never scans it), so a rollback ignores it.
 *
 * <h2>Encoding (big-endian, 41 bytes)</h2>
 * <pre>
 *  0 version                  int8  = 1
 *  1 partitionId              int64
 *  9 closedAtLogEnd           int64  the log end offset of the clean close that wrote it
 * 17 cleanedEndOffset         int64
 * 25 tombstoneDueMs           int64
 * 33 tombstoneHeldFromOffset  int64
 * </pre>
 *
 * <p>Immutable; thread-safe. Pure codec, no I/O.
 */
public record CleaningCheckpoint(long partitionId, long closedAtLogEnd, long cleanedEndOffset, long tombstoneDueMs,
                                 long tombstoneHeldFromOffset) {
    private static final byte VERSION = 1;
    private static final int SIZE_BYTES = 41;

    public byte[] encode() {
        return ByteBuffer.allocate(SIZE_BYTES).put(VERSION).putLong(partitionId).putLong(closedAtLogEnd).putLong(cleanedEndOffset)
                .putLong(tombstoneDueMs).putLong(tombstoneHeldFromOffset).array();
    }

    /** @throws IllegalStateException if the bytes are not a checkpoint of this version, or name negative offsets */
    public static CleaningCheckpoint decode(byte[] bytes) {
        if (bytes.length != SIZE_BYTES || bytes[0] != VERSION) {
            throw new IllegalStateException("cleaning checkpoint of " + bytes.length + " bytes has an unknown layout");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, 1, SIZE_BYTES - 1);
        CleaningCheckpoint c = new CleaningCheckpoint(b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
        if (c.closedAtLogEnd() < 0 || c.cleanedEndOffset() < 0 || c.cleanedEndOffset() > c.closedAtLogEnd()
                || c.tombstoneHeldFromOffset() < 0) {
            throw new IllegalStateException("cleaning checkpoint names offsets out of order: " + c);
        }
        return c;
    }
}

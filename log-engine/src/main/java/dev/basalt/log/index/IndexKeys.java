package dev.basalt.log.index;

import java.nio.ByteBuffer;

/**
 * Key and value layouts of the RocksDB index (all big-endian so byte order is numeric order).
 *
 * <pre>
 * offsets  key: partitionId int64 | batchBaseOffset int64        value: segmentBase int64 | position int32
 * times    key: partitionId int64 | timestamp int64 (sign bit flipped, so negatives sort first)
 *          value: offset int64 (every batch before it has max timestamp ≤ the key's timestamp)
 * segments key: partitionId int64 | segmentBase int64            value: maxTimestamp int64
 * state    key: partition directory name, UTF-8                   value: {@link PartitionState}
 * default  key: "next-partition-id"                               value: int64
 * </pre>
 * Thread-safety: stateless. Pure: no I/O.
 */
public final class IndexKeys {
    public static final int KEY_BYTES = 16;

    private IndexKeys() {
    }

    public static byte[] key(long partitionId, long value) {
        return ByteBuffer.allocate(KEY_BYTES).putLong(partitionId).putLong(value).array();
    }

    public static byte[] timeKey(long partitionId, long timestamp) {
        return key(partitionId, timestamp ^ Long.MIN_VALUE);
    }

    public static long partitionOf(byte[] key) {
        return ByteBuffer.wrap(key).getLong(0);
    }

    public static long valueOf(byte[] key) {
        return ByteBuffer.wrap(key).getLong(8);
    }

    public static long timestampOf(byte[] timeKey) {
        return valueOf(timeKey) ^ Long.MIN_VALUE;
    }

    /** The first key of the next partition: the exclusive upper bound of a partition's range. */
    public static byte[] endOfPartition(long partitionId) {
        return key(partitionId + 1, 0L);
    }

    /** The lowest key of a partition. */
    public static byte[] startOfPartition(long partitionId) {
        return key(partitionId, 0L);
    }

    public static byte[] position(long segmentBase, int position) {
        return ByteBuffer.allocate(12).putLong(segmentBase).putInt(position).array();
    }

    public static byte[] longValue(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    public static long readLong(byte[] v) {
        return ByteBuffer.wrap(v).getLong(0);
    }
}

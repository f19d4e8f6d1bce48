package dev.basalt.client;

import dev.basalt.common.KeyPartitioning;

/**
 * The key → partition mapping of Kafka's default partitioner:
 * {@code toPositive(murmur2(keyBytes)) % numPartitions}. The same function as the broker's record
 * gateway uses for thin clients ({@link KeyPartitioning}), so both paths agree on every key.
 *
 * <p>Thread-safety: stateless.
 */
public final class DefaultPartitioner {
    private DefaultPartitioner() {
    }

    /** MurmurHash2 (32-bit) of the whole array with Kafka's seed. */
    public static int murmur2(byte[] data) {
        return KeyPartitioning.murmur2(data);
    }

    /** Clears the sign bit (not Math.abs, which leaves Integer.MIN_VALUE negative). */
    public static int toPositive(int n) {
        return KeyPartitioning.toPositive(n);
    }

    /** The partition of a non-null serialized key. */
    public static int partitionForKey(byte[] keyBytes, int numPartitions) {
        return KeyPartitioning.partitionForKey(keyBytes, numPartitions);
    }
}

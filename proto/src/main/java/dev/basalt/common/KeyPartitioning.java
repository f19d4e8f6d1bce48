package dev.basalt.common;

/**
 * The key → partition mapping of Kafka's default partitioner, shared by the Java client and the
 * broker's record gateway so that a key lands in the same partition whichever path wrote it, and
 * in the same partition number as in Kafka for the same partition count:
 * {@code toPositive(murmur2(keyBytes)) % numPartitions}.
 *
 * <p>murmur2 is Austin Appleby's MurmurHash2, 32-bit, with the seed 0x9747b28c, reading the
 * input as little-endian 4-byte words and mixing the 1-3 trailing bytes as MurmurHash2 does.
 * Written from the published algorithm.
 *
 * <p>Thread-safety: stateless.
 */
public final class KeyPartitioning {
    private static final int SEED = 0x9747b28c;
    private static final int M = 0x5bd1e995;
    private static final int R = 24;

    private KeyPartitioning() {
    }

    /** MurmurHash2 (32-bit) of the whole array with Kafka's seed. */
    @SuppressWarnings("fallthrough")
    public static int murmur2(byte[] data) {
        int length = data.length;
        int h = SEED ^ length;
        int words = length / 4;
        for (int i = 0; i < words; i++) {
            int i4 = i * 4;
            int k = (data[i4] & 0xff) | ((data[i4 + 1] & 0xff) << 8) | ((data[i4 + 2] & 0xff) << 16) | ((data[i4 + 3] & 0xff) << 24);
            k *= M;
            k ^= k >>> R;
            k *= M;
            h *= M;
            h ^= k;
        }
        int tail = length & ~3;
        switch (length % 4) {
            case 3:
                h ^= (data[tail + 2] & 0xff) << 16;
                // fall through: MurmurHash2 mixes the remaining bytes cumulatively
            case 2:
                h ^= (data[tail + 1] & 0xff) << 8;
                // fall through
            case 1:
                h ^= data[tail] & 0xff;
                h *= M;
                break;
            default:
                break;
        }
        h ^= h >>> 13;
        h *= M;
        h ^= h >>> 15;
        return h;
    }

    /** Clears the sign bit (not Math.abs, which leaves Integer.MIN_VALUE negative). */
    public static int toPositive(int n) {
        return n & 0x7fffffff;
    }

    /** The partition of a non-null serialized key. */
    public static int partitionForKey(byte[] keyBytes, int numPartitions) {
        if (numPartitions <= 0) {
            throw new IllegalArgumentException("numPartitions must be positive, got " + numPartitions);
        }
        return toPositive(murmur2(keyBytes)) % numPartitions;
    }
}

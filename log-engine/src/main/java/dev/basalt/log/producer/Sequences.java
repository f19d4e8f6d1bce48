package dev.basalt.log.producer;

/**
 * Sequence arithmetic of the idempotent producer: per partition, sequences count records from 0
 * and wrap from Integer.MAX_VALUE to 0 (as Kafka's do), so a producer never runs out. Pure;
 * thread-safe.
 */
public final class Sequences {
    private Sequences() {
    }

    /** The sequence after {@code seq}. */
    public static int next(int seq) {
        return seq == Integer.MAX_VALUE ? 0 : seq + 1;
    }

    /** The sequence of the last of {@code recordCount} records starting at {@code firstSeq}. */
    public static int last(int firstSeq, int recordCount) {
        if (firstSeq < 0 || recordCount < 1) {
            throw new IllegalArgumentException("sequence " + firstSeq + " with " + recordCount + " records");
        }
        return add(firstSeq, recordCount - 1);
    }

    /** {@code seq + delta} with wrap-around, for {@code 0 <= delta}. */
    public static int add(int seq, int delta) {
        long sum = (long) seq + delta;
        return (int) (sum % (1L + Integer.MAX_VALUE));
    }
}

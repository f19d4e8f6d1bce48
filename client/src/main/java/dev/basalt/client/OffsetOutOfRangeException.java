package dev.basalt.client;

/**
 * A consumer position lies outside the partition's log ([log start offset, log end offset]),
 * or a partition has no position and {@code auto.offset.reset=none}. Definite: nothing was
 * read. The caller can {@link Consumer#seek} and poll again.
 *
 * <p>Thread-safety: immutable.
 */
public class OffsetOutOfRangeException extends DefiniteException {
    private static final long serialVersionUID = 1L;
    private final TopicPartition partition;
    private final long offset;

    /** @param offset the position that was out of range, or -1 when the partition had none */
    public OffsetOutOfRangeException(String message, TopicPartition partition, long offset) {
        super(message, false);
        this.partition = partition;
        this.offset = offset;
    }

    public TopicPartition partition() {
        return partition;
    }

    /** The offending position, or -1 when the partition had no position at all. */
    public long offset() {
        return offset;
    }
}

package dev.basalt.log;

/** The partition has no log on this data dir (never created, or deleted). Maps to {@code UNKNOWN_TOPIC}. Immutable. */
public class UnknownPartitionException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnknownPartitionException(TopicPartition tp) {
        super("no log for partition " + tp);
    }
}

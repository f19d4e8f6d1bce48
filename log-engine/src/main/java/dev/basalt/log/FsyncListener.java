package dev.basalt.log;

/**
 * Hears of every fsync the log engine performs on a partition's files, with what asked for it
 * and how long it took: the embedding process exports them (the broker's
 * {@code basalt_log_fsync_seconds}) without this module depending on a metrics library.
 *
 * <p>Called on the thread that ran the fsync (an appender, the background scheduler, the caller
 * of {@link PartitionLog#flush()}), after the fsync and before the recovery point moves; it must
 * be cheap and must not call back into the log. Implementations are thread-safe: fsyncs of
 * different partitions run concurrently.
 */
@FunctionalInterface
public interface FsyncListener {
    /** What asked for the fsync. */
    enum Trigger {
        /** {@code flush.messages} unflushed records after an append (1 in durable mode: every append). */
        FLUSH_MESSAGES,
        /** {@code flush.ms}: the periodic check found data older than the setting. */
        FLUSH_MS,
        /** A segment was rolled: the sealed segment is fsynced in the background. */
        ROLL,
        /** {@link PartitionLog#flush()}: the broker's group-commit flusher, a follower's durable fetch. */
        REQUESTED,
        /** A clean close seals and fsyncs every segment. */
        CLOSE
    }

    /** No-op. */
    FsyncListener NONE = (tp, trigger, segments, durationNanos) -> { };

    /**
     * One fsync round of {@code tp}: {@code segments} segment files (and the directory when a
     * segment was created), {@code durationNanos} from the first fsync's start to the last's end.
     */
    void onFsync(TopicPartition tp, Trigger trigger, int segments, long durationNanos);
}

package dev.basalt.log;

/**
 * Knobs of a {@link LogManager} that are per data dir, not per topic. Immutable.
 *
 * @param backgroundThreads        scheduler threads for retention, compaction, flushes, deletes
 * @param recoveryThreads          threads loading partitions in parallel on open
 * @param retentionCheckIntervalMs how often retention runs (Kafka's log.retention.check.interval.ms)
 * @param compactionIntervalMs     how often compaction looks for work
 * @param flushCheckIntervalMs     how often flush.ms is evaluated
 * @param highWatermarkCheckpointIntervalMs how often high watermarks are written to the index
 * @param compactionKeyCountMax    bound on the keys one compaction pass holds in memory
 * @param periodicTasksEnabled     false in tests that drive retention/compaction by hand
 * @param shutdownTimeoutMs        how long close waits for background work to stop
 */
public record LogManagerOptions(int backgroundThreads, int recoveryThreads, long retentionCheckIntervalMs,
                                long compactionIntervalMs, long flushCheckIntervalMs,
                                long highWatermarkCheckpointIntervalMs, int compactionKeyCountMax,
                                boolean periodicTasksEnabled, long shutdownTimeoutMs) {
    public static final LogManagerOptions DEFAULT = new LogManagerOptions(2, 2, 300_000, 15_000, 1_000, 5_000,
            1_000_000, true, 60_000);

    public LogManagerOptions {
        if (backgroundThreads < 1 || recoveryThreads < 1) {
            throw new IllegalArgumentException("thread counts must be ≥ 1");
        }
        if (retentionCheckIntervalMs < 1 || compactionIntervalMs < 1 || flushCheckIntervalMs < 1
                || highWatermarkCheckpointIntervalMs < 1 || shutdownTimeoutMs < 0) {
            throw new IllegalArgumentException("intervals must be ≥ 1 ms");
        }
        if (compactionKeyCountMax < 1) {
            throw new IllegalArgumentException("compactionKeyCountMax " + compactionKeyCountMax + " < 1");
        }
    }

    /** The same options with periodic background tasks off (tests call the run-once hooks). */
    public LogManagerOptions withoutPeriodicTasks() {
        return new LogManagerOptions(backgroundThreads, recoveryThreads, retentionCheckIntervalMs, compactionIntervalMs,
                flushCheckIntervalMs, highWatermarkCheckpointIntervalMs, compactionKeyCountMax, false, shutdownTimeoutMs);
    }
}

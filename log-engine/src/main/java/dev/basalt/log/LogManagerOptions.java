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
 * @param producerIdExpirationMs   an idempotent producer idle this long (by its batches' timestamps)
 *                                 is forgotten by each partition (Kafka's producer.id.expiration.ms)
 * @param producerIdExpirationCheckIntervalMs how often partitions look for expired producers
 * @param producersPerPartitionMax bound on the producers one partition remembers; beyond it the
 *                                 idlest is forgotten
 */
public record LogManagerOptions(int backgroundThreads, int recoveryThreads, long retentionCheckIntervalMs,
                                long compactionIntervalMs, long flushCheckIntervalMs,
                                long highWatermarkCheckpointIntervalMs, int compactionKeyCountMax,
                                boolean periodicTasksEnabled, long shutdownTimeoutMs, long producerIdExpirationMs,
                                long producerIdExpirationCheckIntervalMs, int producersPerPartitionMax) {
    /** Kafka's defaults: a day; checked every 10 minutes. */
    public static final long PRODUCER_ID_EXPIRATION_MS_DEFAULT = 86_400_000L;
    public static final long PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT = 600_000L;
    /**
     * 10,000 producers per partition: an entry is about 300 bytes (5 batches of 32 bytes plus the
     * map entry and headers), so a full partition holds ~3 MB.
     */
    public static final int PRODUCERS_PER_PARTITION_MAX_DEFAULT = 10_000;

    public static final LogManagerOptions DEFAULT = new LogManagerOptions(2, 2, 300_000, 15_000, 1_000, 5_000,
            1_000_000, true, 60_000);

    /** The options with the producer-state defaults. */
    public LogManagerOptions(int backgroundThreads, int recoveryThreads, long retentionCheckIntervalMs,
                             long compactionIntervalMs, long flushCheckIntervalMs, long highWatermarkCheckpointIntervalMs,
                             int compactionKeyCountMax, boolean periodicTasksEnabled, long shutdownTimeoutMs) {
        this(backgroundThreads, recoveryThreads, retentionCheckIntervalMs, compactionIntervalMs, flushCheckIntervalMs,
                highWatermarkCheckpointIntervalMs, compactionKeyCountMax, periodicTasksEnabled, shutdownTimeoutMs,
                PRODUCER_ID_EXPIRATION_MS_DEFAULT, PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS_DEFAULT,
                PRODUCERS_PER_PARTITION_MAX_DEFAULT);
    }

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
        if (producerIdExpirationMs < 1 || producerIdExpirationCheckIntervalMs < 1 || producersPerPartitionMax < 1) {
            throw new IllegalArgumentException("producer expiration " + producerIdExpirationMs + " ms, check every "
                    + producerIdExpirationCheckIntervalMs + " ms and " + producersPerPartitionMax + " producers must be ≥ 1");
        }
    }

    /** The same options with periodic background tasks off (tests call the run-once hooks). */
    public LogManagerOptions withoutPeriodicTasks() {
        return new LogManagerOptions(backgroundThreads, recoveryThreads, retentionCheckIntervalMs, compactionIntervalMs,
                flushCheckIntervalMs, highWatermarkCheckpointIntervalMs, compactionKeyCountMax, false, shutdownTimeoutMs,
                producerIdExpirationMs, producerIdExpirationCheckIntervalMs, producersPerPartitionMax);
    }

    /** The same options with other producer-state settings. */
    public LogManagerOptions withProducerState(long expirationMs, long checkIntervalMs, int producersMax) {
        return new LogManagerOptions(backgroundThreads, recoveryThreads, retentionCheckIntervalMs, compactionIntervalMs,
                flushCheckIntervalMs, highWatermarkCheckpointIntervalMs, compactionKeyCountMax, periodicTasksEnabled,
                shutdownTimeoutMs, expirationMs, checkIntervalMs, producersMax);
    }
}

package dev.basalt.log;

import dev.basalt.log.index.IndexStore;
import java.util.List;

/**
 * Test-only access to package-private hooks (part of the testkit jar): simulate a process crash,
 * inspect the index. Thread-safety: as the called methods.
 */
public final class LogTestHooks {
    private LogTestHooks() {
    }

    /** Stops the manager as kill -9 would: no flush, no clean marker, no sealing. */
    public static void crash(LogManager manager) {
        manager.crash();
    }

    /** The offset-index entries of a partition, in offset order. */
    public static List<IndexStore.OffsetPosition> offsetIndex(LogManager manager, TopicPartition tp) {
        return manager.index().offsetEntries(manager.get(tp).partitionId());
    }

    /** Offsets of the partition's stored producer-state snapshots, oldest first. */
    public static List<Long> producerSnapshots(LogManager manager, TopicPartition tp) {
        return manager.index().producerSnapshotOffsets(manager.get(tp).partitionId());
    }

    /** Deletes every stored producer-state snapshot of the partition (recovery must rebuild from the log). */
    public static void deleteProducerSnapshots(LogManager manager, TopicPartition tp) {
        manager.index().deleteProducerSnapshots(manager.get(tp).partitionId(), 0, Long.MAX_VALUE, true);
    }

    /** Compacts the index now (reads every table block: what a background compaction would meet). */
    public static void compactIndex(LogManager manager) {
        manager.index().compact();
    }

    /** The partition's active (last) segment. */
    public static dev.basalt.log.segment.Segment activeSegment(PartitionLog log) {
        return log.segmentAtOrAfter(log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1));
    }
}

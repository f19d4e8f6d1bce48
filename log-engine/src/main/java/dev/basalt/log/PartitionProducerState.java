package dev.basalt.log;

import dev.basalt.log.index.IndexStore;
import dev.basalt.log.producer.ProducerStateManager;
import dev.basalt.log.producer.ProducerStateSnapshot;
import dev.basalt.record.RecordBatch;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The idempotent-producer state of one {@link PartitionLog} (rules in {@link ProducerStateManager})
 * and how it survives: it is derived from the log (batches carry producer id, epoch and sequence),
 * so a follower builds it by appending what it replicates, and recovery rebuilds it from the newest
 * snapshot at or below the recovered log end plus a replay of the batches after that snapshot.
 *
 * <h2>Snapshots</h2>
 * The first append to each new segment takes a snapshot at the log end offset (a batch boundary,
 * with the state exact there); it stays in memory until the recovery point reaches its offset and
 * is then written to the index's {@code producers} column family, so a stored snapshot is never
 * ahead of fsynced data. A clean close stores one at the log end. The newest
 * {@value #SNAPSHOTS_KEPT} per partition are kept. Truncation deletes (durably) every snapshot
 * above the cut and rebuilds the state from the newest one left, so a retry of a truncated batch is
 * appended again instead of being answered with offsets that no longer hold it.
 *
 * <p>Retention and compaction do not drop producer state: a producer's in-flight retries target
 * its newest batches, which are in the active segment; when retention deletes that one too (an
 * idle log past retention.ms) a snapshot at the new log end is stored first. A rebuild from the
 * log may miss producers whose batches retention deleted; they are treated as unknown (any
 * sequence accepted), as in Kafka.
 *
 * <p>Thread-safety: thread-safe (one monitor); the log calls it under its append lock, and the
 * flush path calls {@link #onRecoveryPoint} under its flush lock.
 */
final class PartitionProducerState {
    private static final Logger log = LoggerFactory.getLogger(PartitionProducerState.class);
    /** Snapshots kept per partition: the newest is what recovery uses; older ones serve truncation below it. */
    static final int SNAPSHOTS_KEPT = 3;
    /** Bytes per read while replaying the log into the state. */
    private static final int REPLAY_READ_BYTES = 1 << 20;

    /** Reads the log's batches in [from, toExclusive) in order (the log's own read path). */
    @FunctionalInterface
    interface BatchSource {
        void forEach(long fromOffset, long toOffsetExclusive, Consumer<RecordBatch> batch);
    }

    private final TopicPartition tp;
    private final long partitionId;
    private final IndexStore index;
    private final ProducerStateManager producers;
    /** Snapshots waiting for the recovery point to pass them, oldest first, at most SNAPSHOTS_KEPT. */
    private final java.util.ArrayDeque<ProducerStateSnapshot> pending = new java.util.ArrayDeque<>(); // guarded by this
    private long snapshotSegmentBase = -1; // guarded by this
    /**
     * Offsets of the snapshots stored in the index, oldest first; read from the index once, then
     * kept here. Found probing: listing them with an iterator at every store (every segment roll)
     * slowed as the deletions piled up in RocksDB, until follower fetch threads spent all their
     * time in that seek and fell out of the ISR (64 KiB segments, ~10k records/s).
     */
    private java.util.TreeSet<Long> stored; // guarded by this; null until first needed

    PartitionProducerState(TopicPartition tp, long partitionId, IndexStore index, int producersMax) {
        this.tp = tp;
        this.partitionId = partitionId;
        this.index = index;
        this.producers = new ProducerStateManager(producersMax);
    }

    /** A batch source over a log: whole batches through {@link PartitionLog#read}, slices closed after use. */
    static BatchSource readerOf(PartitionLog log) {
        return (from, to, out) -> {
            long next = Math.max(from, log.logStartOffset());
            while (next < to) {
                try (FetchSlice slice = log.read(next, REPLAY_READ_BYTES, to)) {
                    if (slice.isEmpty()) {
                        return;
                    }
                    for (RecordBatch b : dev.basalt.record.Batches.iterate(slice.records())) {
                        out.accept(b);
                    }
                    next = slice.nextOffset();
                }
            }
        };
    }

    /** Recovery: the newest usable snapshot, then every batch after it up to the log end. */
    synchronized void load(long logStartOffset, long logEndOffset, BatchSource source) {
        Optional<ProducerStateSnapshot> snapshot = floorSnapshot(logEndOffset);
        producers.restore(snapshot);
        long from = Math.max(logStartOffset, snapshot.map(ProducerStateSnapshot::offset).orElse(0L));
        source.forEach(from, logEndOffset, this::replay);
        // A snapshot above the recovered end (its bytes were lost with a torn tail) must never be used.
        index.deleteProducerSnapshots(partitionId, logEndOffset + 1, Long.MAX_VALUE, true);
        forgetStored(logEndOffset + 1);
        log.debug("{}: producer state of {} producers from snapshot {} and offsets {}..{}", tp, producers.size(),
                snapshot.map(ProducerStateSnapshot::offset).orElse(-1L), from, logEndOffset);
    }

    private Optional<ProducerStateSnapshot> floorSnapshot(long offset) {
        Map.Entry<Long, byte[]> e = index.floorProducerSnapshot(partitionId, offset);
        if (e == null) {
            return Optional.empty();
        }
        try {
            ProducerStateSnapshot s = ProducerStateSnapshot.decode(e.getValue());
            if (s.offset() != e.getKey()) {
                throw new IllegalStateException("snapshot under key " + e.getKey() + " says offset " + s.offset());
            }
            return Optional.of(s);
        } catch (IllegalStateException damaged) {
            // Derived state: drop it and rebuild from the log instead.
            log.warn("{}: producer snapshot at {} is unusable ({}); rebuilding from the log", tp, e.getKey(), damaged.getMessage());
            index.deleteProducerSnapshots(partitionId, 0, Long.MAX_VALUE, true);
            forgetStored(0);
            return Optional.empty();
        }
    }

    private void replay(RecordBatch b) {
        producers.replay(b.producerId(), b.producerEpoch(), b.baseSequence(), b.lastOffsetDelta() + 1, b.baseOffset(),
                b.lastOffset(), b.maxTimestamp());
    }

    /**
     * Checks a leader payload whose first batch would get {@code firstOffset}. Returns the check to
     * {@link #commit} once the batches are written; when {@link ProducerStateManager.LeaderAppend#firstDuplicate()}
     * is set, nothing must be written.
     */
    synchronized ProducerStateManager.LeaderAppend checkLeaderAppend(List<RecordBatch> batches, long firstOffset,
                                                                    long appendTimeMs) {
        ProducerStateManager.LeaderAppend check = producers.leaderAppend();
        long next = firstOffset;
        for (RecordBatch b : batches) {
            long last = next + b.lastOffsetDelta();
            long maxTs = appendTimeMs >= 0 ? appendTimeMs : b.maxTimestamp();
            check.check(b.producerId(), b.producerEpoch(), b.baseSequence(), b.lastOffsetDelta() + 1, next, last, maxTs);
            next = last + 1;
        }
        return check;
    }

    /** The leader wrote the checked payload. */
    synchronized void commit(ProducerStateManager.LeaderAppend check) {
        check.commit();
    }

    /** A follower appended batches the leader stamped. */
    synchronized void onFollowerAppend(List<RecordBatch> batches) {
        for (RecordBatch b : batches) {
            replay(b);
        }
    }

    /** After any append: the first one into a new segment takes that segment's snapshot. */
    synchronized void afterAppend(long activeSegmentBase, long logEndOffset) {
        if (activeSegmentBase != snapshotSegmentBase) {
            snapshotSegmentBase = activeSegmentBase;
            if (pending.size() == SNAPSHOTS_KEPT) {
                pending.pollFirst(); // the newer ones replace it when stored anyway
            }
            pending.addLast(producers.snapshot(logEndOffset));
        }
    }

    /** The recovery point moved: a pending snapshot it covers may now be stored. */
    synchronized void onRecoveryPoint(long recoveryPoint) {
        while (!pending.isEmpty() && pending.peekFirst().offset() <= recoveryPoint) {
            store(pending.pollFirst());
        }
    }

    private void store(ProducerStateSnapshot s) {
        java.util.TreeSet<Long> offsets = storedOffsets();
        index.putProducerSnapshot(partitionId, s.offset(), s.encode());
        offsets.add(s.offset());
        while (offsets.size() > SNAPSHOTS_KEPT) {
            // one point deletion per store, of a key known to exist: no range deletions to pile up
            index.deleteProducerSnapshot(partitionId, offsets.pollFirst());
        }
    }

    private java.util.TreeSet<Long> storedOffsets() {
        if (stored == null) {
            stored = new java.util.TreeSet<>(index.producerSnapshotOffsets(partitionId));
        }
        return stored;
    }

    /** The index lost the snapshots at or above {@code fromOffset} (all of them for 0). */
    private void forgetStored(long fromOffset) {
        if (stored != null) {
            stored.tailSet(fromOffset).clear();
        }
    }

    /** The log was truncated to {@code offset} (exclusive end): forget everything above, rebuild. */
    synchronized void truncateTo(long offset, long logStartOffset, BatchSource source) {
        index.deleteProducerSnapshots(partitionId, offset + 1, Long.MAX_VALUE, true);
        forgetStored(offset + 1);
        pending.removeIf(p -> p.offset() > offset);
        snapshotSegmentBase = -1;
        Optional<ProducerStateSnapshot> snapshot = floorSnapshot(offset);
        producers.restore(snapshot);
        long from = Math.max(logStartOffset, snapshot.map(ProducerStateSnapshot::offset).orElse(0L));
        source.forEach(from, offset, this::replay);
    }

    /** The log was emptied and restarts elsewhere: no producer state survives. */
    synchronized void truncateFully() {
        index.deleteProducerSnapshots(partitionId, 0, Long.MAX_VALUE, true);
        forgetStored(0);
        pending.clear();
        snapshotSegmentBase = -1;
        producers.clear();
    }

    /**
     * Retention deleted the active segment too (the whole log expired): every batch since the
     * newest snapshot is gone, so a snapshot at the new log end is stored now. Without it a
     * restart after a crash restored the snapshot from that segment's start and had nothing left
     * to replay, and producers that wrote in it came back with old sequences: their next batches
     * were refused as out of order. The caller has moved the recovery point to the log end.
     */
    synchronized void onLogEmptied(long logEndOffset) {
        pending.clear();
        store(producers.snapshot(logEndOffset));
        snapshotSegmentBase = logEndOffset; // the new segment's first append needs no second one
    }

    /** Clean close, after the final flush: a snapshot at the end, so the next open replays nothing. */
    synchronized void onCleanClose(long logEndOffset) {
        pending.clear();
        store(producers.snapshot(logEndOffset));
    }

    synchronized int removeExpired(long nowMs, long expirationMs) {
        return producers.removeExpired(nowMs, expirationMs);
    }

    /** Producers kept (state size metric). */
    synchronized int size() {
        return producers.size();
    }

    synchronized long evictions() {
        return producers.evictions();
    }

    /** The entry of one producer (tests and diagnostics). */
    synchronized Optional<dev.basalt.log.producer.ProducerStateEntry> entry(long producerId) {
        return producers.entry(producerId);
    }
}

package dev.basalt.log;

import dev.basalt.log.compaction.CleaningGate;
import dev.basalt.log.compaction.Compactor;
import dev.basalt.log.index.IndexStore;
import dev.basalt.log.index.IndexWriter;
import dev.basalt.log.index.LeaderEpochCache;
import dev.basalt.log.index.PartitionState;
import dev.basalt.log.producer.ProducerStateManager;
import dev.basalt.log.recovery.LoadedLog;
import dev.basalt.log.retention.RetentionPlanner;
import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import dev.basalt.record.Batches;
import dev.basalt.record.CorruptRecordException;
import dev.basalt.record.Record;
import dev.basalt.record.RecordBatch;
import dev.basalt.record.TimestampType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * One partition's log: an ordered list of {@link Segment}s (the last one active), indexed in the
 * data dir's RocksDB, with a leader-epoch cache and a high watermark checkpoint.
 *
 * <p>Offsets: {@code logStartOffset ≤ highWatermark ≤ logEndOffset}; offsets are assigned by
 * {@link #appendAsLeader} contiguously and never reused; compaction removes records but keeps the
 * offsets of the rest (gaps). The recovery point is the offset below which everything is fsynced.
 *
 * <p>This class owns the offsets and the write path (append, roll, truncation, retention and
 * compaction swaps) and delegates one job each to: {@link LogSegments} (the segment list),
 * {@link LogReader} (the read path and its hints), {@link GroupCommit} (shared fsyncs) and
 * {@link RetentionPlanner} (which segments retention deletes, pure).
 *
 * <p>Thread-safety: thread-safe. Appends, truncation, rolls and segment swaps serialise on one
 * lock (held for a write syscall, never for an fsync); reads take no lock: they see an immutable
 * snapshot of (log end offset, segments) and pin the segment they return a view of. fsyncs run
 * under group commit's flush lock so concurrent durable appenders share one fsync.
 * Retention and compaction run on the {@link LogManager}'s threads and take the append lock only
 * to swap segments in or out.
 */
public final class PartitionLog {
    /** Bounds the batches of one produce payload (a loop over untrusted input). */
    public static final int BATCH_COUNT_MAX = 1 << 16;
    /** Read ends remembered for sequential readers (a consumer, a follower, a few of each). */
    static final int READ_HINTS = LogReader.READ_HINTS;

    private final TopicPartition tp;
    private final Path dir;
    private final long partitionId;
    private final IndexStore index;
    private final FileLayer files;
    private final Clock clock;
    private final Executor background;
    private final int compactionKeyCountMax;
    private final ReentrantLock lock = new ReentrantLock();
    private final ReentrantLock compactionLock = new ReentrantLock();
    private final LogSegments segments;
    private final LogReader reader;
    private final GroupCommit commit;
    private final LeaderEpochCache epochs; // guarded by lock (its epochAt reads a snapshot without it)
    private final IndexWriter indexWriter; // guarded by lock
    private volatile LogConfig config;
    private volatile long logStartOffset;
    private volatile long logEndOffset;
    private volatile long highWatermark;
    private volatile long recoveryPoint;
    /** Truncations so far: a flush round started before one may not advance the recovery point. Guarded by lock. */
    private long truncations;
    private volatile boolean closed;
    private volatile boolean closedCleanly;
    private volatile LogStorageException fatal;
    private long segmentCreatedMs; // guarded by lock
    /** Where corrupt data starts in a log that keeps serving what lies before it (its only copy). */
    /**
     * @param cutAtLoad the log was cut there when it loaded (nothing stored at or after it; a restart accepts the loss)
     * @param lostFrom  the first offset lost: {@code offset}, except for a log that lost everything
     *                  and starts again, empty, at its old end ({@code offset}), whose lost offsets
     *                  are [lostFrom, offset)
     */
    public record CorruptAt(long offset, CorruptLogException cause, boolean cutAtLoad, long lostFrom) {
        public CorruptAt(long offset, CorruptLogException cause) {
            this(offset, cause, false, offset);
        }

        /**
         * Whether nothing is stored at or after the corrupt batch (cut at load, or nothing followed
         * it): a restart accepts the loss. Otherwise the bytes after it are still in the log, and
         * only the operator's repair cuts them (a clean restart does not scan).
         */
        public boolean alreadyCut(long logEndOffset) {
            return cutAtLoad || offset >= logEndOffset;
        }

        /** What was lost, for messages: "offsets A..B" (a log that starts again after them) or "offsets from A". */
        public String lost() {
            return lostFrom < offset ? "offsets " + lostFrom + ".." + (offset - 1) : "offsets from " + offset;
        }
    }

    private volatile CorruptAt corruptFrom;
    /**
     * Whether offsets may be missing between batches (compaction here, or a compacted leader's log
     * copied as a follower). While false, recovery, the scrubber and reads check that each batch
     * starts where the previous one ended: a base offset is outside the batch's CRC. Becomes true
     * (durably, before any gap is written) and never false again. Written under the lock.
     */
    private volatile boolean gapsPossible;

    /** Checked before every roll: why the data directory cannot take a new segment, or null. */
    private volatile java.util.function.Supplier<String> directoryCheck = () -> null;
    /** Idempotent producers (issue 11): sequence checks on leader appends, rebuilt from the log. */
    private final PartitionProducerState producers;
    /** Why appends are refused for now (a full disk), or null; and who hears of failed writes. */
    private volatile java.util.function.Supplier<String> writeBlock = () -> null;
    private volatile java.util.function.Consumer<Throwable> writeFailures = t -> { };

    PartitionLog(TopicPartition tp, Path dir, long partitionId, LoadedLog loaded, long tombstonesRemovedEnd, LogConfig config,
                 IndexStore index, FileLayer files, Clock clock, Executor background, int compactionKeyCountMax,
                 int producersPerPartitionMax) {
        this.tp = tp;
        this.tombstonesRemovedEnd = tombstonesRemovedEnd;
        this.dir = dir;
        this.partitionId = partitionId;
        this.index = index;
        this.files = files;
        this.clock = clock;
        this.background = background;
        this.compactionKeyCountMax = compactionKeyCountMax;
        this.config = config;
        this.segments = new LogSegments(loaded.segments());
        this.logStartOffset = loaded.logStartOffset();
        this.logEndOffset = loaded.logEndOffset();
        this.recoveryPoint = loaded.recoveryPoint();
        this.highWatermark = loaded.highWatermark();
        this.epochs = loaded.epochs();
        this.indexWriter = loaded.indexWriter();
        this.indexWriter.indexIntervalBytes(config.indexIntervalBytes());
        this.segmentCreatedMs = clock.millis();
        this.reader = new LogReader(tp, segments, index, partitionId, new LogReader.Bounds() {
            @Override
            public long logStartOffset() {
                return logStartOffset;
            }

            @Override
            public long logEndOffset() {
                return logEndOffset;
            }

            @Override
            public long highWatermark() {
                return highWatermark;
            }

            @Override
            public boolean isClosed() {
                return closed;
            }

            @Override
            public boolean contiguous() {
                return !gapsPossible;
            }

            @Override
            public int epochAt(long offset) {
                return epochs.epochAt(offset);
            }

            @Override
            public boolean epochContradicts(Segment seg, long baseOffset, int batchEpoch, long truncationsAtStart) {
                lock.lock();
                try {
                    return reader.truncations() == truncationsAtStart && epochStillContradicts(seg, baseOffset, batchEpoch);
                } finally {
                    lock.unlock();
                }
            }

            @Override
            public boolean unchangedSince(long truncationsAtStart) {
                lock.lock();
                try {
                    return !closed && reader.truncations() == truncationsAtStart;
                } finally {
                    lock.unlock();
                }
            }

            @Override
            public boolean offsetMissing(long offset, Segment next, long truncationsAtStart) {
                lock.lock();
                try {
                    return !gapsPossible && !closed && reader.truncations() == truncationsAtStart && logStartOffset <= offset
                            && offset < logEndOffset && segments.get(next.baseOffset()) == next && next.baseOffset() > offset;
                } finally {
                    lock.unlock();
                }
            }
        });
        this.commit = new GroupCommit(new CommitTarget(), files, dir, clock);
        // Newly possible gaps are made durable (the sync write) before compaction can make any.
        boolean mayHaveGaps = loaded.gapsPossible() || config.cleanupCompact();
        saveState(mayHaveGaps && !loaded.gapsPossible(), -1, mayHaveGaps);
        this.gapsPossible = mayHaveGaps;
        // ---- producer state (issue 11): last, it reads the log through the read path
        this.producers = new PartitionProducerState(tp, partitionId, index, producersPerPartitionMax);
        producers.load(logStartOffset, logEndOffset, PartitionProducerState.readerOf(this));
    }

    public TopicPartition topicPartition() {
        return tp;
    }

    /** Offsets covered by the batches' own ranges (equal to last - first + 1 exactly when none is missing between them). */
    private static long countOffsets(List<RecordBatch> batches) {
        long n = 0;
        for (RecordBatch b : batches) {
            n += b.nextOffset() - b.baseOffset();
        }
        return n;
    }

    /** See {@link #gapsPossible}. */
    public boolean gapsPossible() {
        return gapsPossible;
    }

    /** Counts truncations and restarts of this log (a scan begun before one must not judge what it sees after). */
    public long truncationCount() {
        lock.lock();
        try {
            return truncations;
        } finally {
            lock.unlock();
        }
    }

    /**
     * For the scrubber, which reads without the lock: whether a batch found past {@code expectedOffset}
     * (the end of the one before it) means offsets are missing. True only while the log has no gaps,
     * was neither truncated nor restarted since {@code truncationsSeen}, and still starts at or below
     * {@code expectedOffset} (retention did not delete the segments in between meanwhile).
     */
    public boolean offsetsMissingAfter(long expectedOffset, long truncationsSeen) {
        lock.lock();
        try {
            return !gapsPossible && truncations == truncationsSeen && logStartOffset <= expectedOffset && expectedOffset < logEndOffset;
        } finally {
            lock.unlock();
        }
    }

    /** Lock-free: the leader epoch the epoch cache names for {@code offset}, -1 if none (see {@link LeaderEpochCache#epochAt}). */
    public int epochAt(long offset) {
        return epochs.epochAt(offset);
    }

    /**
     * For the scrubber, which reads without the lock: whether a batch of {@code seg} at {@code baseOffset}
     * whose epoch field reads {@code batchEpoch} contradicts the epoch cache, the log neither truncated
     * nor restarted since {@code truncationsSeen} and {@code seg} still in it (an append publishes its
     * batches before it records their epoch: under the lock that is done).
     */
    public boolean epochContradicts(Segment seg, long baseOffset, int batchEpoch, long truncationsSeen) {
        lock.lock();
        try {
            return truncations == truncationsSeen && epochStillContradicts(seg, baseOffset, batchEpoch);
        } finally {
            lock.unlock();
        }
    }

    /** Caller holds the lock. */
    private boolean epochStillContradicts(Segment seg, long baseOffset, int batchEpoch) {
        if (closed || segments.get(seg.baseOffset()) != seg || baseOffset < logStartOffset || baseOffset >= logEndOffset) {
            return false;
        }
        int logEpoch = epochs.epochAt(baseOffset);
        return logEpoch >= 0 && logEpoch != batchEpoch;
    }

    public Path directory() {
        return dir;
    }

    public LogConfig config() {
        return config;
    }

    public long logStartOffset() {
        return logStartOffset;
    }

    public long logEndOffset() {
        return logEndOffset;
    }

    public long highWatermark() {
        return highWatermark;
    }

    /** Everything below this offset is fsynced. */
    public long recoveryPoint() {
        return recoveryPoint;
    }

    /** Bytes in all segments. */
    public long sizeBytes() {
        return segments.sizeBytes();
    }

    /** Base offsets of the segments, oldest first (diagnostics and tests). */
    public List<Long> segmentBaseOffsets() {
        return segments.baseOffsets();
    }

    /** The RocksDB key prefix of this log (tests compare index contents). */
    long partitionId() {
        return partitionId;
    }

    // ------------------------------------------------------------------ append

    /**
     * Appends a producer's payload (one or more whole batches) as the leader: validates every
     * batch ({@link Batches#parseProduced}: the producer rules, max.message.bytes; keys present on
     * compacted topics; record timestamps within message.timestamp.before/after.max.ms),
     * stamps consecutive offsets and {@code leaderEpoch} into the payload's bytes (a read-only
     * payload is copied first), for LogAppendTime topics stamps the broker time, and writes them.
     * In durable mode (flush.messages=1) returns only after an fsync covering the payload.
     *
     * @throws CorruptRecordException if a batch is malformed or fails its CRC (nothing appended)
     * @throws dev.basalt.record.InvalidRecordException if a batch breaks a producer rule or the
     *         topic's policy (nothing appended)
     * @throws dev.basalt.record.RecordTooLargeException if a batch exceeds max.message.bytes
     * @throws StaleLeaderEpochException if {@code leaderEpoch} is older than the log's latest epoch
     *         (nothing appended)
     * @throws LogStorageException on an I/O error (the append is not visible; if the payload
     *         spanned a segment roll, batches before the roll may be)
     */
    public AppendInfo appendAsLeader(ByteBuffer payload, int leaderEpoch) {
        if (leaderEpoch < 0) {
            throw new IllegalArgumentException("leader epoch " + leaderEpoch + " < 0");
        }
        LogConfig cfg = config;
        ByteBuffer buf = payload.isReadOnly() ? copy(payload) : payload.duplicate();
        List<RecordBatch> batches = Batches.parseProduced(buf, cfg.maxMessageBytes(), BATCH_COUNT_MAX);
        if (cfg.cleanupCompact()) {
            requireKeys(batches);
        }
        if (cfg.timestampType() == TimestampType.CREATE_TIME) {
            requireCreateTime(batches);
        }
        if (cfg.timestampBounded()) {
            requireTimestampsInBounds(batches, cfg, clock.millis());
        }
        long first;
        long last;
        long appendTimeMs = -1;
        lock.lock();
        try {
            ensureOpen();
            ensureAppendable();
            // Checked before any byte is written: a deposed leader's append must leave no trace.
            if (leaderEpoch < epochs.latestEpoch()) {
                throw new StaleLeaderEpochException(tp.toString(), leaderEpoch, epochs.latestEpoch());
            }
            long now = clock.millis();
            if (cfg.timestampType() == TimestampType.LOG_APPEND_TIME) {
                appendTimeMs = now;
            }
            // ---- producer state (issue 11): sequence checks before any byte is written
            ProducerStateManager.LeaderAppend producerCheck = producers.checkLeaderAppend(batches, logEndOffset, appendTimeMs);
            if (producerCheck.firstDuplicate().isPresent()) {
                return new AppendInfo(producerCheck.firstDuplicate().get().firstOffset(),
                        producerCheck.lastDuplicate().get().lastOffset(), -1, logStartOffset, true);
            }
            first = logEndOffset;
            long next = first;
            for (RecordBatch b : batches) {
                b.stampBaseOffset(next);
                b.stampPartitionLeaderEpoch(leaderEpoch);
                if (appendTimeMs >= 0) {
                    stampLogAppendTime(b, appendTimeMs);
                }
                next = b.nextOffset();
            }
            last = next - 1;
            writeBatches(buf, batches, now, cfg);
            producers.commit(producerCheck);
            producers.afterAppend(segments.active().baseOffset(), logEndOffset);
            if (epochs.assign(leaderEpoch, first)) {
                persistState(false, -1);
            }
        } finally {
            lock.unlock();
        }
        maybeFlushAfterAppend(last + 1, cfg);
        return new AppendInfo(first, last, appendTimeMs, logStartOffset);
    }

    /**
     * Appends batches a follower fetched from its leader: offsets and epochs are already
     * assigned; each batch must start at or above the log end offset (above it: a gap the
     * leader's compaction left, kept as it is), in increasing order.
     *
     * @return first and last offset appended
     * @throws CorruptRecordException on a malformed batch or a batch below the log end offset (gaps
     *         above it are compaction's and are kept)
     * @throws StaleLeaderEpochException if a batch's epoch is older than the log's latest epoch
     *         (the follower skipped truncation; nothing appended)
     */
    public AppendInfo appendAsFollower(ByteBuffer batchesPayload) {
        LogConfig cfg = config;
        ByteBuffer buf = batchesPayload.isReadOnly() ? copy(batchesPayload) : batchesPayload.duplicate();
        // Followers accept what the leader accepted: its limit may be larger than ours was.
        List<RecordBatch> batches = Batches.parseStrict(buf, Integer.MAX_VALUE, BATCH_COUNT_MAX);
        long first;
        long last;
        lock.lock();
        try {
            ensureOpen();
            ensureAppendable();
            long expected = logEndOffset;
            int epochSoFar = epochs.latestEpoch();
            first = batches.get(0).baseOffset();
            for (RecordBatch b : batches) {
                // Above the log end is a gap compaction left on the leader (whole batches removed):
                // the follower copies the log as it is. Below it would overlap what is here.
                if (b.baseOffset() < expected) {
                    throw new CorruptRecordException("follower batch at offset " + b.baseOffset() + " of " + tp
                            + " overlaps the log, which ends at offset " + expected);
                }
                if (b.partitionLeaderEpoch() >= 0 && b.partitionLeaderEpoch() < epochSoFar) {
                    // The follower did not truncate to the leader's epoch boundary first: refuse.
                    throw new StaleLeaderEpochException(tp.toString(), b.partitionLeaderEpoch(), epochSoFar);
                }
                epochSoFar = Math.max(epochSoFar, b.partitionLeaderEpoch());
                expected = b.nextOffset();
            }
            last = expected - 1;
            if (!gapsPossible && (first > logEndOffset || expected - first != countOffsets(batches))) {
                // The leader's log has gaps (it was compacted): so will ours, and the checks that
                // rely on none must know before the first gap is on disk.
                markGapsPossible();
            }
            try {
                writeBatches(buf, batches, clock.millis(), cfg);
            } catch (RuntimeException e) {
                // Part of the payload may be written (a roll or a full disk between runs): its
                // epochs go into the cache all the same, or a later recovery would find batches
                // whose epoch the stored state does not name.
                for (RecordBatch b : batches) {
                    if (b.partitionLeaderEpoch() >= 0 && b.nextOffset() <= logEndOffset) {
                        try {
                            epochs.assign(b.partitionLeaderEpoch(), b.baseOffset());
                        } catch (RuntimeException ignored) {
                            // the cache refuses it: nothing better to record
                        }
                    }
                }
                throw e;
            }
            producers.onFollowerAppend(batches);
            producers.afterAppend(segments.active().baseOffset(), logEndOffset);
            boolean changed = false;
            for (RecordBatch b : batches) {
                if (b.partitionLeaderEpoch() >= 0) {
                    changed |= epochs.assign(b.partitionLeaderEpoch(), b.baseOffset());
                }
            }
            if (changed) {
                persistState(false, -1);
            }
        } finally {
            lock.unlock();
        }
        maybeFlushAfterAppend(last + 1, cfg);
        return new AppendInfo(first, last, -1, logStartOffset);
    }

    private static ByteBuffer copy(ByteBuffer src) {
        ByteBuffer c = ByteBuffer.allocate(src.remaining());
        c.put(src.duplicate()).flip();
        return c;
    }

    private static void requireKeys(List<RecordBatch> batches) {
        for (RecordBatch b : batches) {
            if (b.isControl()) {
                continue;
            }
            for (Record r : b.records()) {
                if (!r.hasKey()) {
                    throw new dev.basalt.record.InvalidRecordException("compacted topic cannot accept a record without a key (offset delta "
                            + (r.offset()) + ")");
                }
            }
        }
    }

    /**
     * A CreateTime topic stores the producer's timestamps as they are: a batch marked LogAppendTime
     * would be stored with whatever maxTimestamp it claims (checked against its records only for
     * CreateTime batches), which consumers would read as every record's time and retention as the
     * segment's. Producers send CreateTime batches; such a batch is refused.
     */
    private void requireCreateTime(List<RecordBatch> batches) {
        for (RecordBatch b : batches) {
            if (b.timestampType() == TimestampType.LOG_APPEND_TIME) {
                throw new dev.basalt.record.InvalidRecordException("a batch marked LogAppendTime (attribute bit 3) for " + tp
                        + ", a CreateTime topic: producers send CreateTime batches, only the broker stamps LogAppendTime");
            }
        }
    }

    /**
     * Every record's timestamp is within the bounds when the batch's smallest and largest are
     * (each bound is one-sided), which validation found while it read the records: no second pass.
     */
    private void requireTimestampsInBounds(List<RecordBatch> batches, LogConfig cfg, long nowMs) {
        for (RecordBatch b : batches) {
            boolean minOk = cfg.timestampAcceptable(b.producedTimestampMin(), nowMs);
            if (!minOk || !cfg.timestampAcceptable(b.producedTimestampMax(), nowMs)) {
                long ts = minOk ? b.producedTimestampMax() : b.producedTimestampMin();
                throw new dev.basalt.record.InvalidRecordException("record timestamp " + ts + " of " + tp
                        + " is outside [now - " + cfg.timestampBeforeMaxMs() + " ms, now + " + cfg.timestampAfterMaxMs()
                        + " ms] (message.timestamp.before/after.max.ms; broker time " + nowMs + ")");
            }
        }
    }

    /** Marks the batch LogAppendTime with {@code nowMs} as its max timestamp and re-seals the CRC. */
    private static void stampLogAppendTime(RecordBatch batch, long nowMs) {
        ByteBuffer b = batch.buffer();
        b.putShort(RecordBatch.ATTRIBUTES_OFFSET, (short) (batch.attributes() | RecordBatch.TIMESTAMP_TYPE_MASK));
        b.putLong(RecordBatch.MAX_TIMESTAMP_OFFSET, nowMs);
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(RecordBatch.ATTRIBUTES_OFFSET));
        b.putInt(RecordBatch.CRC_OFFSET, (int) crc.getValue());
    }

    /** Writes validated, stamped batches; caller holds the lock. Publishes the end offset per segment run. */
    private void writeBatches(ByteBuffer buf, List<RecordBatch> batches, long nowMs, LogConfig cfg) {
        int payloadPos = buf.position();
        int i = 0;
        while (i < batches.size()) {
            maybeRoll(batches.get(i).sizeInBytes(), nowMs, cfg);
            Segment seg = segments.active();
            long room = roomBytes(seg, batches.get(i).sizeInBytes(), cfg);
            int runBytes = 0;
            int j = i;
            while (j < batches.size() && runBytes + batches.get(j).sizeInBytes() <= room) {
                runBytes += batches.get(j).sizeInBytes();
                j++;
            }
            if (j == i) {
                throw new IllegalStateException("batch of " + batches.get(i).sizeInBytes() + " bytes does not fit a fresh segment");
            }
            int pos;
            try {
                pos = seg.append(buf.duplicate().position(payloadPos).limit(payloadPos + runBytes));
            } catch (IOException e) {
                writeFailures.accept(e);
                throw new LogStorageException("append to " + tp + " failed; nothing of it is visible", seg.path(), e);
            }
            // Every batch was validated (CRC included) before it was written: reads need not check it again.
            seg.verified(pos, pos + runBytes);
            indexRun(seg, pos, batches.subList(i, j));
            logEndOffset = batches.get(j - 1).nextOffset();
            payloadPos += runBytes;
            i = j;
        }
    }

    private void indexRun(Segment seg, int position, List<RecordBatch> run) {
        int pos = position;
        long maxTs = seg.maxTimestamp();
        try {
            for (RecordBatch b : run) {
                indexWriter.onBatch(seg.baseOffset(), pos, b.baseOffset(), b.sizeInBytes(), b.maxTimestamp());
                maxTs = Math.max(maxTs, b.maxTimestamp());
                pos += b.sizeInBytes();
            }
        } catch (LogStorageException e) {
            // Bytes are in the segment but not indexed or published: stop writing; a reopen recovers.
            writeFailures.accept(e);
            fatal = e;
            throw e;
        }
        seg.maxTimestamp(maxTs);
    }

    /**
     * How many more bytes {@code seg} takes, given a first batch of {@code firstBatchBytes}: up to
     * segment.bytes (Kafka's rule: a segment rolls before a batch would take it past that; the
     * file's capacity, larger when the topic's setting was not known yet at load, does not decide),
     * where an empty segment takes at least that batch, and never past its file's capacity. The
     * segment is full for that batch when this is below its size.
     */
    private static long roomBytes(Segment seg, int firstBatchBytes, LogConfig cfg) {
        return Math.min(seg.remainingCapacityBytes(), seg.isEmpty()
                ? Math.max(cfg.segmentBytes(), firstBatchBytes)
                : (long) cfg.segmentBytes() - seg.sizeBytes());
    }

    private void maybeRoll(int bytesNeeded, long nowMs, LogConfig cfg) {
        Segment seg = segments.active();
        boolean full = roomBytes(seg, bytesNeeded, cfg) < bytesNeeded;
        boolean timeDue = !seg.isEmpty() && nowMs - segmentCreatedMs >= cfg.segmentRollMs();
        if (!full && !timeDue) {
            return;
        }
        int capacity = Math.max(cfg.segmentBytes(), bytesNeeded);
        if (seg.isEmpty()) {
            if (seg.remainingCapacityBytes() < bytesNeeded) {
                Segment bigger = Segment.createActive(files, dir, seg.baseOffset(), capacity);
                segments.putActive(bigger);
                seg.close();
            }
            return;
        }
        roll(capacity, nowMs);
    }

    /** Whether a failure to create a file says no file can be created here until an operator acts. */
    private static boolean cannotEverCreate(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.nio.file.AccessDeniedException || c instanceof java.nio.file.NoSuchFileException) {
                return true;
            }
            String m = String.valueOf(c.getMessage());
            if (m.contains("Read-only file system") || m.contains("Permission denied") || m.contains("Input/output error")) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null) {
            c = c.getCause();
        }
        return c.toString();
    }

    /** Seals the active segment and starts a new one at the log end offset; caller holds the lock. */
    private void roll(int capacityBytes, long nowMs) {
        String gone = java.nio.file.Files.isDirectory(dir) ? directoryCheck.get() : "partition directory " + dir + " is gone";
        if (gone != null) {
            // Never write a new segment into a deleted or replaced directory (it would vanish or land elsewhere).
            fatal = new LogStorageException("log of " + tp + " is offline: " + gone, dir, null);
            throw fatal;
        }
        Segment old = segments.active();
        try {
            old.seal();
        } catch (IOException e) {
            throw new LogStorageException("cannot seal segment of " + tp, old.path(), e);
        }
        index.putSegmentMaxTimestamp(partitionId, old.baseOffset(), old.maxTimestamp());
        Segment fresh;
        try {
            fresh = Segment.createActive(files, dir, logEndOffset, capacityBytes);
        } catch (LogStorageException e) {
            writeFailures.accept(e); // a full disk: refused until space returns, then the next append rolls again
            if (cannotEverCreate(e)) {
                // Found probing (a read-only file system): no new segment, so no append could ever
                // succeed here, yet the replica stayed in service as leader and every append failed.
                // Offline, it is reported and its leadership moves; a restart brings it back. Other
                // failures (a full disk, too many open files) may pass: the next append rolls again.
                fatal = new LogStorageException("log of " + tp + " is offline: cannot create a new segment: " + rootMessage(e),
                        e.file(), e);
                throw fatal;
            }
            throw e;
        }
        segments.putActive(fresh);
        segmentCreatedMs = nowMs;
        commit.directoryChanged();
        long upTo = fresh.baseOffset();
        // Kafka flushes a rolled segment asynchronously: appends never wait for its fsync.
        try {
            background.execute(() -> {
                try {
                    flushUpTo(upTo, FsyncListener.Trigger.ROLL);
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(PartitionLog.class).warn("flush after roll of {} failed", tp, e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // The manager is closing; its close() flushes every segment.
        }
    }

    /** Starts a new segment now (tests and admin tools); no-op if the active segment is empty. */
    public void roll() {
        lock.lock();
        try {
            ensureWritable();
            if (!segments.active().isEmpty()) {
                roll(config.segmentBytes(), clock.millis());
            }
        } finally {
            lock.unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new UnknownPartitionException(tp);
        }
    }

    /** The data directory check run before every roll (the manager's directory identity check). */
    void directoryCheck(java.util.function.Supplier<String> check) {
        this.directoryCheck = check;
    }

    /** The manager's full-disk gate: appends fail fast while it names a reason; failed writes are reported to it. */
    void writeGate(java.util.function.Supplier<String> block, java.util.function.Consumer<Throwable> failures) {
        this.writeBlock = block;
        this.writeFailures = failures;
    }

    /**
     * Throws the {@link AppendRefusedException} an append would get now (offline, only copy
     * corrupt, disk full), writing nothing; returns if an append would be tried.
     */
    public void checkAppendable() {
        ensureAppendable();
    }

    /**
     * Refuses an append before any byte is written ({@link AppendRefusedException}): while the log
     * is offline, while its only copy is corrupt from an offset on, and while the disk is full.
     */
    private void ensureAppendable() {
        LogStorageException f = fatal;
        if (f != null) {
            throw new AppendRefusedException("log of " + tp + " is offline after an earlier storage failure", f.file(), f);
        }
        CorruptAt bad = corruptFrom;
        if (bad != null) {
            // Records appended after unservable corrupt data could never be read: acknowledging them would lose them.
            // Cut at load (nothing after the corrupt batch): a restart accepts the loss. Found while
            // running: the bytes after it are still here, and only the operator's repair cuts them.
            // (Found probing: the message named repair for a log already cut.)
            boolean alreadyCut = bad.alreadyCut(logEndOffset());
            throw new AppendRefusedException("log of " + tp + " refuses appends: " + bad.lost() + " are corrupt and"
                    + " this is the only copy (" + (alreadyCut ? "the log was cut " + (bad.lostFrom() < bad.offset()
                    ? "when it loaded and starts again, empty, at " + bad.offset() : "there when it loaded")
                    + ": restart the node to accept the loss" : "stop the node and cut the log with basalt storage repair")
                    + ", or restore the replica)", dir, null);
        }
        String blocked = writeBlock.get();
        if (blocked != null) {
            throw new AppendRefusedException("log of " + tp + " refuses appends: " + blocked, dir, null);
        }
    }

    /**
     * Takes this log offline: it stops appending and serving (reads and writes throw
     * {@link LogStorageException} naming {@code reason}); the rest of the data directory keeps
     * working. Only a reopen (a restart, after the cause is fixed) brings it back.
     */
    public void markOffline(String reason) {
        if (fatal == null) {
            fatal = new LogStorageException("log of " + tp + " is offline: " + reason, dir, null);
        }
    }

    /**
     * Corrupt data was found at {@code offset} and no healthy replica can rebuild this one: from
     * now on reads serve only what lies before it; a read at or after it fails with
     * {@link CorruptLogException} naming the partition, offset, file and byte. The first finding stays.
     */
    public void markCorruptFrom(long offset, CorruptLogException cause) {
        markCorruptFrom(offset, cause, false);
    }

    /**
     * As above, for a log cut at {@code offset} when it loaded: nothing is stored at or after it;
     * {@code lostFrom} is the first offset lost (below {@code offset} when nothing was intact and
     * the log starts again, empty, at its old end).
     */
    public void markCutAtLoad(long offset, long lostFrom, CorruptLogException cause) {
        markCorruptFrom(offset, cause, true, Math.min(lostFrom, offset));
    }

    private void markCorruptFrom(long offset, CorruptLogException cause, boolean cutAtLoad) {
        markCorruptFrom(offset, cause, cutAtLoad, offset);
    }

    private void markCorruptFrom(long offset, CorruptLogException cause, boolean cutAtLoad, long lostFrom) {
        if (corruptFrom == null || offset < corruptFrom.offset()) {
            corruptFrom = new CorruptAt(offset, cause, cutAtLoad, lostFrom);
        }
    }

    /** Where unservable corrupt data starts, or null. */
    public CorruptAt corruptFrom() {
        return corruptFrom;
    }

    /** Whether corrupt data was already reported from {@code offset} or before (a finding there adds nothing). */
    public boolean corruptAtOrBefore(long offset) {
        CorruptAt known = corruptFrom;
        return known != null && known.offset() <= offset;
    }

    /**
     * The active segment if its file was deleted from outside while the node runs, else null. A
     * missing file is confirmed under the lock so a roll or truncation that replaces the file is
     * never mistaken for a deletion. Appends go on into the unlinked file and
     * would all be lost at the next start: the caller reports it like corrupt data from the
     * segment's base offset.
     */
    Segment activeSegmentIfFileGone() {
        if (closed || !segments.active().fileGone()) {
            return null; // the common case: one stat, no lock
        }
        // Confirmed under the append lock: the log's own rolls, truncations and deletions are not
        // findings. Waiting for it here (not trying it) matters: a check that skipped the log while
        // a flush held the lock missed the deletion (found as a flaky test).
        lock.lock();
        try {
            if (closed || fatal != null || !java.nio.file.Files.isDirectory(dir)) {
                return null; // a deleted partition directory is offlineIfDirectoryDeleted's to report
            }
            Segment active = segments.active();
            return active.fileGone() ? active : null;
        } finally {
            lock.unlock();
        }
    }

    /** The active segment's file cut from outside below its data: the segment, the file's length, and the first offset lost. */
    record ActiveCut(Segment segment, long onDiskBytes, long firstOffsetLost) {
    }

    /**
     * The active segment, if its file is shorter than its batches ({@code truncate -s} from
     * outside while the node runs), else null. Nothing else noticed such a cut while the node
     * ran: a follower's active segment is never read, and its later appends landed past the cut,
     * behind a hole of zeros that the next start reads as the end of the log. Confirmed under the
     * append lock, so the log's own appends, truncations and rolls are not findings.
     */
    ActiveCut activeSegmentCut() {
        if (closed) {
            return null;
        }
        Segment active = segments.active();
        long onDisk = active.openFileSizeBytes();
        if (onDisk < 0 || onDisk >= active.sizeBytes()) {
            return null; // the common case: one fstat, no lock
        }
        ActiveCut known = lastCut;
        if (known != null && known.segment() == active && known.onDiskBytes() == onDisk) {
            return known; // found before (an only copy keeps its cut file): no walk under the lock each second
        }
        lock.lock();
        try {
            if (closed || fatal != null || segments.active() != active) {
                return null;
            }
            onDisk = active.openFileSizeBytes();
            if (onDisk < 0 || onDisk >= active.sizeBytes()) {
                return null;
            }
            long firstLost;
            try {
                firstLost = active.firstOffsetPast(onDisk);
            } catch (RuntimeException e) {
                firstLost = active.baseOffset(); // its headers cannot be read: the whole segment is in doubt
            }
            ActiveCut cut = new ActiveCut(active, onDisk, firstLost);
            lastCut = cut;
            return cut;
        } finally {
            lock.unlock();
        }
    }

    /** The cut {@link #activeSegmentCut} found last (the check's thread only). */
    private volatile ActiveCut lastCut;

    /**
     * Takes the log offline if its partition directory was deleted from outside while the node
     * runs ({@code rm -rf}); true if it did. Its open and mapped files live on unlinked, so reads
     * and appends kept working and counted towards acks=all, and everything would be lost at the
     * next start. Found probing: nothing noticed it until the next segment roll, which with large
     * segments may never come. Offline, the replica is reported, leaves the ISR and hands over its
     * leadership; the log manager then hands it to the corruption handler, which has a replica with
     * a healthy copy elsewhere rebuilt. The log's own deletion closes it first, so is not a finding.
     */
    boolean offlineIfDirectoryDeleted() {
        if (closed || fatal != null || java.nio.file.Files.isDirectory(dir)) {
            return false;
        }
        lock.lock();
        try {
            if (closed || fatal != null || java.nio.file.Files.isDirectory(dir)) {
                return false;
            }
            fatal = new LogStorageException("log of " + tp + " is offline: the partition directory " + dir + " was deleted while"
                    + " the node ran (what the node still holds of it would be lost at the next start)", dir, null);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether {@code seg}'s file is gone from under the running node: confirmed under the append
     * lock, so the log's own renames (a merge renames segments it takes in, then removes them from
     * the list, all under the lock) are never taken for one.
     */
    boolean segmentFileGone(Segment seg) {
        if (!seg.fileGone()) {
            return false;
        }
        lock.lock();
        try {
            return !closed && segments.get(seg.baseOffset()) == seg && seg.fileGone();
        } finally {
            lock.unlock();
        }
    }

    /** The first segment with base offset ≥ {@code baseOffset} (the scrubber's walk), or null. */
    Segment segmentAtOrAfter(long baseOffset) {
        return closed ? null : segments.ceiling(baseOffset);
    }

    /** Whether an earlier storage failure took this log offline. */
    public boolean isOffline() {
        return fatal != null;
    }

    /** Why this log is offline, or null. */
    public String offlineReason() {
        LogStorageException f = fatal;
        return f == null ? null : f.getMessage();
    }

    private void ensureWritable() {
        ensureOpen();
        LogStorageException f = fatal;
        if (f != null) {
            throw new LogStorageException("log of " + tp + " is offline after an earlier storage failure", f.file(), f);
        }
    }

    // ------------------------------------------------------------------ flush

    private void maybeFlushAfterAppend(long endOffset, LogConfig cfg) {
        if (endOffset - recoveryPoint >= cfg.flushMessages()) {
            flushUpTo(endOffset, FsyncListener.Trigger.FLUSH_MESSAGES);
        }
    }

    /** fsyncs everything appended so far and advances the recovery point. */
    public void flush() {
        flushUpTo(logEndOffset, FsyncListener.Trigger.REQUESTED);
    }

    /** Group commit: see {@link GroupCommit#flushUpTo}. */
    void flushUpTo(long endOffset, FsyncListener.Trigger trigger) {
        commit.flushUpTo(endOffset, trigger);
    }

    /** Who hears of this log's fsyncs (set by the manager when it opens the log). */
    void fsyncListener(FsyncListener listener) {
        commit.fsyncListener(listener);
    }

    /** What group commit sees of this log. */
    private final class CommitTarget implements GroupCommit.Log {
        @Override
        public TopicPartition topicPartition() {
            return tp;
        }

        @Override
        public long recoveryPoint() {
            return recoveryPoint;
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public void ensureWritable() {
            PartitionLog.this.ensureWritable();
        }

        @Override
        public GroupCommit.Dirty dirtySegments() {
            lock.lock();
            try {
                List<Segment> dirty = new ArrayList<>();
                for (Segment s : segments.from(recoveryPoint)) {
                    if (s.retain()) {
                        dirty.add(s);
                    }
                }
                return new GroupCommit.Dirty(logEndOffset, dirty, truncations);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void advanceRecoveryPoint(GroupCommit.Dirty flushed) {
            lock.lock();
            try {
                if (flushed.truncations() != truncations) {
                    // A truncation ran during the fsync: offsets below the round's end may since have
                    // been cut and appended again, unsynced. The next round covers them.
                    return;
                }
                recoveryPoint = Math.min(Math.max(recoveryPoint, flushed.endOffset()), logEndOffset);
                persistState(false, -1);
                producers.onRecoveryPoint(recoveryPoint);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public LogStorageException offline(String what, Path file, IOException cause) {
            fatal = new LogStorageException(what, file, cause);
            return fatal;
        }
    }

    /** flush.ms: fsync if unflushed data is older than the setting. Called by the scheduler. */
    boolean maybeFlushByTime(long nowMs) {
        if (closed || logEndOffset <= recoveryPoint || nowMs - commit.lastFlushMs() < config.flushMs()) {
            return false;
        }
        flushUpTo(logEndOffset, FsyncListener.Trigger.FLUSH_MS);
        return true;
    }

    // ------------------------------------------------------------------ read

    /**
     * Reads whole batches starting with the one holding {@code startOffset}, up to {@code maxBytes}
     * (but always at least one batch, even a larger one, so a consumer can always progress, as
     * Kafka does), never a batch reaching {@code maxOffsetExclusive} (pass the high watermark for
     * consumers, {@link Long#MAX_VALUE} for followers). Batches come from one segment, as a view of
     * its mapping: the caller must {@link FetchSlice#close()} the result.
     *
     * @throws OffsetOutOfRangeException if startOffset is outside [logStartOffset, logEndOffset]
     * @throws LogStorageException if the log is offline (see {@link #markOffline})
     */
    public FetchSlice read(long startOffset, int maxBytes, long maxOffsetExclusive) {
        LogStorageException f = fatal;
        if (f != null) {
            // An offline log serves nothing: its files may be deleted, replaced or damaged.
            throw new LogStorageException("log of " + tp + " is offline after a storage failure", f.file(), f);
        }
        CorruptAt bad = corruptFrom;
        if (bad != null) {
            if (startOffset >= bad.offset()) {
                // Never serve corrupt data, nor what follows it (its offsets cannot be trusted either).
                throw new CorruptLogException(bad.cause().file(), bad.cause().position(), tp + " " + bad.lost()
                        + " cannot be served (corrupt batch; this is the only copy" + (bad.lostFrom() < bad.offset()
                        ? ", cut when it loaded: the log starts again at " + bad.offset() + ", and takes appends once a restart"
                        + " accepts the loss" : "")
                        + "), read at " + startOffset);
            }
            maxOffsetExclusive = Math.min(maxOffsetExclusive, bad.offset());
        }
        try {
            return reader.read(startOffset, maxBytes, maxOffsetExclusive);
        } catch (LogReader.CorruptBatchException e) {
            reportCorruptRead(e);
            throw e;
        }
    }

    /** Where a corrupt batch found by a read goes (the log manager's corruption handler); once per log. */
    private volatile java.util.function.BiConsumer<Long, CorruptLogException> corruptReadListener = (offset, e) -> { };
    private final java.util.concurrent.atomic.AtomicBoolean corruptReadReported = new java.util.concurrent.atomic.AtomicBoolean();

    void corruptReadListener(java.util.function.BiConsumer<Long, CorruptLogException> listener) {
        this.corruptReadListener = listener;
    }

    /**
     * A batch this log served failed its CRC where it was checked (a follower could not append it,
     * a consumer asked for a check): handed to the corruption handler as a read's finding would be
     * (once per log). Returns what was reported, for the caller to answer with.
     */
    public CorruptLogException reportCorruptBatch(long offset, String why) {
        CorruptLogException e = new CorruptLogException(dir, -1, tp + " batch at offset " + offset + " is corrupt (" + why
                + "); it and what follows are not served");
        if (corruptReadReported.compareAndSet(false, true)) {
            corruptReadListener.accept(offset, e);
        }
        return e;
    }

    private void reportCorruptRead(LogReader.CorruptBatchException e) {
        if (corruptReadReported.compareAndSet(false, true)) {
            corruptReadListener.accept(e.offset(), e);
        }
    }

    /**
     * The first record with a timestamp ≥ {@code timestampMs} (ListOffsets by time): the floor
     * time-index entry below the target bounds where to start, then batches are scanned forward.
     * EARLIEST/LATEST are the broker's business: {@link #logStartOffset()}/{@link #logEndOffset()}.
     *
     * @return empty if no record is that new
     */
    public Optional<TimestampOffset> offsetForTimestamp(long timestampMs) {
        return reader.offsetForTimestamp(timestampMs);
    }

    // ------------------------------------------------------------------ epochs, high watermark

    /**
     * Records that {@code leaderEpoch} starts at {@code startOffset} (the leader calls this on election).
     *
     * @throws StaleLeaderEpochException if a newer epoch is already recorded
     */
    public void assignEpoch(int leaderEpoch, long startOffset) {
        lock.lock();
        try {
            ensureWritable();
            if (epochs.assign(leaderEpoch, startOffset)) {
                persistState(false, -1);
            }
        } finally {
            lock.unlock();
        }
    }

    /** OffsetForLeaderEpoch: see {@link LeaderEpochCache#endOffsetFor}. */
    public EpochEndOffset endOffsetFor(int leaderEpoch) {
        lock.lock();
        try {
            ensureOpen();
            return epochs.endOffsetFor(leaderEpoch, logEndOffset);
        } finally {
            lock.unlock();
        }
    }

    public int latestEpoch() {
        lock.lock();
        try {
            return epochs.latestEpoch();
        } finally {
            lock.unlock();
        }
    }

    public List<LeaderEpochCache.EpochEntry> epochEntries() {
        lock.lock();
        try {
            return epochs.entries();
        } finally {
            lock.unlock();
        }
    }

    /** Sets the high watermark, clamped to [logStartOffset, logEndOffset]; checkpointed periodically. */
    public long updateHighWatermark(long hw) {
        lock.lock();
        try {
            long clamped = Math.max(logStartOffset, Math.min(hw, logEndOffset));
            highWatermark = clamped;
            return clamped;
        } finally {
            lock.unlock();
        }
    }

    /** Writes the high watermark (and the rest of the state) to the index. */
    public void checkpointHighWatermark() {
        if (!closed) {
            lock.lock();
            try {
                persistState(false, -1);
            } finally {
                lock.unlock();
            }
        }
    }

    public void updateConfig(LogConfig newConfig) {
        lock.lock();
        try {
            if (newConfig.cleanupCompact() && !gapsPossible && !closed) {
                markGapsPossible(); // durable before the compactor can remove a batch
            }
            config = newConfig;
            indexWriter.indexIntervalBytes(newConfig.indexIntervalBytes());
            fitActiveSegment(newConfig.segmentBytes());
            warnIfTombstoneStateLost();
        } finally {
            lock.unlock();
        }
    }

    /** Set when the index had no state for this log: the end below which tombstones may be gone; -1 once warned. */
    private long tombstoneStateLostBelow = -1; // guarded by lock

    /**
     * The index had no stored state for this log (damaged or deleted), so where compaction removed
     * tombstones is unknown and taken as anywhere below {@code offset}. That matters (followers
     * behind it refetch) only for a compacted topic, and the log learns its topic's config after
     * it loads: the warning waits until the config says compact.
     */
    void tombstoneStateLost(long offset) {
        lock.lock();
        try {
            tombstoneStateLostBelow = offset;
            warnIfTombstoneStateLost();
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@link #tombstoneStateLost}'s warning still waits for a compact config (tests). */
    boolean tombstoneStateLostWarningPending() {
        lock.lock();
        try {
            return tombstoneStateLostBelow >= 0;
        } finally {
            lock.unlock();
        }
    }

    private void warnIfTombstoneStateLost() {
        if (tombstoneStateLostBelow >= 0 && config.cleanupCompact()) {
            org.slf4j.LoggerFactory.getLogger(PartitionLog.class).warn("{}: no stored partition state: compaction may have"
                    + " removed tombstones anywhere below offset {}; a follower behind it with an older copy refetches the"
                    + " whole log from this node", tp, tombstoneStateLostBelow);
            tombstoneStateLostBelow = -1;
        }
    }

    /**
     * Shrinks the active segment's file to {@code segmentBytes} (never below its data). Logs open
     * before their topic's config is known, with the broker's default as capacity: a topic with a
     * smaller segment.bytes had a sparse active file of the default's size (found probing: 1 GiB
     * files for a 4 KiB setting after a restart). A failure is logged, not thrown: the segment
     * then keeps its larger file, and still rolls at segment.bytes. Caller holds the lock.
     */
    private void fitActiveSegment(int segmentBytes) {
        if (closed || fatal != null) {
            return;
        }
        Segment active = segments.active();
        try {
            active.shrinkCapacity(segmentBytes); // a no-op unless its capacity is above segment.bytes and its data
        } catch (IOException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(PartitionLog.class).warn("could not shrink the active segment {} to segment.bytes {}: {}",
                    active.path(), segmentBytes, e.toString());
        }
    }

    /** Records durably that the log may have gaps, then sets {@link #gapsPossible} (under the lock). */
    private void markGapsPossible() {
        saveState(true, -1, true);
        gapsPossible = true;
    }

    private void persistState(boolean sync, long cleanEndOffset) {
        saveState(sync, cleanEndOffset, gapsPossible);
    }

    /** Writes the partition's state with {@code gaps} as its gapsPossible (which may be ahead of the field). */
    private void saveState(boolean sync, long cleanEndOffset, boolean gaps) {
        index.saveState(dir.getFileName().toString(), new PartitionState(partitionId, logStartOffset, recoveryPoint,
                highWatermark, cleanEndOffset, epochs.entries(), gaps, tombstonesRemovedEnd), sync);
    }

    /**
     * What the last compaction pass before a clean close left, from the checkpoint that close
     * wrote: the first pass after this open then cleans only what is dirty, not the whole log.
     * Called by the manager once, right after opening a log it loaded without recovery (nothing was
     * cut, so the segments are the ones that pass left) from the state of the same close, before
     * any other thread sees the log. Ignored when it does not fit the log (a cleaned end past the
     * active segment's base).
     */
    void restoreCleaningMemory(dev.basalt.log.index.CleaningCheckpoint left) {
        lock.lock();
        try {
            if (left.cleanedEndOffset() > segments.active().baseOffset()) {
                return;
            }
            cleaning = new CleaningGate.Memory(left.cleanedEndOffset(), left.tombstoneDueMs(), left.tombstoneHeldFromOffset());
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ truncation

    /**
     * Removes everything at and above {@code offset} (a follower after a leader change). The cut is
     * at a batch boundary: if {@code offset} falls inside a batch, that whole batch goes and the
     * new log end offset is its base offset (≤ offset).
     *
     * @return the new log end offset
     * @throws OffsetOutOfRangeException if offset is below the log start offset
     */
    public long truncateTo(long offset) {
        lock.lock();
        try {
            ensureWritable();
            if (offset < logStartOffset) {
                throw new OffsetOutOfRangeException(tp, offset, logStartOffset, logEndOffset);
            }
            if (offset >= logEndOffset) {
                // Nothing to cut, but an epoch this replica started at its log end as a leader and
                // never wrote in diverges all the same: a follower truncating to its log end drops
                // it, or its next OffsetForLeaderEpoch would ask about that epoch again (KIP-279's
                // rounds must each lower the latest epoch).
                if (offset == logEndOffset && epochs.truncateFromEnd(offset)) {
                    persistState(true, -1);
                }
                return logEndOffset;
            }
            Segment target = segments.segmentFor(offset);
            // Newest first: a crash part-way leaves the log's segments a contiguous run from its start.
            removeSegments(newestFirst(segments.after(target.baseOffset())));
            int size = target.sizeBytes();
            int cut = target.retain() ? locateAndRelease(target, size, offset) : -1;
            if (cut < 0) {
                cut = size;
            }
            // The new end is where the last kept batch ends (or the segment's base): an end offset
            // inside a compaction gap could not be recovered from the files after a crash.
            long newEnd = endOfBatchesBefore(target, cut);
            target = reactivate(target);
            try {
                target.zeroFrom(cut);
            } catch (IOException e) {
                fatal = new LogStorageException("truncation of " + tp + " failed; log is offline", target.path(), e);
                throw fatal;
            }
            afterTruncation(Math.max(newEnd, logStartOffset));
            producers.truncateTo(logEndOffset, logStartOffset, PartitionProducerState.readerOf(this));
            return logEndOffset;
        } finally {
            lock.unlock();
        }
    }

    /** One past the last offset of the batches in [0, cut) of {@code seg}, or its base offset. */
    private static long endOfBatchesBefore(Segment seg, int cut) {
        ByteBuffer map = seg.mapping();
        long end = seg.baseOffset();
        for (int pos = 0; pos < cut; pos += Segment.batchSizeAt(map, pos)) {
            LogReader.checkHeader(seg, map, pos, cut);
            end = Segment.lastOffsetAt(map, pos) + 1;
        }
        return end;
    }

    private int locateAndRelease(Segment seg, int size, long offset) {
        try {
            return reader.locate(seg, size, offset);
        } finally {
            seg.release();
        }
    }

    /** Makes a sealed segment the active one again (after later segments were removed). */
    private Segment reactivate(Segment target) {
        if (!target.isSealed()) {
            return target;
        }
        Segment re = Segment.openActive(files, target.path(), target.baseOffset(), target.sizeBytes(),
                config.segmentBytes());
        re.maxTimestamp(target.maxTimestamp());
        segments.put(re);
        target.close();
        return re;
    }

    private void afterTruncation(long newEnd) {
        reader.truncated();
        segments.activateLast();
        logEndOffset = newEnd;
        recoveryPoint = Math.min(recoveryPoint, newEnd);
        truncations++;
        // the segment cut becomes the active one: what is appended to it is dirty, so is all of it
        cleaning = cleaning.truncatedTo(segments.active().baseOffset());
        highWatermark = Math.min(highWatermark, newEnd);
        index.deleteOffsetsFrom(partitionId, newEnd);
        index.deleteTimesFromOffset(partitionId, newEnd);
        indexWriter.resetTimeState();
        epochs.truncateFromEnd(newEnd);
        // Nothing is left above the new end to lack a tombstone: a value above it (a log whose
        // stored state was lost takes its whole length) would send followers into refetches.
        tombstonesRemovedEnd = Math.min(tombstonesRemovedEnd, newEnd);
        segmentCreatedMs = clock.millis();
        fsyncDirectory();
        persistState(true, -1);
    }

    private static List<Segment> newestFirst(java.util.Collection<Segment> segments) {
        List<Segment> out = new ArrayList<>(segments);
        java.util.Collections.reverse(out);
        return out;
    }

    /** Takes segments out of the log; their files are renamed {@code .deleted} and removed once unreferenced. */
    private void removeSegments(List<Segment> doomed) {
        // Their index entries go first, durably: an entry left behind by a crash after the rename
        // would make the segment look lost at the next load (LogLoader#missingSegment).
        for (Segment s : doomed) {
            index.deleteSegmentMaxTimestamp(partitionId, s.baseOffset());
        }
        if (!doomed.isEmpty()) {
            index.syncWal();
        }
        for (Segment s : doomed) {
            segments.remove(s);
            try {
                s.markDeleted();
            } catch (IOException e) {
                fatal = new LogStorageException("cannot remove segment of " + tp + "; log is offline", s.path(), e);
                throw fatal;
            } finally {
                s.close();
            }
        }
    }

    private void fsyncDirectory() {
        try {
            files.fsyncDirectory(dir);
        } catch (IOException e) {
            fatal = new LogStorageException("directory fsync of " + tp + " failed; log is offline", dir, e);
            throw fatal;
        }
    }

    /**
     * Moves the log end up to {@code offset}, leaving the offsets from the old end unused (a gap,
     * as compaction leaves): an only copy that lost its tail takes its next records after the
     * offsets it had given out, so a consumer's committed position past the cut never lands among
     * other records (found probing: a group committed at 14811 silently skipped the 851 records
     * written at 13960..14810 after the restart that accepted the loss). The active segment, if it
     * holds records, is sealed (one that holds none goes), and a new one starts at {@code offset}.
     * An empty log restarts there instead ({@link #truncateFullyAndStartAt}).
     */
    public void skipTo(long offset) {
        lock.lock();
        try {
            ensureWritable();
            if (offset <= logEndOffset) {
                return;
            }
            if (logStartOffset == logEndOffset) {
                truncateFullyAndStartAt(offset);
                return;
            }
            if (!gapsPossible) {
                markGapsPossible(); // durable before the gap is on disk
            }
            Segment old = segments.active();
            Segment fresh = Segment.createActive(files, dir, offset, config.segmentBytes()); // first: nothing else changed if it fails
            if (old.isEmpty()) {
                removeSegments(List.of(old));
            } else {
                try {
                    old.seal();
                } catch (IOException e) {
                    fresh.close();
                    deleteQuietly(fresh.path()); // or the next load would find the log ending at offset
                    throw new LogStorageException("cannot seal segment of " + tp, old.path(), e);
                }
                index.putSegmentMaxTimestamp(partitionId, old.baseOffset(), old.maxTimestamp());
            }
            segments.putActive(fresh);
            segmentCreatedMs = clock.millis();
            logEndOffset = offset;
            fsyncDirectory();
            persistState(true, -1);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Empties the log and restarts it at {@code offset} (a follower whose leader's log starts past
     * its end). Log start, end, high watermark and recovery point all become {@code offset}.
     */
    public void truncateFullyAndStartAt(long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset " + offset + " < 0");
        }
        lock.lock();
        try {
            ensureWritable();
            cleaning = CleaningGate.Memory.NONE;
            removeSegments(newestFirst(segments.all())); // newest first, as in truncateTo
            Segment fresh = Segment.createActive(files, dir, offset, config.segmentBytes());
            segments.putActive(fresh);
            logStartOffset = offset;
            logEndOffset = offset;
            recoveryPoint = offset;
            truncations++;
            highWatermark = offset;
            index.clearIndex(partitionId);
            indexWriter.resetTimeState();
            epochs.clear();
            tombstonesRemovedEnd = Math.min(tombstonesRemovedEnd, offset); // as in afterTruncation
            producers.truncateFully();
            segmentCreatedMs = clock.millis();
            fsyncDirectory();
            persistState(true, -1);
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ idempotent producers (issue 11)

    /** Forgets producers idle for {@code expirationMs} (by their batches' timestamps); returns how many. */
    public int removeExpiredProducers(long nowMs, long expirationMs) {
        lock.lock();
        try {
            return closed ? 0 : producers.removeExpired(nowMs, expirationMs);
        } finally {
            lock.unlock();
        }
    }

    /** Idempotent producers this partition remembers (the producer-state size metric). */
    public int producerStateSize() {
        return producers.size();
    }

    /** Producers forgotten because producer.state.producers.max was reached. */
    public long producerStateEvictions() {
        return producers.evictions();
    }

    /** What the partition knows of one producer (tests and diagnostics). */
    public java.util.Optional<dev.basalt.log.producer.ProducerStateEntry> producerState(long producerId) {
        return producers.entry(producerId);
    }

    // ------------------------------------------------------------------ retention

    /**
     * Deletes whole segments that retention.ms or retention.bytes allow (only under
     * cleanup.policy delete, and only below the high watermark, as Kafka does), advancing the
     * log start offset. The active segment goes too once the whole log is below the high
     * watermark and it qualifies (an idle partition empties): a new empty segment replaces it.
     *
     * @return how many segments were deleted
     */
    public int applyRetention(long nowMs) {
        LogConfig cfg = config;
        if (!cfg.cleanupDelete() || closed || (cfg.retentionMs() < 0 && cfg.retentionBytes() < 0)) {
            return 0;
        }
        lock.lock();
        try {
            ensureWritable();
            List<RetentionCandidate> candidates = new ArrayList<>();
            for (Segment s : segments.sealed()) {
                candidates.add(new RetentionCandidate(s, segments.higherBaseOffset(s.baseOffset())));
            }
            int sealedCount = candidates.size();
            Segment active = segments.active();
            if (!active.isEmpty() && highWatermark >= logEndOffset) {
                // Found probing: an idle partition kept its last records for good (22 minutes past a
                // 30 s retention.ms), since segments roll only on an append. As in Kafka, the active
                // segment is a candidate too once the whole log is below the high watermark; if it
                // goes, a new empty one takes its place first.
                candidates.add(new RetentionCandidate(active, logEndOffset));
            }
            RetentionPlanner.Plan plan = RetentionPlanner.plan(candidates, sizeBytes(), highWatermark, logStartOffset,
                    new RetentionPlanner.Limits(cfg.retentionMs(), cfg.retentionBytes()), nowMs);
            if (plan.isEmpty()) {
                return 0;
            }
            if (plan.segmentCount() > sealedCount) {
                roll(cfg.segmentBytes(), nowMs); // seals `active` in place: the candidate stays the same segment
            }
            List<Segment> doomed = new ArrayList<>();
            long doomedBytes = 0;
            for (RetentionCandidate c : candidates.subList(0, plan.segmentCount())) {
                doomed.add(c.segment);
                doomedBytes += c.segment.sizeBytes();
            }
            long newStart = plan.newLogStartOffset();
            // the segments' own offsets (found probing: a follower, whose log start the leader had
            // moved past them already, logged "offsets 1260..1259")
            long doomedEnd = candidates.get(plan.segmentCount() - 1).nextBaseOffset() - 1;
            // Found probing: segments went without a word. One line per deletion, with its reason, as Kafka logs them.
            org.slf4j.LoggerFactory.getLogger(PartitionLog.class).info(
                    "Retention deleted {} segment(s) of {} ({} bytes, offsets {}..{}): {}; the log now starts at {}", doomed.size(), tp,
                    doomedBytes, doomed.get(0).baseOffset(), doomedEnd, plan.bySize() == doomed.size()
                            ? "over retention.bytes=" + cfg.retentionBytes()
                            : plan.bySize() == 0 ? "older than retention.ms=" + cfg.retentionMs()
                            : plan.bySize() + " over retention.bytes=" + cfg.retentionBytes() + ", the others older than retention.ms="
                                    + cfg.retentionMs(), Math.max(logStartOffset, newStart));
            // The new start first: a read at the old start meanwhile is out of range, never a read
            // of the next segment taken for missing offsets.
            logStartOffset = Math.max(logStartOffset, newStart);
            removeSegments(doomed);
            highWatermark = Math.max(highWatermark, logStartOffset);
            recoveryPoint = Math.max(recoveryPoint, logStartOffset);
            if (plan.segmentCount() > sealedCount) {
                producers.onLogEmptied(logEndOffset); // stored before the state that says so
            }
            index.deleteOffsetRange(partitionId, 0, logStartOffset);
            index.deleteTimesBeforeOffset(partitionId, logStartOffset);
            epochs.truncateFromStart(logStartOffset);
            fsyncDirectory();
            persistState(false, -1);
            return doomed.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * A follower's log start follows its leader's, as Kafka's follower does (the leader sends its
     * log start with every fetch answer), up to this log's high watermark. Found probing: each
     * replica moved its log start only when its own retention check ran (every 5 min by default),
     * so a follower elected meanwhile moved "earliest" back (581 → 0) and served records its
     * leader had already deleted. Sealed segments wholly below the new start are deleted, as
     * retention would; the segment holding it stays (the start may lie inside it; reads below it
     * are out of range). The new start is stored synced before this returns (DeleteRecords relies
     * on it surviving a power loss).
     *
     * @return how many segments were deleted
     */
    public int advanceLogStartOffset(long offset) {
        lock.lock();
        try {
            ensureWritable();
            long newStart = Math.min(offset, highWatermark);
            if (newStart <= logStartOffset) {
                return 0;
            }
            List<Segment> doomed = new ArrayList<>();
            for (Segment s : segments.sealed()) {
                Long next = segments.higherBaseOffset(s.baseOffset());
                if (next == null || next > newStart) {
                    break;
                }
                doomed.add(s);
            }
            if (!doomed.isEmpty()) {
                org.slf4j.LoggerFactory.getLogger(PartitionLog.class).info("Deleted {} segment(s) of {} below offset {}: the"
                        + " leader's log starts there (its retention deleted them)", doomed.size(), tp, newStart);
            }
            // The new start first: a read at the old start meanwhile is out of range (as in applyRetention).
            logStartOffset = newStart;
            removeSegments(doomed);
            recoveryPoint = Math.max(recoveryPoint, logStartOffset);
            long firstBase = segments.firstEntry().getKey();
            index.deleteOffsetRange(partitionId, 0, firstBase);
            index.deleteTimesBeforeOffset(partitionId, firstBase);
            epochs.truncateFromStart(logStartOffset);
            if (!doomed.isEmpty()) {
                fsyncDirectory();
            }
            // Synced: a leader answers DeleteRecords once its replicas report their new starts, and
            // a start that a power loss could take back would let the deleted records return.
            persistState(true, -1);
            return doomed.size();
        } finally {
            lock.unlock();
        }
    }

    /** A sealed segment offered to the retention planner; its max timestamp is computed only if asked. */
    private final class RetentionCandidate implements RetentionPlanner.Candidate {
        final Segment segment;
        private final long nextBaseOffset;

        RetentionCandidate(Segment segment, long nextBaseOffset) {
            this.segment = segment;
            this.nextBaseOffset = nextBaseOffset;
        }

        @Override
        public long baseOffset() {
            return segment.baseOffset();
        }

        @Override
        public long nextBaseOffset() {
            return nextBaseOffset;
        }

        @Override
        public long sizeBytes() {
            return segment.sizeBytes();
        }

        @Override
        public long maxTimestampMs() {
            long ts = maxTimestampOf(segment);
            return ts == Segment.UNKNOWN_TIMESTAMP ? RetentionPlanner.UNKNOWN_TIMESTAMP : ts;
        }
    }

    /** A sealed segment's max timestamp, computed from its batch headers if the index lost it. */
    private long maxTimestampOf(Segment s) {
        if (s.maxTimestamp() != Segment.UNKNOWN_TIMESTAMP || s.isEmpty()) {
            return s.maxTimestamp();
        }
        if (!s.retain()) {
            return Segment.UNKNOWN_TIMESTAMP;
        }
        try {
            ByteBuffer map = s.mapping();
            long max = Segment.UNKNOWN_TIMESTAMP;
            for (int pos = 0; pos < s.sizeBytes(); pos += Segment.batchSizeAt(map, pos)) {
                LogReader.checkHeader(s, map, pos, s.sizeBytes());
                max = Math.max(max, Segment.maxTimestampAt(map, pos));
            }
            s.maxTimestamp(max);
            index.putSegmentMaxTimestamp(partitionId, s.baseOffset(), max);
            return max;
        } finally {
            s.release();
        }
    }

    // ------------------------------------------------------------------ compaction

    /** Compaction removes tombstones only below this offset; see {@link #tombstoneBoundOffset(long)}. */
    private volatile long tombstoneBoundOffset = Long.MAX_VALUE;

    /**
     * Where every replica of this partition holds the log: compaction removes a tombstone only
     * below {@code offset}, so a replica that was away (down, cut off, or not yet caught up) still
     * finds every deletion after its log end when it fetches, instead of keeping the deleted value
     * for good. The replication layer sets it (0 until it knows; a replica's leader tells it);
     * a log used alone keeps the default, Long.MAX_VALUE (no bound). Calls must not race each
     * other (a raise is not locked): the replication layer makes them under its partition's lock.
     */
    public void tombstoneBoundOffset(long offset) {
        long bound = Math.max(0, offset);
        if (bound >= tombstoneBoundOffset) {
            tombstoneBoundOffset = bound; // a raise: a swap judged against the lower bound is only stricter
            return;
        }
        // A fall (a replica joined, or leadership moved) waits for a compacted segment being
        // swapped in, so once this returns no swap removes a tombstone at or above the new bound.
        lock.lock();
        try {
            tombstoneBoundOffset = bound;
        } finally {
            lock.unlock();
        }
    }

    public long tombstoneBoundOffset() {
        return tombstoneBoundOffset;
    }

    /** See {@link #tombstonesRemovedEnd()}. */
    private volatile long tombstonesRemovedEnd;

    /**
     * Compaction may have removed a tombstone below this offset, on this replica or on a leader it
     * copied from; 0 if none was. Never decreases, except to the log end when a truncation cuts the
     * log below it (nothing above is left to lack a tombstone), and is stored before the log it describes: a
     * compacted segment is swapped in, and a leader's batches appended, only after it is.
     *
     * <p>A leader sends it with every fetch answer. A follower that begins following with records
     * below its fetch offset, from an earlier life (it was down, or out of the partition's replicas
     * and added back before it restarted), checks it: if its fetch offset is below the value, a
     * deletion above that offset may be gone from the leader while the value it deleted is still
     * in the follower's log, so the follower refetches the whole log. The tombstone bound keeps
     * the value at or below what a caught-up replica has fsynced, so such a replica never
     * refetches for this; one still copying the partition from its start may (see ReplicaFetcher).
     */
    public long tombstonesRemovedEnd() {
        return tombstonesRemovedEnd;
    }

    /**
     * A follower about to append a leader's batches: records that the leader's log, which it
     * copies, had tombstones removed below {@code leaderTombstonesRemovedEnd} (stored, with a sync
     * write, when it raises this log's value).
     */
    public void inheritTombstonesRemovedEnd(long leaderTombstonesRemovedEnd) {
        if (leaderTombstonesRemovedEnd <= tombstonesRemovedEnd) {
            return;
        }
        lock.lock();
        try {
            ensureWritable();
            raiseTombstonesRemovedEnd(leaderTombstonesRemovedEnd);
        } finally {
            lock.unlock();
        }
    }

    /** Raises and stores {@link #tombstonesRemovedEnd} (sync). Caller holds the lock. */
    private void raiseTombstonesRemovedEnd(long end) {
        if (end > tombstonesRemovedEnd) {
            long before = tombstonesRemovedEnd;
            tombstonesRemovedEnd = end;
            try {
                persistState(true, -1);
            } catch (RuntimeException e) {
                tombstonesRemovedEnd = before;
                throw e;
            }
        }
    }

    /**
     * What the last compaction pass left (see {@link CleaningGate}); written under the append
     * lock, read by the pass under it. NONE after the log opens (its first pass cleans it whole),
     * unless it opened after a clean close, which kept it ({@link #restoreCleaningMemory}).
     */
    private volatile CleaningGate.Memory cleaning = CleaningGate.Memory.NONE;
    /** Compaction passes that ran since the log opened, and ticks that found no reason to run one. */
    private final java.util.concurrent.atomic.AtomicLong compactionPasses = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong compactionPassesSkipped = new java.util.concurrent.atomic.AtomicLong();

    /**
     * One compaction tick (cleanup.policy compact). Runs a pass only when {@link CleaningGate}
     * finds a reason: enough dirty bytes (min.cleanable.dirty.ratio), a dirty record older than
     * max.compaction.lag.ms, or a kept tombstone now due for removal. A pass goes over the sealed
     * segments below the high watermark: keeps the latest record per key, drops tombstones
     * delete.retention.ms after the first pass that kept them (the delete horizon that pass writes
     * into their batch), keeps offsets. Each segment is rewritten to a {@code .cleaned} file,
     * fsynced, and swapped in by an atomic rename under the append lock; appends are never blocked
     * for the rewrite itself. Then adjacent small cleaned segments are merged.
     *
     * @return how many segments were rewritten
     */
    public int compact(long nowMs) {
        LogConfig cfg = config;
        if (!cfg.cleanupCompact() || closed || !compactionLock.tryLock()) {
            return 0;
        }
        List<Segment> cleanable = new ArrayList<>();
        try {
            List<CleaningGate.Segment> sizes = new ArrayList<>();
            List<Long> ends = new ArrayList<>();
            CleaningGate.Memory before;
            long truncationsBefore;
            lock.lock();
            try {
                ensureWritable();
                before = cleaning;
                truncationsBefore = truncations;
                rollIdleForMaxCompactionLag(cfg, nowMs);
                boolean lagBounded = cfg.maxCompactionLagMs() != Long.MAX_VALUE;
                for (Segment s : segments.sealed()) {
                    if (!cleanable(s, cfg, nowMs)) {
                        break;
                    }
                    if (s.retain()) {
                        cleanable.add(s);
                        // a header read only where max.compaction.lag.ms can use it: dirty segments
                        long firstTimestamp = lagBounded && s.baseOffset() >= before.cleanedEndOffset()
                                ? firstBatchTimestampOf(s) : Long.MIN_VALUE;
                        sizes.add(new CleaningGate.Segment(s.baseOffset(), s.sizeBytes(), firstTimestamp));
                        ends.add(segments.higherBaseOffset(s.baseOffset()));
                    }
                }
            } finally {
                lock.unlock();
            }
            CleaningGate.Reason why = CleaningGate.decide(sizes, before, cfg.minCleanableDirtyRatio(), cfg.maxCompactionLagMs(),
                    tombstoneBoundOffset, nowMs);
            if (why == CleaningGate.Reason.NONE) {
                compactionPassesSkipped.incrementAndGet();
                mergeSmallSegments(nowMs); // a merge the last pass left for lack of rounds
                return 0;
            }
            compactionPasses.incrementAndGet();
            org.slf4j.LoggerFactory.getLogger(PartitionLog.class).debug("{}: compaction pass ({})", tp, why);
            // As Kafka's cleaner: the map holds the keys of the dirty segments only (the cleaned
            // ones hold one record per key already), and the pass rewrites the log from its start
            // to the end of what the map covers. A key the map lacks counts as latest where it is;
            // a log with more keys than the map holds is cleaned a stretch of dirty segments per pass.
            int firstDirty = 0;
            while (firstDirty < cleanable.size() && cleanable.get(firstDirty).baseOffset() < before.cleanedEndOffset()) {
                firstDirty++;
            }
            Compactor.OffsetMap latest = Compactor.buildOffsetMap(cleanable.subList(firstDirty, cleanable.size()),
                    compactionKeyCountMax);
            int covered = firstDirty + latest.segmentsCovered();
            Compactor.TombstoneSchedule schedule = new Compactor.TombstoneSchedule();
            long[] firstRefused = {Long.MAX_VALUE};
            int rewritten = compactSegments(cleanable.subList(0, covered), latest, nowMs, cfg, schedule, firstRefused);
            long cleanedEnd = covered == 0 ? before.cleanedEndOffset() : ends.get(covered - 1);
            // A segment whose swap was refused kept every record: it, and all after it, stay dirty,
            // or a later pass (whose map holds only dirty keys) would take its superseded values for
            // latest, and a key deleted after them would come back once its tombstone went (review).
            cleanedEnd = Math.min(cleanedEnd, firstRefused[0]);
            lock.lock();
            try {
                cleaning = truncations != truncationsBefore ? CleaningGate.Memory.NONE
                        : new CleaningGate.Memory(cleanedEnd, schedule.dueMs(), schedule.heldFromOffset());
            } finally {
                lock.unlock();
            }
            mergeSmallSegments(nowMs);
            return rewritten;
        } finally {
            for (Segment s : cleanable) {
                s.release();
            }
            compactionLock.unlock();
        }
    }

    /**
     * Segments roll only on an append, and compaction takes only sealed ones: on an idle compacted
     * topic a record could wait in the active segment for good, past max.compaction.lag.ms. Once
     * the active segment's first batch is that old and the whole log is below the high watermark,
     * it is sealed (a new empty one takes its place), as retention does for an expired one. Caller
     * holds the append lock.
     */
    private void rollIdleForMaxCompactionLag(LogConfig cfg, long nowMs) {
        Segment active = segments.active();
        if (cfg.maxCompactionLagMs() == Long.MAX_VALUE || active.isEmpty() || highWatermark < logEndOffset
                || !active.retain()) {
            return;
        }
        long firstTimestamp;
        try {
            firstTimestamp = firstBatchTimestampOf(active);
        } finally {
            active.release();
        }
        if (firstTimestamp != Long.MIN_VALUE && CleaningGate.olderThan(firstTimestamp, cfg.maxCompactionLagMs(), nowMs)) {
            roll(cfg.segmentBytes(), nowMs);
        }
    }

    /** Compaction passes run since the log opened, and compaction ticks that ran none (nothing was due). */
    public long compactionPasses() {
        return compactionPasses.get();
    }

    public long compactionPassesSkipped() {
        return compactionPassesSkipped.get();
    }

    /** What the last compaction pass left (tests, metrics). */
    public CleaningGate.Memory cleaningMemory() {
        return cleaning;
    }

    /**
     * The newest timestamp of the segment's first batch (its age for max.compaction.lag.ms, as in
     * Kafka), or Long.MIN_VALUE if it has none. Caller holds the append lock and a reference.
     */
    private static long firstBatchTimestampOf(Segment s) {
        if (s.sizeBytes() < RecordBatch.RECORDS_OFFSET) {
            return Long.MIN_VALUE;
        }
        return Segment.maxTimestampAt(s.mapping(), 0);
    }

    /**
     * Whether compaction (and the merge after it) may take the sealed segment {@code s}: wholly
     * below the high watermark, and with no record younger than min.compaction.lag.ms. Sealed
     * segments are taken oldest first up to the first that is not. Caller holds the append lock.
     */
    private boolean cleanable(Segment s, LogConfig cfg, long nowMs) {
        if (segments.higherBaseOffset(s.baseOffset()) > highWatermark) {
            return false;
        }
        return cfg.minCompactionLagMs() <= 0 || nowMs - maxTimestampOf(s) >= cfg.minCompactionLagMs();
    }

    /** Segments merged into others since the log opened (a compacted log's small segments). */
    private final java.util.concurrent.atomic.AtomicLong segmentsMerged = new java.util.concurrent.atomic.AtomicLong();

    public long segmentsMerged() {
        return segmentsMerged.get();
    }

    /**
     * Compaction leaves small segments behind (each keeps only its latest records), and without
     * this a long-lived compacted log held one file and one mapping per segment it ever rolled
     * that still holds a latest value. Merges runs of adjacent sealed segments in the cleanable
     * range (below the high watermark, past min.compaction.lag.ms) whose sizes add up to at most
     * segment.bytes into the first of them, as Kafka's cleaner groups segments. Offsets, batches
     * and bytes are unchanged: the merged file is the segments' bytes one after another.
     * Caller holds the compaction lock.
     *
     * @return how many segments were merged into others
     */
    private int mergeSmallSegments(long nowMs) {
        int merged = 0;
        for (int round = 0; round < MERGE_ROUNDS_MAX; round++) {
            List<Segment> group = nextMergeGroup(nowMs);
            if (group.isEmpty()) {
                break;
            }
            try {
                if (!mergeGroup(group)) {
                    break; // the log changed meanwhile: the next pass looks again
                }
                merged += group.size() - 1;
            } finally {
                group.forEach(Segment::release);
            }
        }
        segmentsMerged.addAndGet(merged);
        return merged;
    }

    /** Merge groups one compaction pass may merge (each a separate swap under the append lock). */
    private static final int MERGE_ROUNDS_MAX = 64;

    /** The first run of 2+ adjacent mergeable segments whose sizes fit in segment.bytes, retained; empty if none. */
    private List<Segment> nextMergeGroup(long nowMs) {
        LogConfig cfg = config;
        List<Segment> run = new ArrayList<>();
        long runBytes = 0;
        lock.lock();
        try {
            if (closed || fatal != null) {
                return List.of();
            }
            long cleanedEnd = cleaning.cleanedEndOffset();
            for (Segment s : segments.sealed()) {
                if (!cleanable(s, cfg, nowMs) || segments.higherBaseOffset(s.baseOffset()) > cleanedEnd) {
                    break; // only cleaned segments: a merged one below the cleaned end is taken for clean
                }
                if (!run.isEmpty() && runBytes + s.sizeBytes() <= cfg.segmentBytes()) {
                    run.add(s);
                    runBytes += s.sizeBytes();
                    continue;
                }
                if (run.size() >= 2) {
                    break;
                }
                run.clear();
                run.add(s);
                runBytes = s.sizeBytes();
            }
            if (run.size() < 2) {
                return List.of();
            }
            List<Segment> retained = new ArrayList<>(run.size());
            for (Segment s : run) {
                if (!s.retain()) {
                    retained.forEach(Segment::release);
                    return List.of();
                }
                retained.add(s);
            }
            return retained;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Writes the group's bytes, one segment after another, to {@code <first>.log.merging} and
     * fsyncs it; then, under the append lock: stores the merged segment's max timestamp (synced,
     * so retention never takes it for older than it is), renames the file to {@code .log.swap}
     * (from here the next open finishes the merge: see LogLoader), renames every merged segment but
     * the first to {@code .deleted}, renames the swap file over the first, and swaps the segment
     * list (the new segment first, so a reader between the two steps finds every offset in either
     * the old segments or the new one). Readers holding an old segment keep its mapping.
     *
     * @return false if the log changed meanwhile (nothing done)
     */
    private boolean mergeGroup(List<Segment> group) {
        Segment first = group.get(0);
        Path merging = first.path().resolveSibling(Segment.fileName(first.baseOffset()).replace(Segment.SUFFIX, Segment.MERGING_SUFFIX));
        Path swap = first.path().resolveSibling(Segment.swapFileName(first.baseOffset(), group.get(group.size() - 1).baseOffset()));
        long total = 0;
        long maxTimestamp = Segment.UNKNOWN_TIMESTAMP;
        try (dev.basalt.log.segment.SegmentFile f = files.open(merging, true, true)) {
            f.truncate(0);
            for (Segment s : group) {
                ByteBuffer map = s.mapping();
                long batchesMax = Segment.UNKNOWN_TIMESTAMP;
                for (int pos = 0; pos < s.sizeBytes(); pos += Segment.batchSizeAt(map, pos)) {
                    // A damaged header is left where it is (a read or the scrubber reports it in its
                    // own segment): merged, it would fail the new segment's indexing after the swap.
                    LogReader.checkHeader(s, map, pos, s.sizeBytes());
                    batchesMax = Math.max(batchesMax, Segment.maxTimestampAt(map, pos));
                }
                // as maxTimestampOf, from the same walk: the batches' max where the index lost the
                // segment's (a merged segment must never look older than its records)
                maxTimestamp = Math.max(maxTimestamp, s.maxTimestamp() != Segment.UNKNOWN_TIMESTAMP ? s.maxTimestamp() : batchesMax);
                f.writeFully(s.slice(0, s.sizeBytes()), total);
                total += s.sizeBytes();
            }
            f.force();
        } catch (IOException e) {
            deleteQuietly(merging);
            throw new LogStorageException("merging segments of " + tp + " failed; the segments are intact", merging, e);
        } catch (RuntimeException e) {
            deleteQuietly(merging);
            throw e;
        }
        lock.lock();
        try {
            boolean unchanged = !closed && fatal == null;
            for (Segment s : group) {
                unchanged &= segments.get(s.baseOffset()) == s && s != segments.active();
            }
            if (!unchanged) {
                deleteQuietly(merging); // truncated, retained away or compacted meanwhile
                return false;
            }
            index.putSegmentMaxTimestamp(partitionId, first.baseOffset(), maxTimestamp);
            for (Segment s : group.subList(1, group.size())) {
                // gone before their files are (see removeSegments); a merge that fails after this
                // leaves segments without an entry, which is harmless
                index.deleteSegmentMaxTimestamp(partitionId, s.baseOffset());
            }
            index.syncWal();
            try {
                files.atomicMove(merging, swap);
            } catch (IOException e) {
                deleteQuietly(merging);
                throw new LogStorageException("merging segments of " + tp + " failed; the segments are intact", swap, e);
            }
            fsyncDirectory();
            List<Segment> rest = group.subList(1, group.size());
            try {
                for (Segment s : rest) {
                    s.markDeleted(); // the file's new name only: its mapping and the list entry stay
                }
                files.fsyncDirectory(dir); // the renames away are durable before the merged file takes the first's name
                files.atomicMove(swap, first.path());
            } catch (IOException e) {
                fatal = new LogStorageException("the swap of merged segments of " + tp + " failed; log is offline (the next"
                        + " start finishes it)", swap, e);
                throw fatal;
            }
            fsyncDirectory();
            Segment fresh = Segment.openSealed(files, first.path(), first.baseOffset(), (int) total);
            fresh.maxTimestamp(maxTimestamp);
            segments.put(fresh);
            for (Segment s : rest) {
                segments.remove(s);
                s.close();
            }
            first.close();
            reindex(fresh);
            org.slf4j.LoggerFactory.getLogger(PartitionLog.class).debug("{}: merged {} segments from offset {} into one of {} bytes",
                    tp, group.size(), first.baseOffset(), total);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Rewrites each of {@code covered} that the pass changes; adds what their kept tombstones ask
     * of later passes to {@code schedule}, and holds a segment whose swap was refused because a
     * replica's bound fell (the pass after the bound rises again redoes it), lowering
     * {@code firstRefused[0]} to its base.
     */
    private int compactSegments(List<Segment> covered, Compactor.OffsetMap latest, long nowMs, LogConfig cfg,
                                Compactor.TombstoneSchedule schedule, long[] firstRefused) {
        int rewritten = 0;
        for (Segment s : covered) {
            Path cleaned = s.path().resolveSibling(Segment.fileName(s.baseOffset()).replace(Segment.SUFFIX, Segment.CLEANED_SUFFIX));
            Compactor.Rewritten copy;
            try {
                copy = Compactor.rewrite(s, latest, nowMs, cfg.deleteRetentionMs(), tombstoneBoundOffset, files, cleaned, schedule);
            } catch (IOException e) {
                deleteQuietly(cleaned);
                throw new LogStorageException("compaction of " + tp + " failed; the original segment is intact", cleaned, e);
            } catch (RuntimeException e) {
                deleteQuietly(cleaned); // no half-written copy left behind
                throw e;
            }
            if (copy == null) {
                continue; // nothing to remove
            }
            if (swapIn(s, cleaned, copy)) {
                rewritten++;
            } else {
                schedule.hold(s.baseOffset());
                firstRefused[0] = Math.min(firstRefused[0], s.baseOffset());
            }
        }
        return rewritten;
    }

    private boolean swapIn(Segment old, Path cleaned, Compactor.Rewritten copy) {
        lock.lock();
        try {
            if (closed || segments.get(old.baseOffset()) != old) {
                deleteQuietly(cleaned); // truncated or retained away meanwhile
                return false;
            }
            if (copy.tombstonesRemovedEnd() > tombstoneBoundOffset) {
                // The bound fell during the rewrite (a replica joined, or leadership moved): a
                // removed tombstone may be one that replica still has to fetch. The next pass redoes it.
                deleteQuietly(cleaned);
                return false;
            }
            raiseTombstonesRemovedEnd(copy.tombstonesRemovedEnd()); // stored before the log lacks them
            if (copy.sizeBytes() == 0 && segments.firstEntry().getValue() != old) {
                // Nothing of it is left: the segment goes instead of staying as an empty file (a
                // compacted log may have gaps; reads at its offsets go on to the next segment). The
                // log's first segment stays, holding the log start offset across restarts.
                deleteQuietly(cleaned);
                Long next = segments.higherBaseOffset(old.baseOffset());
                removeSegments(List.of(old));
                index.deleteOffsetRange(partitionId, old.baseOffset(), next == null ? Long.MAX_VALUE : next);
                fsyncDirectory();
                return true;
            }
            try {
                files.atomicMove(cleaned, old.path());
            } catch (IOException e) {
                deleteQuietly(cleaned);
                throw new LogStorageException("compaction swap of " + tp + " failed; the original segment is intact", cleaned, e);
            }
            Segment fresh = Segment.openSealed(files, old.path(), old.baseOffset(), copy.sizeBytes());
            fresh.maxTimestamp(old.maxTimestamp());
            segments.put(fresh);
            old.close();
            reindex(fresh);
            fsyncDirectory();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Rewrites the offset entries of a compacted segment (positions moved). Caller holds the lock. */
    private void reindex(Segment seg) {
        Long next = segments.higherBaseOffset(seg.baseOffset());
        index.deleteOffsetRange(partitionId, seg.baseOffset(), next == null ? Long.MAX_VALUE : next);
        if (!seg.retain()) {
            return;
        }
        try {
            ByteBuffer map = seg.mapping();
            long sinceEntry = Long.MAX_VALUE / 2;
            for (int pos = 0; pos < seg.sizeBytes(); pos += Segment.batchSizeAt(map, pos)) {
                LogReader.checkHeader(seg, map, pos, seg.sizeBytes());
                if (pos == 0 || sinceEntry >= config.indexIntervalBytes()) {
                    index.putOffset(partitionId, Segment.baseOffsetAt(map, pos), seg.baseOffset(), pos);
                    sinceEntry = 0;
                }
                sinceEntry += Segment.batchSizeAt(map, pos);
            }
        } finally {
            seg.release();
        }
    }

    private void deleteQuietly(Path p) {
        try {
            files.delete(p);
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(PartitionLog.class).warn("could not delete {}: {}", p, e.toString());
        }
    }

    // ------------------------------------------------------------------ close

    /**
     * Clean close: fsyncs, shrinks the active file to its data, records the end offset so the next
     * open skips recovery, and unmaps every segment (deferred while a reader holds a slice).
     */
    void close() {
        commit.flushLock().lock();
        lock.lock();
        try {
            if (closed) {
                return;
            }
            boolean clean = fatal == null;
            if (clean) {
                try {
                    Segment active = segments.active();
                    active.seal();
                    List<Segment> all = new ArrayList<>(segments.all());
                    all.forEach(Segment::retain);
                    commit.forceAll(all, FsyncListener.Trigger.CLOSE);
                    recoveryPoint = logEndOffset;
                    index.putSegmentMaxTimestamp(partitionId, active.baseOffset(), active.maxTimestamp());
                    producers.onCleanClose(logEndOffset);
                } catch (IOException | LogStorageException e) {
                    clean = false;
                    org.slf4j.LoggerFactory.getLogger(PartitionLog.class).warn("unclean close of {}", tp, e);
                }
            }
            // Not synced one by one: the manager syncs the index WAL once before the clean marker.
            persistState(false, clean ? logEndOffset : -1);
            CleaningGate.Memory left = cleaning;
            if (clean && !left.equals(CleaningGate.Memory.NONE)) {
                try {
                    index.saveCleaningCheckpoint(dir.getFileName().toString(), new dev.basalt.log.index.CleaningCheckpoint(partitionId,
                            logEndOffset, left.cleanedEndOffset(), left.tombstoneDueMs(), left.tombstoneHeldFromOffset()));
                } catch (LogStorageException e) {
                    // only a cache of work done: the close stays clean, the next open cleans the log whole
                    org.slf4j.LoggerFactory.getLogger(PartitionLog.class).warn("{}: cleaning checkpoint not written: {}", tp,
                            e.getMessage());
                }
            }
            closedCleanly = clean;
            closeSegments();
        } finally {
            lock.unlock();
            commit.flushLock().unlock();
        }
    }

    boolean closedCleanly() {
        return closedCleanly;
    }

    /** Close without flushing or recording a clean end (the partition is being deleted). */
    void closeForDelete() {
        lock.lock();
        try {
            closeSegments();
        } finally {
            lock.unlock();
        }
    }

    private void closeSegments() {
        closed = true;
        segments.closeAll();
    }

    /**
     * Simulates a process crash (tests): drops every mapping and handle without flushing,
     * sealing or recording a clean end. Data already written stays in the page cache as after kill -9.
     */
    void abandon() {
        lock.lock();
        try {
            closeSegments();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "PartitionLog(" + tp + ", start=" + logStartOffset + ", end=" + logEndOffset + ", hw=" + highWatermark
                + ", segments=" + segments.count() + ")";
    }
}

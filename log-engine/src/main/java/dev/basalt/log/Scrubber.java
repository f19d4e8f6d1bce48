package dev.basalt.log;

import dev.basalt.log.segment.Segment;
import dev.basalt.record.CorruptRecordException;
import dev.basalt.record.RecordBatch;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Background scrubbing (as Ceph and ZFS scrub, beyond Kafka): re-reads every segment of every
 * partition at a bounded rate, verifying each batch's structure, CRC32C and offsets, so bit rot
 * is found before a consumer or a failover needs the data. A corrupt batch is handed to the
 * {@link CorruptionListener} (the broker: rebuild from a healthy replica, or keep serving what
 * lies before it when this is the only copy).
 *
 * <p>Rate: each {@link #tick} may read {@code bytesPerSecond × elapsed} bytes (at most one second's
 * worth, so a stalled thread does not burst). At the default 1 MiB/s a 1 GiB segment takes 17
 * minutes: far below what a disk serves, so it is invisible to produce and fetch.
 *
 * <p>Thread-safety: {@link #tick} runs on one thread (the manager's scheduler); the counters are
 * read from any thread (volatile).
 */
final class Scrubber {
    private static final Logger LOG = LoggerFactory.getLogger(Scrubber.class);

    /** Receives each corrupt batch the scrubber finds, once per log. */
    interface CorruptionListener {
        void onCorruption(PartitionLog log, long offset, CorruptLogException e);
    }

    private final Supplier<Map<TopicPartition, PartitionLog>> logs;
    private final long bytesPerSecond;
    private final CorruptionListener listener;
    private List<TopicPartition> order = List.of();
    private int logIndex;
    private long segmentBase = -1;
    private int position;
    private long expectedOffset = -1;
    private long lastTickMs = -1;
    private long passBytes;
    private int passFindings;
    /** A new pass starts no sooner than this after the previous one started (small logs are not re-read in a loop). */
    static final long PASS_INTERVAL_MIN_MS = 10_000;
    /** Pass summaries without findings are logged at most this often. */
    static final long PASS_LOG_INTERVAL_MS = 3_600_000;
    private long passStartedMs = Long.MIN_VALUE / 2;
    private long lastPassLogMs = Long.MIN_VALUE / 2;
    private long nowMs;
    private volatile long bytesScrubbed;
    private volatile long passesCompleted;
    private volatile long findings;

    Scrubber(Supplier<Map<TopicPartition, PartitionLog>> logs, long bytesPerSecond, CorruptionListener listener) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("bytesPerSecond must be > 0, got " + bytesPerSecond);
        }
        this.logs = logs;
        this.bytesPerSecond = bytesPerSecond;
        this.listener = listener;
    }

    long bytesScrubbed() {
        return bytesScrubbed;
    }

    long passesCompleted() {
        return passesCompleted;
    }

    long findings() {
        return findings;
    }

    /** Scrubs as many bytes as the rate allows since the last tick. */
    void tick(long nowMs) {
        long elapsedMs = lastTickMs < 0 ? 1_000 : Math.min(1_000, Math.max(0, nowMs - lastTickMs));
        lastTickMs = nowMs;
        long budget = Math.max(RecordBatch.HEADER_SIZE_BYTES, bytesPerSecond * elapsedMs / 1_000);
        this.nowMs = nowMs;
        if (logIndex >= order.size() && nowMs - passStartedMs < PASS_INTERVAL_MIN_MS) {
            return; // between passes
        }
        scrub(budget);
    }

    /** Scrubs up to {@code budgetBytes} (whole batches; at least one). */
    void scrub(long budgetBytes) {
        Map<TopicPartition, PartitionLog> all = logs.get();
        long left = budgetBytes;
        int guard = 0;
        while (left > 0 && guard++ < 100_000) {
            if (logIndex >= order.size()) {
                if (!order.isEmpty()) {
                    endPass();
                    order = List.of();
                    return; // the next pass starts on a later tick
                }
                passStartedMs = nowMs;
                order = new ArrayList<>(all.keySet());
                order.sort(Comparator.comparing(TopicPartition::toString));
                logIndex = 0;
                segmentBase = -1;
                if (order.isEmpty()) {
                    return;
                }
            }
            PartitionLog log = all.get(order.get(logIndex));
            if (log == null || log.isOffline() || log.corruptFrom() != null) {
                nextLog();
                continue;
            }
            long used = scrubSome(log, left);
            if (used < 0) {
                continue; // moved on to the next segment or log
            }
            left -= used;
        }
    }

    private void nextLog() {
        logIndex++;
        segmentBase = -1;
        position = 0;
        expectedOffset = -1;
        truncationsSeen = -1;
    }

    /** The log's truncation count when its scan began (-1: not begun); see PartitionLog#offsetsMissingAfter. */
    private long truncationsSeen = -1;

    private void endPass() {
        passesCompleted++;
        if (passFindings > 0 || nowMs - lastPassLogMs >= PASS_LOG_INTERVAL_MS) {
            lastPassLogMs = nowMs;
            LOG.info("Scrub pass {} complete: {} bytes verified in {} partitions, {} corrupt batches found", passesCompleted,
                    passBytes, order.size(), passFindings);
        }
        passBytes = 0;
        passFindings = 0;
    }

    /** Bytes verified in the current segment of {@code log}; -1 when it moved to another segment or log. */
    private long scrubSome(PartitionLog log, long budget) {
        if (truncationsSeen < 0) {
            truncationsSeen = log.truncationCount();
        }
        Segment seg = log.segmentAtOrAfter(segmentBase < 0 ? Long.MIN_VALUE : segmentBase);
        if (seg == null) {
            nextLog();
            return -1;
        }
        if (seg.baseOffset() != segmentBase) {
            segmentBase = seg.baseOffset();
            position = 0;
        }
        if (!seg.retain()) {
            return -1; // swapped out meanwhile: look again
        }
        try {
            // Sealed before the size is read: a segment sealed during this call has batches past
            // this size, and moving on to the next segment would look like missing offsets.
            boolean sealed = seg.isSealed();
            int size = seg.sizeBytes();
            ByteBuffer map = seg.mapping();
            long used = 0;
            // A file cut while mapped (an outside truncate): reading past its new end faults. Found
            // before the scan reads there (the CRC intrinsic's fault would end the process).
            long onDisk = seg.onDiskSizeBytes();
            if (onDisk < size) {
                return cutShort(log, seg, onDisk, null);
            }
            if (position == 0 && log.segmentFileGone(seg) && java.nio.file.Files.isDirectory(seg.path().getParent())) {
                return deleted(log, seg);
            }
            while (position < size && used < budget) {
                int start = position;
                long findingAt = -1; // where a finding of the checks below lies (a jump: the first offset missing)
                RecordBatch batch;
                try {
                    LogReader.checkHeader(seg, map, position, size);
                    Segment.validateChecksum(map, position, Segment.batchSizeAt(map, position));
                    batch = RecordBatch.wrap(map.slice(position, size - position));
                    if (expectedOffset >= 0 && batch.baseOffset() < expectedOffset) {
                        throw new CorruptRecordException("batch offset " + batch.baseOffset() + " does not follow " + expectedOffset);
                    }
                    // A log without gaps: each batch starts where the previous ended, across segments
                    // too (a base offset is outside the CRC; a missing segment leaves a jump).
                    boolean jump = expectedOffset >= 0 ? batch.baseOffset() > expectedOffset
                            : start == 0 && batch.baseOffset() != seg.baseOffset();
                    if (jump && !log.gapsPossible()) {
                        long at = expectedOffset >= 0 ? expectedOffset : seg.baseOffset();
                        if (log.offsetsMissingAfter(at, truncationsSeen) && stillThere(log, seg)) {
                            findingAt = at;
                            throw new CorruptRecordException("batch offset " + batch.baseOffset() + " where " + at + " was expected in a"
                                    + " log without gaps (a damaged base offset, which the CRC does not cover, or a missing segment)");
                        }
                        expectedOffset = -1; // the log changed under the scan: start judging afresh
                    }
                    // The epoch field is outside the CRC too (see LogReader#verify).
                    int batchEpoch = batch.partitionLeaderEpoch();
                    int logEpoch = batchEpoch < 0 ? -1 : log.epochAt(batch.baseOffset());
                    if (logEpoch >= 0 && logEpoch != batchEpoch && log.epochContradicts(seg, batch.baseOffset(), batchEpoch,
                            truncationsSeen)) {
                        findingAt = batch.baseOffset();
                        throw new CorruptRecordException("batch at offset " + batch.baseOffset() + " has leader epoch " + batchEpoch
                                + " where the log's epoch for it is " + logEpoch + " (a damaged epoch field: the CRC does not cover it)");
                    }
                } catch (CorruptRecordException | CorruptLogException e) {
                    long offset = findingAt >= 0 ? findingAt : start == 0 ? seg.baseOffset() : expectedOffset;
                    if (!stillThere(log, seg)) {
                        return -1; // truncated or compacted under the scan: not corruption
                    }
                    findings++;
                    passFindings++;
                    CorruptLogException found = e instanceof CorruptLogException c ? c
                            : new CorruptLogException(seg.path(), start, e.getMessage());
                    LOG.error("Scrub found corrupt data in {} at offset {} ({} byte {}): {}", log.topicPartition(), offset,
                            seg.path().getFileName(), start, found.getMessage());
                    listener.onCorruption(log, offset, found);
                    nextLog();
                    return used;
                }
                expectedOffset = batch.nextOffset();
                position += batch.sizeInBytes();
                used += batch.sizeInBytes();
            }
            bytesScrubbed += used;
            passBytes += used;
            if (position >= size) {
                if (sealed) {
                    segmentBase = seg.baseOffset() + 1; // the next segment at or after this
                    position = 0;
                    return used == 0 ? -1 : used;
                }
                nextLog(); // the active segment is verified up to its end for now
            }
            return used == 0 ? -1 : used;
        } catch (InternalError e) {
            // the file was cut during the scan, after the check above (the JVM's error for the fault)
            long onDisk = seg.onDiskSizeBytes();
            if (onDisk >= seg.sizeBytes()) {
                throw e;
            }
            return cutShort(log, seg, onDisk, e);
        } finally {
            seg.release();
        }
    }

    /** Reports a segment whose file is shorter than its batches; the log's scan ends there. */
    private long cutShort(PartitionLog log, Segment seg, long onDisk, InternalError fault) {
        if (!stillThere(log, seg)) {
            return -1; // swapped out meanwhile (its file replaced): not corruption
        }
        long offset = seg.firstOffsetPast(onDisk);
        CorruptLogException found = new CorruptLogException(seg.path(), onDisk, seg.cutWhileRunning(onDisk));
        if (fault != null) {
            found.addSuppressed(fault);
        }
        findings++;
        passFindings++;
        LOG.error("Scrub found corrupt data in {} at offset {} ({} byte {}): {}", log.topicPartition(), offset,
                seg.path().getFileName(), onDisk, found.getMessage());
        listener.onCorruption(log, offset, found);
        nextLog();
        return 0;
    }

    /**
     * Reports a segment whose file was deleted from outside (its mapping still reads; the next start
     * would not find it) from its base offset. A deleted partition or data directory is left to the
     * directory check; the active segment's file is checked every second by the log manager.
     */
    private long deleted(PartitionLog log, Segment seg) {
        if (log.corruptAtOrBefore(seg.baseOffset())) {
            nextLog(); // reported already (by the log manager's check, for an active segment sealed since)
            return 0;
        }
        CorruptLogException found = new CorruptLogException(seg.path(), 0, Segment.deletedWhileRunning());
        findings++;
        passFindings++;
        LOG.error("Scrub found {} of {} (offsets from {}) deleted while the node ran", seg.path().getFileName(),
                log.topicPartition(), seg.baseOffset());
        listener.onCorruption(log, seg.baseOffset(), found);
        nextLog();
        return 0;
    }

    /** Whether {@code seg} is still the log's segment at its base offset (not swapped by truncation or compaction). */
    private static boolean stillThere(PartitionLog log, Segment seg) {
        return log.segmentAtOrAfter(seg.baseOffset()) == seg;
    }
}

package dev.basalt.log;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.Segment;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * fsyncs of one partition log, shared between concurrent durable appenders (group commit): the
 * first caller fsyncs everything written so far, more than it needs; callers queued behind it
 * usually find their offset already covered and return without an fsync. Also remembers whether
 * the directory needs an fsync (a segment was created) and when the last flush ended (flush.ms).
 *
 * <p>Thread-safety: thread-safe. fsyncs serialise on this object's flush lock, which is never
 * held by the log's append lock holder while waiting for it (lock order: flush lock, then append
 * lock), so appends are never blocked behind an fsync.
 */
final class GroupCommit {
    /** What group commit needs from its log. */
    interface Log {
        TopicPartition topicPartition();

        /** Everything below it is fsynced (volatile read). */
        long recoveryPoint();

        boolean isClosed();

        /** Throws if the log may not be written (closed, or offline after a storage failure). */
        void ensureWritable();

        /**
         * Under the append lock: the log end offset now and the segments from the one holding
         * the recovery point on, each {@link Segment#retain() retained} for the caller.
         */
        Dirty dirtySegments();

        /**
         * Under the append lock: everything below {@code dirty.endOffset()} is durable, unless the
         * log was truncated since {@code dirty} was collected (then nothing is advanced: the bytes
         * the round fsynced may have been cut and rewritten after it read them); persists the state.
         */
        void advanceRecoveryPoint(Dirty dirty);

        /** Takes the log offline after a failed fsync and returns the failure to throw. */
        LogStorageException offline(String what, Path file, IOException cause);
    }

    /**
     * The log end offset when the dirty segments were collected, those segments (retained), and the
     * log's truncation count then (a truncation in between voids the round's end offset).
     */
    record Dirty(long endOffset, List<Segment> segments, long truncations) {
    }

    private final Log log;
    private final FileLayer files;
    private final Path dir;
    private final Clock clock;
    private final ReentrantLock flushLock = new ReentrantLock();
    private volatile boolean directoryDirty;
    private volatile long lastFlushMs;
    private volatile FsyncListener fsyncs = FsyncListener.NONE;

    GroupCommit(Log log, FileLayer files, Path dir, Clock clock) {
        this.log = log;
        this.files = files;
        this.dir = dir;
        this.clock = clock;
        this.lastFlushMs = clock.millis();
    }

    /** A segment file was created or renamed: the next flush fsyncs the directory too. */
    void directoryChanged() {
        directoryDirty = true;
    }

    /** Who hears of each fsync round (metrics). */
    void fsyncListener(FsyncListener listener) {
        fsyncs = java.util.Objects.requireNonNull(listener, "listener");
    }

    long lastFlushMs() {
        return lastFlushMs;
    }

    /** Held across a clean close so no flush runs concurrently with it (take before the append lock). */
    ReentrantLock flushLock() {
        return flushLock;
    }

    /** Makes every offset below {@code endOffset} durable (and possibly more); returns at once if it already is. */
    void flushUpTo(long endOffset, FsyncListener.Trigger trigger) {
        if (log.recoveryPoint() >= endOffset) {
            return;
        }
        flushLock.lock();
        try {
            if (log.recoveryPoint() >= endOffset || log.isClosed()) {
                return;
            }
            log.ensureWritable();
            Dirty dirty = log.dirtySegments();
            forceAll(dirty.segments(), trigger);
            log.advanceRecoveryPoint(dirty);
            lastFlushMs = clock.millis();
        } finally {
            flushLock.unlock();
        }
    }

    /**
     * fsyncs {@code dirty} (retained; released here) and the directory if it changed; reports the
     * round's duration to the listener when it succeeded. The monotonic clock, not the log's
     * {@code Clock}: a duration of real I/O, which a test's manual clock would report as zero.
     */
    void forceAll(List<Segment> dirty, FsyncListener.Trigger trigger) {
        long startNanos = System.nanoTime();
        boolean synced = false;
        try {
            for (Segment s : dirty) {
                try {
                    s.flush();
                    synced = true;
                    s.closeFileIfFlushed();
                } catch (IOException e) {
                    // After a failed fsync the page cache may have dropped the data (fsyncgate): stop.
                    throw log.offline("fsync of " + log.topicPartition() + " failed; log is offline", s.path(), e);
                }
            }
            if (directoryDirty) {
                directoryDirty = false;
                try {
                    files.fsyncDirectory(dir);
                    synced = true;
                } catch (IOException e) {
                    directoryDirty = true;
                    throw log.offline("directory fsync of " + log.topicPartition() + " failed; log is offline", dir, e);
                }
            }
            if (synced) {
                fsyncs.onFsync(log.topicPartition(), trigger, dirty.size(), System.nanoTime() - startNanos);
            }
        } finally {
            for (Segment s : dirty) {
                s.release();
            }
        }
    }
}

package dev.basalt.raft.log;

import java.util.List;
import java.util.Optional;

/**
 * Durable storage of one Raft node: hard state, the log (after the latest snapshot) and that
 * snapshot. The driver thread is the only caller (not thread-safe unless an implementation says so).
 *
 * <p>Durability contract: {@link #persistAndFlushHardState} and {@link #appendAndFlush} return
 * only once the data is on stable storage (fsync). The driver sends no message that depends on
 * state before that state is durable. Every failure is a {@link RaftStorageException}; after one,
 * the node must stop voting and leading: for good (the driver's fault handler stops the process),
 * or, when the file system was only full, until it has room and {@link #reopen()} succeeded.
 *
 * <p>Index space: the log holds entries {@code firstIndex() .. lastIndex()} (empty when
 * {@code firstIndex() == lastIndex() + 1}); entries up to {@code snapshot().lastIndex()} are
 * compacted away and {@code firstIndex() == snapshot().lastIndex() + 1}.
 */
public interface RaftStore extends AutoCloseable {

    HardState hardState();

    /** Writes and fsyncs the hard state. */
    void persistAndFlushHardState(HardState state);

    /** Index of the first entry still in the log (snapshot lastIndex + 1). */
    long firstIndex();

    /** Index of the last entry, or the snapshot's lastIndex when the log is empty. */
    long lastIndex();

    /**
     * Term of the entry at {@code index}; for {@code snapshot().lastIndex()} the snapshot's lastTerm;
     * 0 for index 0. Empty when the index is compacted away or beyond the end.
     */
    Optional<Long> termAt(long index);

    /**
     * Entries from {@code fromIndex} (inclusive, >= firstIndex) to {@code toIndex} (exclusive),
     * stopping early once {@code sizeBytesMax} of payload is collected (at least one entry is
     * returned when any exists in range).
     */
    List<LogEntry> entries(long fromIndex, long toIndex, long sizeBytesMax);

    /**
     * Appends entries that follow each other; if the first one's index is <= lastIndex, the log is
     * first truncated from that index (conflicting suffix, Raft §5.3). Fsyncs before returning.
     */
    void appendAndFlush(List<LogEntry> entries);

    /** The latest snapshot's metadata, or {@link SnapshotMeta#NONE}. */
    SnapshotMeta snapshot();

    /** The latest snapshot's state-machine bytes (empty when there is none). */
    byte[] snapshotData();

    /**
     * Durably replaces the snapshot (write temp file, fsync, rename) and discards every log entry
     * up to {@code meta.lastIndex()}. Entries after it are kept if their terms agree with the log
     * (Raft §7: "if existing log entry has same index and term as snapshot's last included entry,
     * retain log entries following it"); otherwise the whole log is discarded.
     */
    void installSnapshot(SnapshotMeta meta, byte[] data);

    /**
     * Closes this store and opens it again from stable storage, as a restarted process would:
     * what was never fsynced may be gone and a torn tail is truncated. The driver does this after a
     * full disk ({@link RaftStorageException#outOfSpace()}) once there is room again. Stores that
     * cannot do it say so here ({@link #reopen()} then throws {@link UnsupportedOperationException}).
     */
    default boolean canReopen() {
        return false;
    }

    /** See {@link #canReopen()}. */
    default RaftStore reopen() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be reopened");
    }

    /** Bytes still free for this store's writes, or {@link Long#MAX_VALUE} when it has no such limit. */
    default long usableBytes() {
        return Long.MAX_VALUE;
    }

    @Override
    void close();
}

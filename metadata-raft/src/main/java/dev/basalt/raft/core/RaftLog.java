package dev.basalt.raft.core;

import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import java.util.ArrayList;
import java.util.List;

/**
 * The core's in-memory copy of the log: the latest snapshot (metadata and bytes) and the entries
 * after it. It mirrors what the driver persists (every change is also emitted in {@link Output}),
 * so the core never reads storage. Mutable; used only on the core's thread.
 *
 * <p>Index space (as {@code RaftStore}): entries {@code firstIndex() .. lastIndex()}, with
 * {@code firstIndex() == snapshot.lastIndex() + 1}.
 */
final class RaftLog {
    private SnapshotMeta snapshot;
    private byte[] snapshotData;
    private final ArrayList<LogEntry> entries = new ArrayList<>();

    RaftLog(SnapshotMeta snapshot, byte[] snapshotData, List<LogEntry> tail) {
        this.snapshot = snapshot;
        this.snapshotData = snapshotData;
        if (!tail.isEmpty()) {
            if (tail.get(0).index() != snapshot.lastIndex() + 1) {
                throw new IllegalArgumentException("log starts at " + tail.get(0).index()
                        + " but the snapshot ends at " + snapshot.lastIndex());
            }
            append(tail);
        }
    }

    SnapshotMeta snapshot() {
        return snapshot;
    }

    byte[] snapshotData() {
        return snapshotData;
    }

    long firstIndex() {
        return snapshot.lastIndex() + 1;
    }

    long lastIndex() {
        return snapshot.lastIndex() + entries.size();
    }

    long lastTerm() {
        return termAt(lastIndex());
    }

    /** Term at {@code index}, or -1 when compacted away or beyond the end. Index 0 has term 0. */
    long termAt(long index) {
        if (index == snapshot.lastIndex()) {
            return snapshot.lastTerm();
        }
        if (index < snapshot.lastIndex() || index > lastIndex()) {
            return -1;
        }
        return entries.get((int) (index - firstIndex())).term();
    }

    LogEntry entry(long index) {
        if (index < firstIndex() || index > lastIndex()) {
            throw new IllegalArgumentException("entry " + index + " outside [" + firstIndex() + ", " + lastIndex() + "]");
        }
        return entries.get((int) (index - firstIndex()));
    }

    /**
     * Entries from {@code from} to {@code toInclusive}, stopping at {@code bytesMax} of payload or
     * {@code entriesMax} entries, whichever comes first (at least one).
     */
    List<LogEntry> slice(long from, long toInclusive, long bytesMax, int entriesMax) {
        List<LogEntry> out = new ArrayList<>();
        long bytes = 0;
        for (long i = from; i <= toInclusive; i++) {
            LogEntry e = entry(i);
            bytes += e.data().length;
            if (!out.isEmpty() && (bytes > bytesMax || out.size() >= entriesMax)) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    /** Appends consecutive entries, truncating the log from the first one's index (§5.3). */
    void append(List<LogEntry> batch) {
        if (batch.isEmpty()) {
            return;
        }
        long first = batch.get(0).index();
        if (first < firstIndex() || first > lastIndex() + 1) {
            throw new IllegalStateException("append at " + first + " outside [" + firstIndex() + ", "
                    + (lastIndex() + 1) + "]");
        }
        entries.subList((int) (first - firstIndex()), entries.size()).clear();
        long expected = first;
        for (LogEntry e : batch) {
            if (e.index() != expected) {
                throw new IllegalStateException("non-consecutive entry " + e.index() + ", expected " + expected);
            }
            if (e.term() < lastTerm()) {
                throw new IllegalStateException("term goes backwards at " + e.index());
            }
            entries.add(e);
            expected++;
        }
    }

    /** Drops entries up to {@code meta.lastIndex()}, which this log holds with {@code meta.lastTerm()}. */
    void compact(SnapshotMeta meta, byte[] data) {
        if (meta.lastIndex() <= snapshot.lastIndex()) {
            return;
        }
        if (termAt(meta.lastIndex()) != meta.lastTerm()) {
            throw new IllegalStateException("snapshot " + meta.lastIndex() + "/" + meta.lastTerm() + " not in the log");
        }
        entries.subList(0, (int) (meta.lastIndex() - snapshot.lastIndex())).clear();
        snapshot = meta;
        snapshotData = data;
    }

    /**
     * Installs a snapshot received from the leader (§7): keeps the entries after it if the log holds
     * its last entry with the same term, otherwise discards the whole log.
     */
    void installSnapshot(SnapshotMeta meta, byte[] data) {
        if (termAt(meta.lastIndex()) == meta.lastTerm() && meta.lastIndex() >= snapshot.lastIndex()) {
            compact(meta, data);
            return;
        }
        entries.clear();
        snapshot = meta;
        snapshotData = data;
    }
}

package dev.basalt.raft.testkit;

import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.RaftStorageException;
import dev.basalt.raft.log.RaftStore;
import dev.basalt.raft.log.SnapshotMeta;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An in-memory {@link RaftStore} with a crash model, for simulations and unit tests. Not
 * thread-safe (one driver thread, as the contract says).
 *
 * <p>It keeps two copies: what the node currently sees and what is durable. Every {@code *AndFlush}
 * call and {@link #installSnapshot} updates both (they promise durability on return).
 * {@link #appendUnflushed} updates only the visible copy, modelling a write that reached the page
 * cache but not the disk; {@link #crash()} throws away everything not durable, as power loss
 * would. {@link #failWrites} makes every later write throw {@link RaftStorageException}, to test
 * that a node with failed storage stops.
 */
public final class MemoryRaftStore implements RaftStore {
    private State visible = new State();
    private State durable = new State();
    private boolean diverged;
    private boolean failWrites;
    private boolean closed;

    @Override
    public HardState hardState() {
        return visible.hardState;
    }

    @Override
    public void persistAndFlushHardState(HardState state) {
        checkWritable();
        syncDurable();
        visible.hardState = state;
        durable.hardState = state;
    }

    @Override
    public long firstIndex() {
        return visible.snapshot.lastIndex() + 1;
    }

    @Override
    public long lastIndex() {
        return visible.snapshot.lastIndex() + visible.entries.size();
    }

    @Override
    public Optional<Long> termAt(long index) {
        return visible.termAt(index);
    }

    @Override
    public List<LogEntry> entries(long fromIndex, long toIndex, long sizeBytesMax) {
        if (fromIndex < firstIndex()) {
            throw new IllegalArgumentException("entries from " + fromIndex + " are compacted (first " + firstIndex() + ")");
        }
        List<LogEntry> out = new ArrayList<>();
        long bytes = 0;
        for (long i = fromIndex; i < toIndex && i <= lastIndex(); i++) {
            LogEntry e = visible.entries.get((int) (i - firstIndex()));
            bytes += e.data().length;
            if (!out.isEmpty() && bytes > sizeBytesMax) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    @Override
    public void appendAndFlush(List<LogEntry> entries) {
        checkWritable();
        syncDurable();
        visible.append(entries);
        durable.append(entries);
    }

    /** Appends without flushing: lost by the next {@link #crash()} unless a flush follows. */
    public void appendUnflushed(List<LogEntry> entries) {
        checkWritable();
        syncDurable();
        visible.append(entries);
        diverged = true;
    }

    @Override
    public SnapshotMeta snapshot() {
        return visible.snapshot;
    }

    @Override
    public byte[] snapshotData() {
        return visible.snapshotData;
    }

    @Override
    public void installSnapshot(SnapshotMeta meta, byte[] data) {
        checkWritable();
        syncDurable();
        visible.installSnapshot(meta, data);
        durable.installSnapshot(meta, data);
    }

    /** Power loss: everything not flushed is gone. The store stays usable (as after a reboot). */
    public void crash() {
        visible = durable.copy();
        diverged = false;
        closed = false;
    }

    public void failWrites(boolean fail) {
        this.failWrites = fail;
    }

    @Override
    public void close() {
        closed = true;
    }

    /** A flush makes earlier unflushed writes durable too (fsync covers the whole file). */
    private void syncDurable() {
        if (diverged) {
            durable = visible.copy();
            diverged = false;
        }
    }

    private void checkWritable() {
        if (closed) {
            throw new IllegalStateException("store closed");
        }
        if (failWrites) {
            throw new RaftStorageException("injected storage failure");
        }
    }

    private static final class State {
        HardState hardState = HardState.INITIAL;
        SnapshotMeta snapshot = SnapshotMeta.NONE;
        byte[] snapshotData = new byte[0];
        ArrayList<LogEntry> entries = new ArrayList<>();

        State copy() {
            State s = new State();
            s.hardState = hardState;
            s.snapshot = snapshot;
            s.snapshotData = snapshotData;
            s.entries = new ArrayList<>(entries);
            return s;
        }

        Optional<Long> termAt(long index) {
            if (index == snapshot.lastIndex()) {
                return Optional.of(snapshot.lastTerm());
            }
            long first = snapshot.lastIndex() + 1;
            if (index < first || index >= first + entries.size()) {
                return Optional.empty();
            }
            return Optional.of(entries.get((int) (index - first)).term());
        }

        void append(List<LogEntry> batch) {
            if (batch.isEmpty()) {
                return;
            }
            long first = snapshot.lastIndex() + 1;
            long start = batch.get(0).index();
            if (start < first || start > first + entries.size()) {
                throw new IllegalArgumentException("append at " + start + " outside [" + first + ", "
                        + (first + entries.size()) + "]");
            }
            entries.subList((int) (start - first), entries.size()).clear();
            entries.addAll(batch);
        }

        void installSnapshot(SnapshotMeta meta, byte[] data) {
            Optional<Long> term = termAt(meta.lastIndex());
            if (term.isPresent() && term.get() == meta.lastTerm() && meta.lastIndex() >= snapshot.lastIndex()) {
                long first = snapshot.lastIndex() + 1;
                entries.subList(0, (int) (meta.lastIndex() - first + 1)).clear();
            } else {
                entries.clear();
            }
            snapshot = meta;
            snapshotData = data;
        }
    }
}

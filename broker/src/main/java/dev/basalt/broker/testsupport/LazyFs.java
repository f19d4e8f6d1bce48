package dev.basalt.broker.testsupport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * TEST ONLY (selected by {@code -Dbasalt.test.lazyfs=true}, never by default): a model of what a
 * machine crash does to files, as LazyFS does with a FUSE page cache. Every mutation the node makes
 * through the log engine's {@code FileLayer} and the Raft store's {@code StorageIo} is recorded in
 * an undo log: the bytes a write or truncation replaced (all-zero chunks stored as nothing), the
 * file size before it, a file creation, a rename (with a hard link keeping a replaced target). An
 * fsync of a file drops that file's entries recorded before the fsync began; an fsync of a
 * directory drops the creations and renames in it recorded before it began. {@link #crash()}
 * applies the remaining entries in reverse, so every file holds exactly its durable content and
 * names, and halts the JVM.
 *
 * <p>Modelled and not: writes reach segment files through a FileChannel (segments are mapped
 * read-only, never written through the mapping), so every data byte passes here. A mapping that
 * grows a file is recorded as a size change. Deletions are kept (the file stays deleted: a valid
 * crash outcome, not the adversarial one). Directory creations are kept (Basalt fsyncs the parent
 * right after). Files the node writes outside these seams are kept as written: the RocksDB index
 * (native I/O; its unsynced WAL tail surviving while the segments lose theirs is a possible crash
 * outcome, and the adversarial one for recovery: index entries and stored partition state may
 * point past the durable end of a segment), the storage meta file, topic-id files and the lock
 * file, which are fsynced before use.
 *
 * <p>A write racing an fsync of the same file counts as covered by it when its entry was recorded
 * before the fsync began (its bytes may reach the file a moment later): the model is never
 * stricter than the kernel, so a write that returned before an fsync began is never discarded.
 *
 * <p>Cost: one read lock and one synchronized append per mutation, and the replaced bytes (writes
 * into the preallocated zero tail of a segment store nothing). Off (the default) nothing of this
 * class is touched.
 *
 * <p>Thread-safety: thread-safe. Mutations hold the read lock of {@link #lock} while they record
 * and perform, so {@link #crash()} (write lock, never released) sees no write half done and lets
 * none through after it.
 */
public final class LazyFs {
    private static final int CHUNK_BYTES = 64 << 10;
    /** Undone entries printed at a crash (the newest). */
    private static final int DESCRIBED_MAX = 20;

    /** One tracked file; its path follows renames. */
    static final class FileId {
        volatile Path path;

        FileId(Path path) {
            this.path = path;
        }
    }

    /** An undo entry; {@link #undo()} restores what the mutation changed. */
    private abstract static class Entry {
        final long seq;

        Entry(long seq) {
            this.seq = seq;
        }

        abstract boolean belongsToFile(FileId f);

        abstract boolean belongsToDir(Path dir);

        abstract void undo() throws IOException;
    }

    /** Content of [position, position + length) and the size before a write, truncation or growth. */
    private static final class ContentEntry extends Entry {
        final FileId file;
        final long sizeBefore;
        final long position;
        final long length;
        /** The region was overwritten in place (restore zeros first) rather than cut off (re-grown sparse). */
        final boolean overwritten;
        final List<long[]> chunkPositions = new ArrayList<>();
        final List<byte[]> chunks = new ArrayList<>();

        ContentEntry(long seq, FileId file, long sizeBefore, long position, long length, boolean overwritten) {
            super(seq);
            this.file = file;
            this.sizeBefore = sizeBefore;
            this.position = position;
            this.length = length;
            this.overwritten = overwritten;
        }

        @Override
        boolean belongsToFile(FileId f) {
            return f == file;
        }

        @Override
        boolean belongsToDir(Path dir) {
            return false;
        }

        @Override
        public String toString() {
            return (overwritten ? "write" : length > 0 ? "truncation" : "growth") + " #" + seq + " of " + file.path + " at " + position
                    + " (" + length + " bytes, size before " + sizeBefore + ")";
        }

        @Override
        void undo() throws IOException {
            Path p = file.path;
            if (p == null || !Files.exists(p)) {
                return; // deleted later, and deletions are kept
            }
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                if (ch.size() < sizeBefore) {
                    ch.write(ByteBuffer.allocate(1), sizeBefore - 1);
                }
                if (overwritten && length > 0) {
                    ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, length));
                    for (long at = position; at < position + length; at += zeros.capacity()) {
                        writeFully(ch, zeros.clear().limit((int) Math.min(zeros.capacity(), position + length - at)), at);
                    }
                }
                for (int i = 0; i < chunks.size(); i++) {
                    writeFully(ch, ByteBuffer.wrap(chunks.get(i)), chunkPositions.get(i)[0]);
                }
                if (ch.size() > sizeBefore) {
                    ch.truncate(sizeBefore);
                }
                ch.force(true);
            }
        }
    }

    /** A file created (not there before): undone by deleting it. */
    private static final class CreateEntry extends Entry {
        final FileId file;
        final Path dir;

        CreateEntry(long seq, FileId file) {
            super(seq);
            this.file = file;
            this.dir = file.path.toAbsolutePath().getParent();
        }

        @Override
        boolean belongsToFile(FileId f) {
            return false;
        }

        @Override
        boolean belongsToDir(Path d) {
            return d.equals(dir);
        }

        @Override
        public String toString() {
            return "creation #" + seq + " of " + file.path;
        }

        @Override
        void undo() throws IOException {
            Path p = file.path;
            if (p != null) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A rename from → to; {@code replaced} is a hard link to the target it replaced, if any. */
    private static final class RenameEntry extends Entry {
        final Path from;
        final Path to;
        final FileId moved;
        final Path replaced;
        final FileId replacedId;

        RenameEntry(long seq, Path from, Path to, FileId moved, Path replaced, FileId replacedId) {
            super(seq);
            this.from = from;
            this.to = to;
            this.moved = moved;
            this.replaced = replaced;
            this.replacedId = replacedId;
        }

        @Override
        boolean belongsToFile(FileId f) {
            return false;
        }

        @Override
        boolean belongsToDir(Path d) {
            return d.equals(to.getParent()) || d.equals(from.getParent());
        }

        @Override
        public String toString() {
            return "rename #" + seq + " of " + from + " to " + to;
        }

        @Override
        void undo() throws IOException {
            if (Files.exists(to)) {
                Files.move(to, from, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            if (moved != null) {
                moved.path = from;
            }
            if (replaced != null && Files.exists(replaced)) {
                Files.move(replaced, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                if (replacedId != null) {
                    replacedId.path = to;
                }
            }
        }
    }

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final AtomicLong seqs = new AtomicLong();
    private final Map<Path, FileId> byPath = new ConcurrentHashMap<>();
    private final List<Entry> undo = new ArrayList<>(); // guarded by itself
    private final Path stash;
    private final AtomicLong stashNames = new AtomicLong();

    /** @param stash a directory on the same file system as the data, for hard links to replaced files */
    public LazyFs(Path stash) {
        this.stash = stash;
    }

    /** Entries not yet made durable (diagnostics and tests). */
    public int pendingEntries() {
        synchronized (undo) {
            return undo.size();
        }
    }

    FileId track(Path path) {
        return byPath.computeIfAbsent(path.toAbsolutePath().normalize(), FileId::new);
    }

    /** Opens {@code path} as the node would, recording its creation when it did not exist. */
    FileChannel open(Path path, boolean create, boolean writable, FileId[] idOut) throws IOException {
        lock.readLock().lock();
        try {
            Path abs = path.toAbsolutePath().normalize();
            boolean existed = Files.exists(abs);
            List<StandardOpenOption> options = new ArrayList<>(3);
            options.add(StandardOpenOption.READ);
            if (writable) {
                options.add(StandardOpenOption.WRITE);
            }
            if (create) {
                options.add(StandardOpenOption.CREATE);
            }
            FileChannel ch = FileChannel.open(abs, options.toArray(new StandardOpenOption[0]));
            FileId id = track(abs);
            if (!existed) {
                record(new CreateEntry(seqs.incrementAndGet(), id));
            }
            idOut[0] = id;
            return ch;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A positional write, its replaced bytes recorded first. */
    void write(FileId id, FileChannel ch, ByteBuffer src, long position) throws IOException {
        lock.readLock().lock();
        try {
            long size = ch.size();
            ContentEntry e = new ContentEntry(seqs.incrementAndGet(), id, size, position, Math.max(0, Math.min(src.remaining(),
                    size - position)), true);
            saveChunks(ch, e, position, e.length);
            record(e);
            writeFully(ch, src, position);
        } finally {
            lock.readLock().unlock();
        }
    }

    void truncate(FileId id, FileChannel ch, long sizeBytes) throws IOException {
        lock.readLock().lock();
        try {
            long size = ch.size();
            if (sizeBytes < size) {
                ContentEntry e = new ContentEntry(seqs.incrementAndGet(), id, size, sizeBytes, size - sizeBytes, false);
                saveChunks(ch, e, sizeBytes, size - sizeBytes);
                record(e);
            }
            ch.truncate(sizeBytes);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** A read-only mapping of [0, sizeBytes), which grows a shorter file: recorded as a size change. */
    java.nio.MappedByteBuffer map(FileId id, FileChannel ch, long sizeBytes) throws IOException {
        lock.readLock().lock();
        try {
            long size = ch.size();
            if (sizeBytes > size) {
                record(new ContentEntry(seqs.incrementAndGet(), id, size, size, 0, false));
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, sizeBytes);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * fsync of a file: its entries recorded before the fsync began become durable. The read lock is
     * held across the fsync and the bookkeeping, so a crash either precedes the fsync (nothing of it
     * counts) or follows its return (its entries are gone from the undo list): never a crash that
     * undoes data whose fsync already returned, which the node may have recorded as flushed
     * (a partition's recovery point in the index, which survives the crash).
     */
    void force(FileId id, FileChannel ch, boolean metadata) throws IOException {
        lock.readLock().lock();
        try {
            long before = seqs.get();
            ch.force(metadata);
            synchronized (undo) {
                undo.removeIf(e -> e.seq <= before && e.belongsToFile(id));
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    void moveAtomically(Path from, Path to) throws IOException {
        lock.readLock().lock();
        try {
            Path f = from.toAbsolutePath().normalize();
            Path t = to.toAbsolutePath().normalize();
            Path replaced = null;
            FileId replacedId = null;
            if (Files.isRegularFile(t)) {
                replaced = stash.resolve("replaced-" + stashNames.incrementAndGet());
                Files.createDirectories(stash);
                try {
                    Files.createLink(replaced, t);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(t, replaced, StandardCopyOption.COPY_ATTRIBUTES);
                }
                replacedId = byPath.remove(t);
                if (replacedId != null) {
                    replacedId.path = replaced;
                    byPath.put(replaced, replacedId);
                }
            }
            FileId moved = byPath.remove(f);
            Files.move(f, t, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            if (moved != null) {
                moved.path = t;
                byPath.put(t, moved);
            }
            record(new RenameEntry(seqs.incrementAndGet(), f, t, moved, replaced, replacedId));
        } finally {
            lock.readLock().unlock();
        }
    }

    void delete(Path path) throws IOException {
        lock.readLock().lock();
        try {
            Path abs = path.toAbsolutePath().normalize();
            Files.deleteIfExists(abs);
            FileId id = byPath.remove(abs);
            if (id != null) {
                id.path = null;
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** fsync of a directory: creations and renames in it recorded before it began become durable. */
    void syncDirectory(Path dir) throws IOException {
        lock.readLock().lock(); // as in force: a returned fsync is never undone by a later crash
        try {
            long before = seqs.get();
            try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
                ch.force(true);
            }
            Path abs = dir.toAbsolutePath().normalize();
            synchronized (undo) {
                undo.removeIf(e -> e.seq <= before && e.belongsToDir(abs));
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Discards everything not made durable (entries undone newest first), then halts the JVM with
     * {@code exitCode} without running shutdown hooks, as a power loss would. Never returns.
     */
    public void crash(int exitCode) {
        int undone = discardUnsynced();
        System.err.println("lazyfs: crash, " + undone + " unsynced changes discarded; halting");
        System.err.flush();
        Runtime.getRuntime().halt(exitCode);
    }

    /**
     * Takes the write lock for good (no mutation passes afterwards) and undoes every change not
     * made durable, newest first; returns how many were undone. {@link #crash(int)} halts after it;
     * tests call it directly and then inspect the files.
     */
    public int discardUnsynced() {
        lock.writeLock().lock(); // never released: nothing reaches the files after this
        List<Entry> entries;
        synchronized (undo) {
            entries = new ArrayList<>(undo);
            undo.clear();
        }
        int undone = 0;
        for (int i = entries.size() - 1; i >= 0; i--) {
            try {
                if (entries.size() - i <= DESCRIBED_MAX) {
                    System.err.println("lazyfs: undo " + entries.get(i)); // what a crash discarded, for diagnosis
                }
                entries.get(i).undo();
                undone++;
            } catch (IOException | RuntimeException e) {
                System.err.println("lazyfs: undo of entry " + entries.get(i).seq + " failed: " + e);
            }
        }
        return undone;
    }

    private void record(Entry e) {
        synchronized (undo) {
            undo.add(e);
        }
    }

    /** Saves the non-zero chunks of [position, position + length) of the file into {@code e}. */
    private static void saveChunks(FileChannel ch, ContentEntry e, long position, long length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, Math.max(1, length)));
        for (long at = position; at < position + length; at += buf.capacity()) {
            int n = (int) Math.min(buf.capacity(), position + length - at);
            buf.clear().limit(n);
            int read = 0;
            while (buf.hasRemaining()) {
                int r = ch.read(buf, at + read);
                if (r < 0) {
                    break;
                }
                read += r;
            }
            if (!allZero(buf.array(), read)) {
                e.chunkPositions.add(new long[] {at});
                e.chunks.add(java.util.Arrays.copyOf(buf.array(), read));
            }
        }
    }

    private static boolean allZero(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static void writeFully(FileChannel ch, ByteBuffer src, long position) throws IOException {
        long at = position;
        while (src.hasRemaining()) {
            at += ch.write(src, at);
        }
    }
}

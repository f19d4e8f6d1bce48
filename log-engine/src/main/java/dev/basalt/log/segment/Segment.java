package dev.basalt.log.segment;

import dev.basalt.log.LogStorageException;
import dev.basalt.log.internal.Unmapper;
import dev.basalt.record.RecordBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One segment file of a partition log: record batches laid end to end, nothing else.
 *
 * <h2>File format</h2>
 * The file {@code <20-digit base offset>.log} holds record batches in the format of
 * {@link RecordBatch} (big-endian; each batch starts with its absolute int64 base offset and int32
 * length; CRC32C covers attributes..end of batch), back to back from byte 0, offsets strictly
 * increasing (compaction leaves gaps). There is no segment header or footer: the segment is its
 * own source of truth, and everything else (offset and time index, sizes, max timestamps) is
 * derived and can be rebuilt by scanning it. An active segment's file is grown (sparse) to its
 * capacity so one read-only mapping covers every future write; bytes after the last batch are
 * zero or a torn tail, which recovery cuts off. A sealed segment's file is exactly its data.
 *
 * <h2>Memory and lifetime</h2>
 * Writes go through the file channel (so a full disk is an IOException, not a SIGBUS from a
 * store into a mapping); reads are slices of one read-only shared mapping, which sees the
 * channel's writes through the page cache. The segment owns that mapping and unmaps it
 * explicitly ({@link Unmapper}) when the last reference is released: the owner holds one
 * reference, every reader {@link #retain()}s one for as long as it uses a slice. Sealed segments
 * map lazily on first read, so thousands of idle partitions do not use thousands of mappings
 * (vm.max_map_count is 65530 by default).
 *
 * <p>Thread-safety: one writer at a time (the partition's append lock) for {@link #append},
 * {@link #seal}, {@link #zeroFrom}, {@link #shrinkCapacity}; any number of concurrent readers through {@link #slice} and the
 * header accessors, each bounded by a size it read before (the size is published after the bytes).
 */
public final class Segment {
    public static final String SUFFIX = ".log";
    /** Compaction output before it is swapped in; removed on open (the original is intact). */
    public static final String CLEANED_SUFFIX = ".log.cleaned";
    /** A segment removed from the log, deleted once unreferenced; removed on open. */
    public static final String DELETED_SUFFIX = ".log.deleted";
    /** Several small segments being merged into one, before the swap begins; removed on open (the originals are intact). */
    public static final String MERGING_SUFFIX = ".log.merging";
    /**
     * A finished merge, fsynced, whose swap in (renaming the merged segments but the first away,
     * then this file over the first) had begun: the next open finishes it. Its name,
     * {@link #swapFileName}, names the first and the last segment merged, so finishing it needs
     * nothing from its bytes.
     */
    public static final String SWAP_SUFFIX = ".log.swap";
    public static final long UNKNOWN_TIMESTAMP = Long.MIN_VALUE;

    private final FileLayer files;
    private final long baseOffset;
    private volatile int capacityBytes; // lowered only by shrinkCapacity, under the writer's lock
    private final AtomicInteger refs = new AtomicInteger(1);
    private final AtomicBoolean ownerReleased = new AtomicBoolean();
    private volatile Path path;
    private volatile MappedByteBuffer mapping;
    private volatile int sizeBytes;
    private final java.util.concurrent.atomic.AtomicInteger verifiedBytes = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean sealed;
    private volatile boolean dirty;
    private volatile boolean deleteOnDestroy;
    private volatile long maxTimestamp = UNKNOWN_TIMESTAMP;
    private SegmentFile file; // guarded by this; null once closed (sealed and flushed) or destroyed
    private boolean destroyed; // guarded by this

    private Segment(FileLayer files, Path path, long baseOffset, SegmentFile file, int sizeBytes, int capacityBytes,
                    boolean sealed) {
        this.files = files;
        this.path = path;
        this.baseOffset = baseOffset;
        this.file = file;
        this.sizeBytes = sizeBytes;
        this.capacityBytes = capacityBytes;
        this.sealed = sealed;
    }

    public static String fileName(long baseOffset) {
        return String.format("%020d%s", baseOffset, SUFFIX);
    }

    /** {@code <first>.<last>.log.swap}: a merge of the segments with base offsets first..last. */
    public static String swapFileName(long firstBaseOffset, long lastBaseOffset) {
        return String.format("%020d.%020d%s", firstBaseOffset, lastBaseOffset, SWAP_SUFFIX);
    }

    /** The first and last base offsets a {@link #swapFileName} names, or null if it is not one. */
    public static long[] parseSwapFileName(String fileName) {
        if (fileName.length() != 41 + SWAP_SUFFIX.length() || !fileName.endsWith(SWAP_SUFFIX) || fileName.charAt(20) != '.') {
            return null;
        }
        for (int i = 0; i < 41; i++) {
            if (i != 20 && (fileName.charAt(i) < '0' || fileName.charAt(i) > '9')) {
                return null;
            }
        }
        try {
            long first = Long.parseLong(fileName.substring(0, 20));
            long last = Long.parseLong(fileName.substring(21, 41));
            return first <= last ? new long[] {first, last} : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The base offset a segment file name encodes, or -1 if it is not a segment file name. */
    public static long parseBaseOffset(String fileName) {
        if (fileName.length() != 20 + SUFFIX.length() || !fileName.endsWith(SUFFIX)) {
            return -1;
        }
        for (int i = 0; i < 20; i++) {
            if (fileName.charAt(i) < '0' || fileName.charAt(i) > '9') {
                return -1;
            }
        }
        try {
            return Long.parseLong(fileName.substring(0, 20));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Creates an empty active segment (an existing file of that name is emptied). */
    public static Segment createActive(FileLayer files, Path dir, long baseOffset, int capacityBytes) {
        Path path = dir.resolve(fileName(baseOffset));
        try {
            SegmentFile f = files.open(path, true, true);
            try {
                f.truncate(0);
            } catch (IOException e) {
                closeQuietly(f);
                throw e;
            }
            return new Segment(files, path, baseOffset, f, 0, capacityBytes, false);
        } catch (IOException e) {
            throw new LogStorageException("cannot create segment", path, e);
        }
    }

    /** Opens an existing file as the active segment holding {@code sizeBytes} of valid data. */
    public static Segment openActive(FileLayer files, Path path, long baseOffset, int sizeBytes, int capacityBytes) {
        try {
            SegmentFile f = files.open(path, false, true);
            return new Segment(files, path, baseOffset, f, sizeBytes, Math.max(sizeBytes, capacityBytes), false);
        } catch (IOException e) {
            throw new LogStorageException("cannot open segment", path, e);
        }
    }

    /** Opens an existing file as a sealed, read-only segment of {@code sizeBytes}; maps lazily. */
    public static Segment openSealed(FileLayer files, Path path, long baseOffset, int sizeBytes) {
        return new Segment(files, path, baseOffset, null, sizeBytes, sizeBytes, true);
    }

    public long baseOffset() {
        return baseOffset;
    }

    public Path path() {
        return path;
    }

    /**
     * Whether this segment's file no longer exists under its name (an {@code rm} from outside: the
     * open or mapped file lives on unlinked, so reads and writes keep working, and everything in it
     * is lost at the next start). Callers rule out the log's own deletions (retention, truncation)
     * by checking the segment is still the log's.
     */
    public boolean fileGone() {
        return !java.nio.file.Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The length of the file this segment holds open, now (an fstat: the file as the node holds
     * it, even unlinked), or -1 when it holds none open or the stat failed. Unlike
     * {@link #onDiskSizeBytes()} it does not need a mapping: a follower's active segment is
     * written, never read.
     */
    public long openFileSizeBytes() {
        SegmentFile f;
        synchronized (this) {
            f = file;
        }
        if (f == null) {
            return -1;
        }
        try {
            return f.size();
        } catch (IOException | RuntimeException e) {
            return -1; // closed meanwhile
        }
    }

    /** What a read or the scrubber reports for this segment's file cut to {@code onDiskBytes} under the node. */
    public String cutWhileRunning(long onDiskBytes) {
        return "the segment file is " + onDiskBytes + " bytes where its batches run to byte " + sizeBytes()
                + ": cut short while the node ran";
    }

    /** What is reported for a segment file deleted under the running node (see {@link #fileGone()}). */
    public static String deletedWhileRunning() {
        return "the segment file was deleted while the node ran: what the node still holds of it would be lost at the next"
                + " start";
    }

    /** Bytes of valid batches. */
    public int sizeBytes() {
        return sizeBytes;
    }

    /**
     * Bytes from the start of the segment whose batches passed their CRC in this process: written
     * by an append after validation, or checked by a read. Reads verify what lies beyond it before
     * serving it, so bytes that rotted on disk are caught once, at their first read after a start.
     */
    public int verifiedBytes() {
        return verifiedBytes.get();
    }

    /** Extends the verified prefix to {@code to} when {@code [from, to)} continues it (no gaps). */
    public void verified(int from, int to) {
        int v;
        while ((v = verifiedBytes.get()) >= from && v < to) {
            if (verifiedBytes.compareAndSet(v, to)) {
                return;
            }
        }
    }

    public int capacityBytes() {
        return capacityBytes;
    }

    public boolean isSealed() {
        return sealed;
    }

    public boolean isEmpty() {
        return sizeBytes == 0;
    }

    /** Largest batch max-timestamp in the segment, or {@link #UNKNOWN_TIMESTAMP}. */
    public long maxTimestamp() {
        return maxTimestamp;
    }

    public void maxTimestamp(long ts) {
        this.maxTimestamp = ts;
    }

    /**
     * Appends whole batches at the end. The new bytes become readable when the caller publishes a
     * log end offset covering them; {@link #sizeBytes()} grows only after the write succeeded.
     *
     * @return the position the bytes were written at
     * @throws IOException if the write failed (e.g. ENOSPC); size is unchanged, bytes after it are garbage
     */
    public int append(ByteBuffer batches) throws IOException {
        if (sealed) {
            throw new IllegalStateException("append to sealed segment " + path);
        }
        int position = sizeBytes;
        int length = batches.remaining();
        if ((long) position + length > capacityBytes) {
            throw new IllegalStateException("append of " + length + " bytes at " + position + " overflows capacity "
                    + capacityBytes + " of " + path);
        }
        SegmentFile f = writableFile();
        f.writeFully(batches.duplicate(), position);
        dirty = true;
        sizeBytes = position + length;
        return position;
    }

    /**
     * Lowers an active segment's capacity to {@code capacityBytes} (never below its data) and
     * shrinks its file to match. A mapping made before keeps its old length, but nothing reads it
     * past {@link #sizeBytes()}, which stays below the new end of file (as after {@link #seal()}).
     * The writer's lock must be held; synchronized with {@link #mapping()}'s first map, which
     * would otherwise grow the file back to a capacity it read before the shrink.
     */
    public synchronized void shrinkCapacity(int capacityBytes) throws IOException {
        if (sealed) {
            throw new IllegalStateException("segment " + path + " is sealed");
        }
        int capacity = Math.max(capacityBytes, sizeBytes);
        if (capacity >= this.capacityBytes) {
            return;
        }
        SegmentFile f = writableFile();
        if (f.size() > capacity) {
            f.truncate(capacity);
        }
        this.capacityBytes = capacity;
    }

    public int remainingCapacityBytes() {
        return capacityBytes - sizeBytes;
    }

    private synchronized SegmentFile writableFile() {
        if (file == null) {
            throw new IllegalStateException("segment " + path + " has no open file");
        }
        return file;
    }

    /** fsyncs the data written so far (no-op if nothing was written since the last flush). */
    public void flush() throws IOException {
        if (!dirty) {
            return;
        }
        SegmentFile f;
        synchronized (this) {
            f = file;
        }
        if (f != null) {
            dirty = false;
            try {
                f.force();
            } catch (IOException e) {
                dirty = true;
                throw e;
            }
        }
    }

    public boolean isDirty() {
        return dirty;
    }

    /** Ends writing: the file shrinks to its data; the channel stays open until {@link #closeFileIfFlushed()}. */
    public void seal() throws IOException {
        if (sealed) {
            return;
        }
        SegmentFile f = writableFile();
        f.truncate(sizeBytes);
        sealed = true;
    }

    /** Releases the file descriptor of a sealed segment whose data is flushed (reads use the mapping). */
    public synchronized void closeFileIfFlushed() throws IOException {
        if (sealed && !dirty && file != null && mapping != null) {
            SegmentFile f = file;
            file = null;
            f.close();
        }
    }

    /**
     * Cuts the segment at {@code position} (a batch boundary): zeroes [position, old size) through
     * the channel and fsyncs, so no stale batch can reappear after a crash, and so no reader that
     * still holds a slice of the cut region touches a page past end of file (zeroing, unlike
     * ftruncate, never makes mapped pages vanish).
     */
    public void zeroFrom(int position) throws IOException {
        if (position < 0 || position > sizeBytes) {
            throw new IllegalArgumentException("cut position " + position + " outside [0, " + sizeBytes + "] of " + path);
        }
        SegmentFile f = writableFile();
        int end = sizeBytes;
        ByteBuffer zeros = ByteBuffer.allocate(Math.min(1 << 20, Math.max(1, end - position)));
        for (int pos = position; pos < end; pos += zeros.capacity()) {
            int n = Math.min(zeros.capacity(), end - pos);
            f.writeFully(zeros.duplicate().limit(n), pos);
        }
        sizeBytes = position;
        verifiedBytes.accumulateAndGet(position, Math::min);
        f.force();
    }

    /** The read-only mapping (mapped on first use). Callers must hold a reference. */
    public ByteBuffer mapping() {
        MappedByteBuffer m = mapping;
        if (m != null) {
            return m;
        }
        return mapSlow();
    }

    private synchronized MappedByteBuffer mapSlow() {
        if (mapping != null) {
            return mapping;
        }
        if (destroyed) {
            throw new IllegalStateException("segment " + path + " is closed");
        }
        try {
            mappedFileKey = fileKeyOrNull(path);
            if (file != null && !sealed) {
                mapping = file.mapReadOnly(capacityBytes);
            } else if (file != null) {
                // Sealed: map only the data; mapping the capacity would grow the shrunk file again.
                mapping = file.mapReadOnly(sizeBytes);
            } else {
                try (SegmentFile f = files.open(path, false, false)) {
                    mapping = f.mapReadOnly(sizeBytes);
                }
            }
            return mapping;
        } catch (IOException e) {
            throw new LogStorageException("cannot map segment", path, e);
        }
    }

    /**
     * The file's length on disk now (0 if it is gone). Below {@link #sizeBytes()} only when
     * something outside the log cut the file while it was mapped: reading the mapping past the
     * new end faults (SIGBUS), which the JVM turns into an {@link InternalError} in plain Java
     * reads and bulk copies, but not in intrinsic stubs such as CRC32C over a direct buffer, where
     * it ends the process (found probing: {@code truncate -s} of a sealed segment under a running
     * node crashed the whole node within a scrub pass). See {@link #validateChecksum}.
     */
    public long onDiskSizeBytes() {
        if (mapping == null) {
            return Long.MAX_VALUE; // nothing mapped, nothing to fault (a mapping made now covers the file as it is)
        }
        long open = openFileSizeBytes();
        if (open >= 0) {
            return open;
        }
        // no file held open, or closed meanwhile: ask the file system
        try {
            java.nio.file.attribute.BasicFileAttributes a = java.nio.file.Files.readAttributes(path,
                    java.nio.file.attribute.BasicFileAttributes.class);
            Object key = mappedFileKey;
            if (key != null && !key.equals(a.fileKey())) {
                // The path names another file now (a compaction swap renamed its copy over it): the
                // mapped one lives on untouched while mapped. Its size is not this segment's.
                return Long.MAX_VALUE;
            }
            return a.size();
        } catch (java.nio.file.NoSuchFileException e) {
            return Long.MAX_VALUE; // deleted (retention renames it away): a mapped file outlives its name intact
        } catch (IOException e) {
            throw new LogStorageException("cannot read the size of segment", path, e);
        }
    }

    /**
     * The first offset of this segment not wholly within its first {@code bytes} bytes (a cut
     * file's length): the base offset of the batch that straddles or follows the cut, or where
     * the last whole batch ended. Reads only headers below the cut; if the file shrinks further
     * meanwhile, the segment's base offset.
     */
    public long firstOffsetPast(long bytes) {
        long next = baseOffset;
        try {
            ByteBuffer map = mapping();
            int pos = 0;
            int limit = (int) Math.min(bytes, sizeBytes);
            while (limit - pos >= RecordBatch.HEADER_SIZE_BYTES) {
                int size = batchSizeAt(map, pos);
                long base = baseOffsetAt(map, pos);
                if (size < RecordBatch.HEADER_SIZE_BYTES || size > limit - pos) {
                    return base >= next ? base : next;
                }
                next = lastOffsetAt(map, pos) + 1;
                pos += size;
            }
            return next;
        } catch (InternalError e) {
            return baseOffset;
        }
    }

    /**
     * {@link RecordBatch#validateChecksum()} for the batch at [{@code pos}, {@code pos + batchBytes})
     * of a mapping, computed over heap copies of it (in chunks, on a per-thread buffer): the bulk
     * copy out of the mapping is guarded by the JVM (a fault becomes an {@link InternalError}),
     * where the CRC32C intrinsic reading the mapping directly is not (a fault kills the process).
     */
    public static void validateChecksum(ByteBuffer map, int pos, int batchBytes) {
        byte magic = map.get(pos + RecordBatch.MAGIC_OFFSET);
        if (magic != RecordBatch.MAGIC) {
            throw new dev.basalt.record.CorruptRecordException("unknown magic " + magic);
        }
        long stored = Integer.toUnsignedLong(map.getInt(pos + RecordBatch.CRC_OFFSET));
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        byte[] chunk = CRC_CHUNK.get();
        int end = pos + batchBytes;
        for (int at = pos + RecordBatch.ATTRIBUTES_OFFSET; at < end; ) {
            int n = Math.min(chunk.length, end - at);
            map.get(at, chunk, 0, n);
            crc.update(chunk, 0, n);
            at += n;
        }
        long computed = crc.getValue();
        if (stored != computed) {
            throw new dev.basalt.record.CorruptRecordException(String.format("CRC mismatch: stored %08x, computed %08x", stored, computed));
        }
    }

    private static final int CRC_CHUNK_BYTES = 64 * 1024;
    private static final ThreadLocal<byte[]> CRC_CHUNK = ThreadLocal.withInitial(() -> new byte[CRC_CHUNK_BYTES]);

    /** The identity (device and inode) of the file the mapping reads; null if unknown. */
    private volatile Object mappedFileKey;

    private static Object fileKeyOrNull(Path path) {
        try {
            return java.nio.file.Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** A read-only view of [position, position + length); valid while the caller holds a reference. */
    public ByteBuffer slice(int position, int length) {
        return mapping().slice(position, length);
    }

    /** Takes a reader reference; false if the segment is already being destroyed (re-read the log). */
    public boolean retain() {
        while (true) {
            int n = refs.get();
            if (n <= 0) {
                return false;
            }
            if (refs.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Drops a reference; the last one unmaps, closes and (if deleted) removes the file. */
    public void release() {
        int n = refs.decrementAndGet();
        if (n == 0) {
            destroy();
        } else if (n < 0) {
            throw new IllegalStateException("segment " + path + " released more often than retained");
        }
    }

    /** The owner (the log) lets go; the segment is destroyed when the last reader releases. */
    public void close() {
        if (ownerReleased.compareAndSet(false, true)) {
            release();
        }
    }

    /** Renames the file to its {@code .deleted} name now; removes it when the last reference goes. */
    public void markDeleted() throws IOException {
        Path deleted = path.resolveSibling(path.getFileName() + ".deleted");
        files.atomicMove(path, deleted);
        path = deleted;
        deleteOnDestroy = true;
    }

    /** Current reference count: 1 for the owner plus one per reader (diagnostics and tests). */
    public int referenceCount() {
        return refs.get();
    }

    private synchronized void destroy() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        MappedByteBuffer m = mapping;
        mapping = null;
        Unmapper.unmap(m);
        SegmentFile f = file;
        file = null;
        if (f != null) {
            closeQuietly(f);
        }
        if (deleteOnDestroy) {
            try {
                files.delete(path);
            } catch (IOException e) {
                // The .deleted name is removed again on the next open; nothing refers to it.
                org.slf4j.LoggerFactory.getLogger(Segment.class).warn("could not delete {}: {}", path, e.toString());
            }
        }
    }

    private static void closeQuietly(SegmentFile f) {
        try {
            f.close();
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(Segment.class).warn("close of {} failed: {}", f.path(), e.toString());
        }
    }

    // ---- batch header access on the mapping (no allocation; bounds are the caller's size) ----

    public static long baseOffsetAt(ByteBuffer map, int position) {
        return map.getLong(position + RecordBatch.BASE_OFFSET_OFFSET);
    }

    /** Total size of the batch at {@code position} (header included). */
    public static int batchSizeAt(ByteBuffer map, int position) {
        return map.getInt(position + RecordBatch.LENGTH_OFFSET) + RecordBatch.LOG_OVERHEAD_BYTES;
    }

    public static long lastOffsetAt(ByteBuffer map, int position) {
        return baseOffsetAt(map, position) + map.getInt(position + RecordBatch.LAST_OFFSET_DELTA_OFFSET);
    }

    public static long maxTimestampAt(ByteBuffer map, int position) {
        return map.getLong(position + RecordBatch.MAX_TIMESTAMP_OFFSET);
    }

    @Override
    public String toString() {
        return "Segment(" + path.getFileName() + ", size=" + sizeBytes + (sealed ? ", sealed" : ", active") + ")";
    }
}

package dev.basalt.log.testkit;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.SegmentFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link FileLayer} over the real file system that can fail on command: a disk that fills up
 * after N more bytes (the failing write lands a prefix, as a real ENOSPC can), fsync errors
 * (EIO), and failing renames. It also counts fsyncs, so group commit can be observed.
 *
 * <p>Thread-safety: thread-safe (settings are atomics read on every operation).
 */
public final class FaultyFileLayer implements FileLayer {
    private final AtomicLong writeBytesLeft = new AtomicLong(Long.MAX_VALUE);
    private final AtomicLong forceFailures = new AtomicLong();
    private final AtomicLong forceCount = new AtomicLong();
    private volatile boolean failMoves;
    private volatile boolean failShrinks;
    private volatile long forceDelayMs;
    private volatile java.util.concurrent.CountDownLatch forceGate;
    private final AtomicLong forcesWaiting = new AtomicLong();

    /** After {@code bytes} more bytes, writes fail with "No space left on device". */
    public void diskFullAfter(long bytes) {
        writeBytesLeft.set(bytes);
    }

    public void diskHasSpace() {
        writeBytesLeft.set(Long.MAX_VALUE);
    }

    /** The next {@code n} fsyncs fail with an I/O error. */
    public void failNextForces(int n) {
        forceFailures.set(n);
    }

    /** Makes every fsync take at least this long (a slow disk), so concurrent appenders overlap. */
    public void forceDelayMs(long ms) {
        forceDelayMs = ms;
    }

    /** Every fsync waits until {@code gate} opens (tests order concurrent appenders around one fsync). */
    public void holdForcesUntil(java.util.concurrent.CountDownLatch gate) {
        forceGate = gate;
    }

    /** fsyncs currently held at the gate. */
    public long forcesWaiting() {
        return forcesWaiting.get();
    }

    public void failMoves(boolean fail) {
        failMoves = fail;
        movesBeforeFailure.set(-1);
    }

    /** The next {@code n} renames work, every one after them fails (a crash point between renames). */
    public void failMovesAfter(int n) {
        movesBeforeFailure.set(n);
    }

    private final AtomicLong movesBeforeFailure = new AtomicLong(-1);

    /** Truncations that would shrink a file fail with an I/O error (growing ones still work). */
    public void failShrinks(boolean fail) {
        failShrinks = fail;
    }

    /** fsyncs of segment files so far (directory fsyncs excluded). */
    public long forceCount() {
        return forceCount.get();
    }

    /** Opens that may create a file fail with an I/O error of this message (null: they work). */
    public void failCreates(String message) {
        failCreates = message;
    }

    private volatile String failCreates;
    private volatile Path failDirectoryFsyncOf;
    private final AtomicLong openFiles = new AtomicLong();

    /** fsyncs of exactly this directory fail with an I/O error (null: they work). */
    public void failDirectoryFsyncOf(Path dir) {
        failDirectoryFsyncOf = dir;
    }

    /** Segment files opened through this layer and not closed yet. */
    public long openFiles() {
        return openFiles.get();
    }

    @Override
    public SegmentFile open(Path path, boolean create, boolean writable) throws IOException {
        String fail = failCreates;
        if (create && fail != null) {
            throw new java.nio.file.FileSystemException(path.toString(), null, fail);
        }
        SegmentFile f = new Faulty(FileLayer.DEFAULT.open(path, create, writable));
        openFiles.incrementAndGet();
        return f;
    }

    @Override
    public void fsyncDirectory(Path dir) throws IOException {
        Path fail = failDirectoryFsyncOf;
        if (fail != null && fail.equals(dir)) {
            throw new IOException("injected fsync failure of directory " + dir);
        }
        FileLayer.DEFAULT.fsyncDirectory(dir);
    }

    @Override
    public void atomicMove(Path from, Path to) throws IOException {
        if (failMoves || movesBeforeFailure.getAndUpdate(n -> n > 0 ? n - 1 : n) == 0) {
            throw new IOException("injected rename failure " + from + " -> " + to);
        }
        FileLayer.DEFAULT.atomicMove(from, to);
    }

    private final class Faulty implements SegmentFile {
        private final SegmentFile delegate;

        Faulty(SegmentFile delegate) {
            this.delegate = delegate;
        }

        @Override
        public Path path() {
            return delegate.path();
        }

        @Override
        public void writeFully(ByteBuffer src, long position) throws IOException {
            long left = writeBytesLeft.get();
            if (left >= src.remaining()) {
                if (left != Long.MAX_VALUE) {
                    writeBytesLeft.addAndGet(-src.remaining());
                }
                delegate.writeFully(src, position);
                return;
            }
            // A partial write, then ENOSPC: the bytes that landed are garbage the log must ignore.
            ByteBuffer prefix = src.duplicate();
            prefix.limit(prefix.position() + (int) Math.max(0, left));
            delegate.writeFully(prefix, position);
            writeBytesLeft.set(0);
            throw new IOException("No space left on device (injected) writing " + path());
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return delegate.read(dst, position);
        }

        @Override
        public void force() throws IOException {
            forceCount.incrementAndGet();
            java.util.concurrent.CountDownLatch gate = forceGate;
            if (gate != null) {
                forcesWaiting.incrementAndGet();
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted at the fsync gate", e);
                } finally {
                    forcesWaiting.decrementAndGet();
                }
            }
            if (forceDelayMs > 0) {
                try {
                    Thread.sleep(forceDelayMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted during injected slow fsync", e);
                }
            }
            if (forceFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new IOException("Input/output error (injected fsync failure) on " + path());
            }
            delegate.force();
        }

        @Override
        public long size() throws IOException {
            return delegate.size();
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            if (failShrinks && sizeBytes < delegate.size()) {
                throw new IOException("Input/output error (injected: shrinking truncate)");
            }
            delegate.truncate(sizeBytes);
        }

        @Override
        public MappedByteBuffer mapReadOnly(long sizeBytes) throws IOException {
            return delegate.mapReadOnly(sizeBytes);
        }

        private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

        @Override
        public void close() throws IOException {
            if (closed.compareAndSet(false, true)) {
                openFiles.decrementAndGet();
            }
            delegate.close();
        }
    }
}

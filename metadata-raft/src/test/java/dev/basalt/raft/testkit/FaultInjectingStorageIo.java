package dev.basalt.raft.testkit;

import dev.basalt.raft.log.OutOfSpaceException;
import dev.basalt.raft.log.StorageFile;
import dev.basalt.raft.log.StorageIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * A {@link StorageIo} that forwards to a real one and injects faults on demand: an I/O error on the
 * next write, fsync or directory sync; a full disk after N more bytes (the write that crosses the
 * line writes only the bytes that fit, then fails); or a process crash after N more written bytes or
 * N more mutating operations (the crossing write is cut short and every later operation fails, as if
 * the process died; whatever reached the file stays, which is what a crash after the kernel took the
 * bytes looks like). Counts open files so tests can check nothing leaks.
 *
 * <p>Not thread-safe, except {@link #diskFullAfterBytes} and {@link #freeDiskSpace}: one test
 * thread arms the other faults and drives the store.
 */
public final class FaultInjectingStorageIo implements StorageIo {
    private final StorageIo delegate;
    private volatile long bytesUntilDiskFull = Long.MAX_VALUE;
    private long bytesUntilCrash = Long.MAX_VALUE;
    private long operationsUntilCrash = Long.MAX_VALUE;
    private boolean failNextWrite;
    private boolean failNextForce;
    private boolean failNextDirectorySync;
    private boolean crashed;
    private int openFiles;

    public FaultInjectingStorageIo(StorageIo delegate) {
        this.delegate = delegate;
    }

    public FaultInjectingStorageIo() {
        this(StorageIo.nio());
    }

    public void failNextWrite() {
        failNextWrite = true;
    }

    public void failNextForce() {
        failNextForce = true;
    }

    public void failNextDirectorySync() {
        failNextDirectorySync = true;
    }

    /**
     * Writes fail with "No space left on device" ({@link OutOfSpaceException}) once {@code bytes}
     * more bytes were written, and {@link #usableBytes} reports what is left. May be called from
     * another thread than the store's (a test filling a running node's disk).
     */
    public void diskFullAfterBytes(long bytes) {
        bytesUntilDiskFull = bytes;
    }

    /** Ends a full disk: writes go through again and the delegate's free space is reported. */
    public void freeDiskSpace() {
        bytesUntilDiskFull = Long.MAX_VALUE;
    }

    @Override
    public long usableBytes(Path dir) throws IOException {
        return Math.min(bytesUntilDiskFull, delegate.usableBytes(dir));
    }

    /** The process "dies" in the write that crosses {@code bytes} more written bytes. */
    public void crashAfterBytes(long bytes) {
        bytesUntilCrash = bytes;
    }

    /** The process "dies" at the {@code operations}-th next mutating operation (0 = the next one). */
    public void crashAfterOperations(long operations) {
        operationsUntilCrash = operations;
    }

    public boolean crashed() {
        return crashed;
    }

    /** Files opened through this layer and not yet closed. */
    public int openFiles() {
        return openFiles;
    }

    private void mutating(String what) throws IOException {
        checkAlive();
        if (operationsUntilCrash == 0) {
            crashed = true;
            throw new IOException("simulated crash before " + what);
        }
        operationsUntilCrash--;
    }

    private void checkAlive() throws IOException {
        if (crashed) {
            throw new IOException("simulated crash: process is dead");
        }
    }

    @Override
    public StorageFile open(Path path) throws IOException {
        checkAlive();
        StorageFile file = new FaultyFile(delegate.open(path));
        openFiles++;
        return file;
    }

    @Override
    public List<Path> list(Path dir) throws IOException {
        checkAlive();
        return delegate.list(dir);
    }

    @Override
    public void moveAtomically(Path source, Path target) throws IOException {
        mutating("rename " + source);
        delegate.moveAtomically(source, target);
    }

    @Override
    public void delete(Path path) throws IOException {
        mutating("delete " + path);
        delegate.delete(path);
    }

    @Override
    public void syncDirectory(Path dir) throws IOException {
        mutating("sync " + dir);
        if (failNextDirectorySync) {
            failNextDirectorySync = false;
            throw new IOException("injected: directory fsync failed (EIO)");
        }
        delegate.syncDirectory(dir);
    }

    @Override
    public void createDirectories(Path dir) throws IOException {
        checkAlive();
        delegate.createDirectories(dir);
    }

    private final class FaultyFile implements StorageFile {
        private final StorageFile file;
        private boolean closed;

        FaultyFile(StorageFile file) {
            this.file = file;
        }

        @Override
        public long sizeBytes() throws IOException {
            checkAlive();
            return file.sizeBytes();
        }

        @Override
        public void readFully(ByteBuffer dst, long position) throws IOException {
            checkAlive();
            file.readFully(dst, position);
        }

        @Override
        public void writeFully(ByteBuffer src, long position) throws IOException {
            mutating("write");
            if (failNextWrite) {
                failNextWrite = false;
                throw new IOException("injected: write failed (EIO)");
            }
            int length = src.remaining();
            long allowed = Math.min(bytesUntilCrash, bytesUntilDiskFull);
            if (length <= allowed) {
                file.writeFully(src, position);
                bytesUntilCrash -= length;
                bytesUntilDiskFull -= length;
                return;
            }
            ByteBuffer part = src.slice();
            part.limit((int) allowed);
            file.writeFully(part, position);
            boolean crash = bytesUntilCrash <= bytesUntilDiskFull;
            bytesUntilCrash -= allowed;
            bytesUntilDiskFull -= allowed;
            if (crash) {
                crashed = true;
                throw new IOException("simulated crash after " + allowed + " of " + length + " bytes");
            }
            throw new OutOfSpaceException("No space left on device (injected after " + allowed + " of " + length + " bytes)");
        }

        @Override
        public void force() throws IOException {
            mutating("fsync");
            if (failNextForce) {
                failNextForce = false;
                throw new IOException("injected: fsync failed (EIO)");
            }
            file.force();
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            mutating("truncate");
            file.truncate(sizeBytes);
        }

        @Override
        public void close() throws IOException {
            // Always close the real file, even after a simulated crash: the test process keeps running.
            if (!closed) {
                closed = true;
                openFiles--;
                file.close();
            }
        }
    }
}

package dev.basalt.log.segment;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * The file operations a segment needs, narrow enough that a test can fail any one of them
 * (disk full on write, EIO on fsync) through a {@link FileLayer}.
 *
 * <p>Thread-safety: positional writes and {@link #force()} may be called from different threads
 * (as a FileChannel allows); the segment serialises writes itself.
 */
public interface SegmentFile extends AutoCloseable {
    Path path();

    /** Writes all of {@code src} at {@code position}, or throws having written an unknown prefix. */
    void writeFully(ByteBuffer src, long position) throws IOException;

    /** Reads into {@code dst} from {@code position} until dst is full or end of file. */
    int read(ByteBuffer dst, long position) throws IOException;

    /** fdatasync: the data written so far survives a machine crash when this returns. */
    void force() throws IOException;

    long size() throws IOException;

    /** Shrinks the file to {@code sizeBytes}. */
    void truncate(long sizeBytes) throws IOException;

    /**
     * Maps [0, sizeBytes) read-only, growing the file (sparse) if it is shorter, which needs the
     * file open for writing.
     */
    MappedByteBuffer mapReadOnly(long sizeBytes) throws IOException;

    @Override
    void close() throws IOException;
}

package dev.basalt.raft.log;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One open file of the Raft store, addressed by absolute position. The narrow surface (positional
 * read and write, force, truncate) is what {@link FileRaftStore} needs and what a fault-injecting
 * test layer has to imitate. Not thread-safe: one owner (the store) uses it.
 */
public interface StorageFile extends Closeable {

    /** Current size of the file in bytes. */
    long sizeBytes() throws IOException;

    /** Fills {@code dst} from {@code position}; an {@link java.io.EOFException} if the file ends first. */
    void readFully(ByteBuffer dst, long position) throws IOException;

    /** Writes all remaining bytes of {@code src} at {@code position}. */
    void writeFully(ByteBuffer src, long position) throws IOException;

    /** Forces written data and the file size to stable storage (fsync). */
    void force() throws IOException;

    /** Cuts the file to {@code sizeBytes} (no-op if it is already that short). */
    void truncate(long sizeBytes) throws IOException;

    @Override
    void close() throws IOException;
}

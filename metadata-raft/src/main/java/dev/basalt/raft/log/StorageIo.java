package dev.basalt.raft.log;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The file-system operations {@link FileRaftStore} performs, behind an interface so tests can
 * inject I/O errors, a full disk or a crash at a chosen byte (see the testkit's
 * {@code FaultInjectingStorageIo}). Implementations are stateless or thread-safe; the store calls
 * them from its single owner thread.
 */
public interface StorageIo {

    /**
     * Opens {@code path} for reading and writing, creating it if it does not exist. Here, in
     * {@link #moveAtomically}, {@link #createDirectories} and {@link StorageFile#writeFully}, a full
     * file system is an {@link OutOfSpaceException}.
     */
    StorageFile open(Path path) throws IOException;

    /** Files directly inside {@code dir} (no order promised). */
    List<Path> list(Path dir) throws IOException;

    /** Renames {@code source} to {@code target} atomically, replacing {@code target}. */
    void moveAtomically(Path source, Path target) throws IOException;

    /** Deletes {@code path} if it exists. */
    void delete(Path path) throws IOException;

    /** Makes creations, renames and deletions inside {@code dir} durable (fsync of the directory). */
    void syncDirectory(Path dir) throws IOException;

    /** Creates {@code dir} and its parents if missing. */
    void createDirectories(Path dir) throws IOException;

    /** Bytes an unprivileged writer may still use on the file system holding {@code dir}. */
    long usableBytes(Path dir) throws IOException;

    /** The real file system through {@link java.nio.channels.FileChannel}. */
    static StorageIo nio() {
        return NioStorageIo.INSTANCE;
    }
}

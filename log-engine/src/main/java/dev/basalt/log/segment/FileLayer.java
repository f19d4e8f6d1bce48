package dev.basalt.log.segment;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Every file-system operation of the log engine goes through this seam so tests can inject disk
 * full, I/O errors and torn writes (the testkit's {@code FaultyFileLayer}). {@link #DEFAULT} is the
 * real file system.
 *
 * <p>Thread-safety: implementations must be safe for concurrent use; {@link #DEFAULT} is stateless.
 */
public interface FileLayer {
    FileLayer DEFAULT = new FileLayer() {
    };

    /** Opens a segment file; {@code create} makes it if missing; {@code writable} opens it read-write. */
    default SegmentFile open(Path path, boolean create, boolean writable) throws IOException {
        List<OpenOption> options = new ArrayList<>(3);
        options.add(StandardOpenOption.READ);
        if (writable) {
            options.add(StandardOpenOption.WRITE);
        }
        if (create) {
            options.add(StandardOpenOption.CREATE);
        }
        return new ChannelSegmentFile(path, FileChannel.open(path, options.toArray(new OpenOption[0])));
    }

    /** Atomically renames {@code from} to {@code to}, replacing {@code to} if it exists. */
    default void atomicMove(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    default void delete(Path path) throws IOException {
        Files.deleteIfExists(path);
    }

    default void createDirectories(Path dir) throws IOException {
        Files.createDirectories(dir);
    }

    /** fsyncs a directory so renames, creations and deletions in it survive a machine crash. */
    default void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** A {@link SegmentFile} over a {@link FileChannel}. Thread-safety: as FileChannel. */
    final class ChannelSegmentFile implements SegmentFile {
        private final Path path;
        private final FileChannel channel;

        public ChannelSegmentFile(Path path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }

        @Override
        public Path path() {
            return path;
        }

        @Override
        public void writeFully(ByteBuffer src, long position) throws IOException {
            long pos = position;
            // Bounded: each FileChannel write on a regular file writes at least one byte or throws.
            while (src.hasRemaining()) {
                pos += channel.write(src, pos);
            }
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            int total = 0;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, position + total);
                if (n < 0) {
                    break;
                }
                total += n;
            }
            return total;
        }

        @Override
        public void force() throws IOException {
            channel.force(false);
        }

        @Override
        public long size() throws IOException {
            return channel.size();
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            channel.truncate(sizeBytes);
        }

        @Override
        public MappedByteBuffer mapReadOnly(long sizeBytes) throws IOException {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, sizeBytes);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}

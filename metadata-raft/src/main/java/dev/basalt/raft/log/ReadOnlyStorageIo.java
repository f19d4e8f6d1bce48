package dev.basalt.raft.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@link StorageIo} for {@link FileRaftStore#check}: opens files for reading only and refuses every
 * operation that would change the directory or a file with an {@link IllegalStateException} (a
 * read-only check that tried to write is a bug, never something to carry out). Stateless and
 * thread-safe; each file it opens has one owner.
 */
final class ReadOnlyStorageIo implements StorageIo {
    static final ReadOnlyStorageIo INSTANCE = new ReadOnlyStorageIo();

    private ReadOnlyStorageIo() {
    }

    @Override
    public StorageFile open(Path path) throws IOException {
        return new ReadOnlyFile(path, FileChannel.open(path, StandardOpenOption.READ));
    }

    @Override
    public List<Path> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return new ArrayList<>(files.toList());
        }
    }

    @Override
    public void moveAtomically(Path source, Path target) {
        throw refused("rename " + source + " to " + target);
    }

    @Override
    public void delete(Path path) {
        throw refused("delete " + path);
    }

    @Override
    public void syncDirectory(Path dir) {
        throw refused("fsync " + dir);
    }

    @Override
    public void createDirectories(Path dir) {
        throw refused("create " + dir);
    }

    @Override
    public long usableBytes(Path dir) throws IOException {
        return Files.getFileStore(dir).getUsableSpace();
    }

    static IllegalStateException refused(String what) {
        return new IllegalStateException("a read-only check of the raft store must not " + what);
    }

    private static final class ReadOnlyFile implements StorageFile {
        private final Path path;
        private final FileChannel channel;

        ReadOnlyFile(Path path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }

        @Override
        public long sizeBytes() throws IOException {
            return channel.size();
        }

        @Override
        public void readFully(ByteBuffer dst, long position) throws IOException {
            NioStorageIo.readFully(channel, dst, position);
        }

        @Override
        public void writeFully(ByteBuffer src, long position) {
            throw refused("write to " + path);
        }

        @Override
        public void force() {
            throw refused("fsync " + path);
        }

        @Override
        public void truncate(long sizeBytes) {
            throw refused("truncate " + path + " to " + sizeBytes + " bytes");
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}

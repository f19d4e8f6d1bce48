package dev.basalt.raft.log;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@link StorageIo} over the real file system with {@link FileChannel}. Stateless and thread-safe;
 * each {@link StorageFile} it returns is owned by one thread.
 */
final class NioStorageIo implements StorageIo {
    static final NioStorageIo INSTANCE = new NioStorageIo();

    private NioStorageIo() {
    }

    @Override
    public StorageFile open(Path path) throws IOException {
        try {
            FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            return new NioFile(channel);
        } catch (IOException e) {
            throw OutOfSpaceException.classify(e);
        }
    }

    @Override
    public List<Path> list(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return new ArrayList<>(files.toList());
        }
    }

    @Override
    public void moveAtomically(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw OutOfSpaceException.classify(e);
        }
    }

    @Override
    public void delete(Path path) throws IOException {
        Files.deleteIfExists(path);
    }

    @Override
    public void syncDirectory(Path dir) throws IOException {
        // On Linux a directory opened read-only can be fsynced; that makes its entries durable.
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    @Override
    public void createDirectories(Path dir) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw OutOfSpaceException.classify(e);
        }
    }

    @Override
    public long usableBytes(Path dir) throws IOException {
        return Files.getFileStore(dir).getUsableSpace();
    }

    /** Fills {@code dst} from {@code channel} at {@code position}; EOFException if the file ends first. */
    static void readFully(FileChannel channel, ByteBuffer dst, long position) throws IOException {
        long at = position;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, at);
            if (n < 0) {
                throw new EOFException("end of file at position " + at + ", " + dst.remaining() + " bytes short");
            }
            at += n;
        }
    }

    private static final class NioFile implements StorageFile {
        private final FileChannel channel;

        NioFile(FileChannel channel) {
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
        public void writeFully(ByteBuffer src, long position) throws IOException {
            long at = position;
            try {
                while (src.hasRemaining()) {
                    at += channel.write(src, at);
                }
            } catch (IOException e) {
                throw OutOfSpaceException.classify(e); // an fsync's ENOSPC stays a plain I/O error (see the class)
            }
        }

        @Override
        public void force() throws IOException {
            channel.force(true);
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            channel.truncate(sizeBytes);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}

package dev.basalt.broker.testsupport;

import dev.basalt.log.segment.FileLayer;
import dev.basalt.log.segment.SegmentFile;
import dev.basalt.raft.log.StorageFile;
import dev.basalt.raft.log.StorageIo;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * TEST ONLY: the log engine's {@link FileLayer} and the Raft store's {@link StorageIo} over one
 * {@link LazyFs}, so both lose what they did not fsync when the node crashes with it.
 *
 * <p>Thread-safety: thread-safe (state lives in the {@link LazyFs}); each returned file is as
 * thread-safe as a FileChannel.
 */
public final class LazyFsFiles {
    private LazyFsFiles() {
    }

    /** The log engine's seam over {@code fs}. */
    public static FileLayer fileLayer(LazyFs fs) {
        return new FileLayer() {
            @Override
            public SegmentFile open(Path path, boolean create, boolean writable) throws IOException {
                LazyFs.FileId[] id = new LazyFs.FileId[1];
                FileChannel ch = fs.open(path, create, writable, id);
                return new Segment(fs, id[0], path, ch);
            }

            @Override
            public void atomicMove(Path from, Path to) throws IOException {
                fs.moveAtomically(from, to);
            }

            @Override
            public void delete(Path path) throws IOException {
                fs.delete(path);
            }

            @Override
            public void fsyncDirectory(Path dir) throws IOException {
                fs.syncDirectory(dir);
            }
        };
    }

    /** The Raft store's seam over {@code fs}. */
    public static StorageIo storageIo(LazyFs fs) {
        return new StorageIo() {
            @Override
            public StorageFile open(Path path) throws IOException {
                LazyFs.FileId[] id = new LazyFs.FileId[1];
                FileChannel ch = fs.open(path, true, true, id);
                return new Raft(fs, id[0], ch);
            }

            @Override
            public List<Path> list(Path dir) throws IOException {
                return StorageIo.nio().list(dir);
            }

            @Override
            public void moveAtomically(Path source, Path target) throws IOException {
                fs.moveAtomically(source, target);
            }

            @Override
            public void delete(Path path) throws IOException {
                fs.delete(path);
            }

            @Override
            public void syncDirectory(Path dir) throws IOException {
                fs.syncDirectory(dir);
            }

            @Override
            public void createDirectories(Path dir) throws IOException {
                Files.createDirectories(dir);
            }

            @Override
            public long usableBytes(Path dir) throws IOException {
                return StorageIo.nio().usableBytes(dir);
            }
        };
    }

    private static final class Segment implements SegmentFile {
        private final LazyFs fs;
        private final LazyFs.FileId id;
        private final Path path;
        private final FileChannel ch;

        Segment(LazyFs fs, LazyFs.FileId id, Path path, FileChannel ch) {
            this.fs = fs;
            this.id = id;
            this.path = path;
            this.ch = ch;
        }

        @Override
        public Path path() {
            return path;
        }

        @Override
        public void writeFully(ByteBuffer src, long position) throws IOException {
            fs.write(id, ch, src, position);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            int total = 0;
            while (dst.hasRemaining()) {
                int n = ch.read(dst, position + total);
                if (n < 0) {
                    break;
                }
                total += n;
            }
            return total;
        }

        @Override
        public void force() throws IOException {
            fs.force(id, ch, false);
        }

        @Override
        public long size() throws IOException {
            return ch.size();
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            fs.truncate(id, ch, sizeBytes);
        }

        @Override
        public MappedByteBuffer mapReadOnly(long sizeBytes) throws IOException {
            return fs.map(id, ch, sizeBytes);
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    private static final class Raft implements StorageFile {
        private final LazyFs fs;
        private final LazyFs.FileId id;
        private final FileChannel ch;

        Raft(LazyFs fs, LazyFs.FileId id, FileChannel ch) {
            this.fs = fs;
            this.id = id;
            this.ch = ch;
        }

        @Override
        public long sizeBytes() throws IOException {
            return ch.size();
        }

        @Override
        public void readFully(ByteBuffer dst, long position) throws IOException {
            long at = position;
            while (dst.hasRemaining()) {
                int n = ch.read(dst, at);
                if (n < 0) {
                    throw new EOFException("end of file at position " + at + ", " + dst.remaining() + " bytes short");
                }
                at += n;
            }
        }

        @Override
        public void writeFully(ByteBuffer src, long position) throws IOException {
            fs.write(id, ch, src, position);
        }

        @Override
        public void force() throws IOException {
            fs.force(id, ch, true);
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            fs.truncate(id, ch, sizeBytes);
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }
}

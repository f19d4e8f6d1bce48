package dev.basalt.raft.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Encoding and atomic replacement of the store's two small files, {@code hardstate} and
 * {@code snapshot} (layouts in {@link FileRaftStore}'s javadoc). Stateless and thread-safe; its
 * I/O goes through the caller's {@link StorageIo}.
 */
final class StoreFileCodec {
    static final int HARD_STATE_MAGIC = 0x42485331; // "BHS1"
    static final int SNAPSHOT_MAGIC = 0x42534e31; // "BSN1"
    static final int HARD_STATE_BYTES = 4 + 8 + 4 + 8 + 4;

    private StoreFileCodec() {
    }

    /** Writes {@code bytes} to {@code target} via a temp file: write, fsync, rename, fsync directory. */
    static void writeAtomically(StorageIo io, Path target, byte[] bytes) throws IOException {
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        try (StorageFile file = io.open(temp)) {
            file.truncate(0);
            file.writeFully(ByteBuffer.wrap(bytes), 0);
            file.force();
        }
        io.moveAtomically(temp, target);
        io.syncDirectory(target.getParent());
    }

    /** The whole file, or empty when it does not exist. */
    static Optional<byte[]> readIfExists(StorageIo io, Path path, long sizeBytesMax) throws IOException {
        if (!io.list(path.getParent()).contains(path)) {
            return Optional.empty();
        }
        try (StorageFile file = io.open(path)) {
            long size = file.sizeBytes();
            if (size > sizeBytesMax) {
                throw new RaftStorageException(path + " is " + size + " bytes, over the limit " + sizeBytesMax);
            }
            byte[] bytes = new byte[(int) size];
            file.readFully(ByteBuffer.wrap(bytes), 0);
            return Optional.of(bytes);
        }
    }

    static byte[] encodeHardState(HardState state) {
        ByteBuffer out = ByteBuffer.allocate(HARD_STATE_BYTES);
        out.putInt(HARD_STATE_MAGIC).putLong(state.term()).putInt(state.votedFor()).putLong(state.commitIndex());
        out.putInt(crc(out.array(), HARD_STATE_BYTES - 4));
        return out.array();
    }

    static HardState decodeHardState(byte[] bytes, Path path) {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        if (bytes.length != HARD_STATE_BYTES || in.getInt(0) != HARD_STATE_MAGIC
                || in.getInt(HARD_STATE_BYTES - 4) != crc(bytes, HARD_STATE_BYTES - 4)) {
            throw new RaftStorageException("corrupt hard state file " + path + " (" + bytes.length
                    + " bytes; bad magic, size or CRC32C)");
        }
        in.position(4);
        try {
            return new HardState(in.getLong(), in.getInt(), in.getLong());
        } catch (IllegalArgumentException e) {
            throw new RaftStorageException("impossible hard state in " + path, e);
        }
    }

    static byte[] encodeSnapshot(SnapshotMeta meta, byte[] data) {
        List<Integer> voters = sorted(meta.voters());
        List<Integer> observers = sorted(meta.observers());
        int size = 4 + 8 + 8 + 4 + 4 * voters.size() + 4 + 4 * observers.size() + 4 + data.length + 4;
        ByteBuffer out = ByteBuffer.allocate(size);
        out.putInt(SNAPSHOT_MAGIC).putLong(meta.lastIndex()).putLong(meta.lastTerm());
        out.putInt(voters.size());
        voters.forEach(out::putInt);
        out.putInt(observers.size());
        observers.forEach(out::putInt);
        out.putInt(data.length).put(data);
        out.putInt(crc(out.array(), size - 4));
        return out.array();
    }

    /** Decoded snapshot file: its meta and state-machine bytes. */
    record Snapshot(SnapshotMeta meta, byte[] data) {
    }

    static Snapshot decodeSnapshot(byte[] bytes, Path path) {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            if (bytes.length < 36 || in.getInt(0) != SNAPSHOT_MAGIC
                    || in.getInt(bytes.length - 4) != crc(bytes, bytes.length - 4)) {
                throw new RaftStorageException("corrupt snapshot file " + path + " (bad magic, size or CRC32C)");
            }
            in.position(4);
            long lastIndex = in.getLong();
            long lastTerm = in.getLong();
            Set<Integer> voters = readIds(in);
            Set<Integer> observers = readIds(in);
            byte[] data = new byte[in.getInt()];
            in.get(data);
            if (in.remaining() != 4) {
                throw new RaftStorageException("corrupt snapshot file " + path + ": " + in.remaining() + " bytes left over");
            }
            return new Snapshot(new SnapshotMeta(lastIndex, lastTerm, voters, observers), data);
        } catch (RuntimeException e) {
            if (e instanceof RaftStorageException r) {
                throw r;
            }
            throw new RaftStorageException("corrupt snapshot file " + path, e);
        }
    }

    private static Set<Integer> readIds(ByteBuffer in) {
        int count = in.getInt();
        if (count < 0 || count > in.remaining() / 4) {
            throw new IllegalArgumentException("impossible member count " + count);
        }
        Set<Integer> ids = new HashSet<>();
        for (int i = 0; i < count; i++) {
            ids.add(in.getInt());
        }
        return ids;
    }

    private static List<Integer> sorted(Set<Integer> ids) {
        List<Integer> list = new ArrayList<>(ids);
        Collections.sort(list);
        return list;
    }

    private static int crc(byte[] bytes, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, length);
        return (int) crc.getValue();
    }
}

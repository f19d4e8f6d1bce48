package dev.basalt.raft.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * One segment file of a {@link FileRaftStore}: entries {@code baseIndex ..} in order, framed as the
 * store's class javadoc describes, plus an in-memory index of each entry's position and term
 * (16 bytes per entry: a metadata log of 1 million entries costs 16 MiB of heap until compaction).
 * Not thread-safe: owned by the store.
 */
final class LogSegment {
    static final int FRAME_HEADER_BYTES = 8;
    static final int ENTRY_FIXED_BYTES = 17;

    final Path path;
    final long baseIndex;
    final StorageFile file;
    private long[] positions = new long[16];
    private long[] terms = new long[16];
    private int count;
    private long sizeBytes;

    LogSegment(Path path, long baseIndex, StorageFile file) {
        this.path = path;
        this.baseIndex = baseIndex;
        this.file = file;
    }

    int count() {
        return count;
    }

    long sizeBytes() {
        return sizeBytes;
    }

    /** Last index held, or {@code baseIndex - 1} when empty. */
    long lastIndex() {
        return baseIndex + count - 1;
    }

    long termAt(long index) {
        return terms[slot(index)];
    }

    long positionOf(long index) {
        return positions[slot(index)];
    }

    private int slot(long index) {
        long slot = index - baseIndex;
        if (slot < 0 || slot >= count) {
            throw new IllegalStateException("index " + index + " not in segment " + path + " [" + baseIndex + ", "
                    + lastIndex() + "]");
        }
        return (int) slot;
    }

    /** Records an entry written at the current end of the file. */
    void indexAppended(long term, int frameBytes) {
        if (count == positions.length) {
            positions = Arrays.copyOf(positions, count * 2);
            terms = Arrays.copyOf(terms, count * 2);
        }
        positions[count] = sizeBytes;
        terms[count] = term;
        count++;
        sizeBytes += frameBytes;
    }

    /** Drops entries from {@code index} on; the caller truncates the file to the returned size. */
    long dropFrom(long index) {
        int slot = slot(index);
        sizeBytes = positions[slot];
        count = slot;
        return sizeBytes;
    }

    static int frameBytes(LogEntry entry) {
        return FRAME_HEADER_BYTES + ENTRY_FIXED_BYTES + entry.data().length;
    }

    /** Encodes {@code entry} at the buffer's position: length, CRC32C, term, index, type, data. */
    static void encode(LogEntry entry, ByteBuffer out) {
        int bodyBytes = ENTRY_FIXED_BYTES + entry.data().length;
        int start = out.position();
        out.putInt(bodyBytes);
        out.putInt(0);
        int bodyStart = out.position();
        out.putLong(entry.term()).putLong(entry.index()).put((byte) entry.type().code()).put(entry.data());
        CRC32C crc = new CRC32C();
        crc.update(out.array(), out.arrayOffset() + bodyStart, bodyBytes);
        out.putInt(start + 4, (int) crc.getValue());
    }

    /** Reads and verifies the entry at {@code index}; corruption is a {@link RaftStorageException}. */
    LogEntry read(long index, int entryBytesMax) throws IOException {
        long position = positionOf(index);
        ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER_BYTES);
        file.readFully(header, position);
        int bodyBytes = header.getInt(0);
        if (bodyBytes < ENTRY_FIXED_BYTES || bodyBytes > ENTRY_FIXED_BYTES + entryBytesMax) {
            throw new RaftStorageException("corrupt entry length " + bodyBytes + " in " + path + " at position " + position);
        }
        ByteBuffer body = ByteBuffer.allocate(bodyBytes);
        file.readFully(body, position + FRAME_HEADER_BYTES);
        LogEntry entry = decodeVerified(body.array(), 0, bodyBytes, header.getInt(4));
        if (entry == null || entry.index() != index || entry.term() != termAt(index)) {
            throw new RaftStorageException("corrupt entry " + index + " in " + path + " at position " + position
                    + " (crc, index or term differs from what was written)");
        }
        return entry;
    }

    /** Decodes a frame body; null if the CRC does not match or the fields are impossible. */
    static LogEntry decodeVerified(byte[] buf, int bodyStart, int bodyBytes, int storedCrc) {
        CRC32C crc = new CRC32C();
        crc.update(buf, bodyStart, bodyBytes);
        if ((int) crc.getValue() != storedCrc) {
            return null;
        }
        ByteBuffer body = ByteBuffer.wrap(buf, bodyStart, bodyBytes);
        long term = body.getLong();
        long index = body.getLong();
        int typeCode = body.get();
        if (term < 1 || index < 1 || typeCode < 0 || typeCode > 2) {
            return null;
        }
        byte[] data = new byte[bodyBytes - ENTRY_FIXED_BYTES];
        body.get(data);
        return new LogEntry(term, index, LogEntry.EntryType.fromCode(typeCode), data);
    }
}

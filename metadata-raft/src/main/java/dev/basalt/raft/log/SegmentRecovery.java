package dev.basalt.raft.log;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Rebuilds a {@link LogSegment}'s index from its file on open and decides where a torn tail starts.
 * Stateless and thread-safe; called by the store's owner thread while it opens.
 *
 * <p>Rule: in the last segment, a bad last frame that looks like a write a crash cut short is a torn
 * write from a crash during {@code appendAndFlush}: the file is cut there (it was never
 * acknowledged, since the store fsyncs before returning). It looks so when it is shorter than its
 * header or its stated length, when its header reads all zeros, or when a piece of its body within
 * one 512-byte file block (as etcd's WAL judges it; at least 16 bytes of it) reads all zeros: the
 * file grew but that block never reached the disk. This assumes a file system that shows a block a
 * crash kept from the disk as zeros or not at all (ext4 in its default ordered mode, XFS, btrfs),
 * not stale bytes (ext4 data=writeback), which would read as damage and stop the node. A complete frame
 * whose bytes are all there and whose CRC still fails is damage to an fsynced, possibly
 * acknowledged entry (a flipped bit, a bad sector), as is a frame whose length alone was damaged
 * (the rest of the file is then exactly an entry with a matching CRC): cutting it would make a
 * voter forget an entry it acknowledged, and with one other voter down, a committed entry (a topic,
 * and the records its brokers then delete) could vanish from the cluster. Such a frame, a bad frame
 * followed by a valid one, or any bad frame in an older segment (fsynced before the next segment was
 * created), stops the open with a {@link RaftStorageException} naming file and position.
 */
final class SegmentRecovery {
    private SegmentRecovery() {
    }

    /**
     * Indexes every valid frame of {@code segment}; returns the byte position where a torn tail
     * starts (== file size when there is none).
     */
    static long scan(LogSegment segment, boolean last, int entryBytesMax, long previousTerm) throws IOException {
        long fileBytes = segment.file.sizeBytes();
        if (fileBytes > Integer.MAX_VALUE - 16) {
            throw new RaftStorageException("segment " + segment.path + " is " + fileBytes + " bytes, over 2 GiB");
        }
        byte[] buf = new byte[(int) fileBytes];
        segment.file.readFully(ByteBuffer.wrap(buf), 0);
        ByteBuffer view = ByteBuffer.wrap(buf);
        int pos = 0;
        long lastTerm = previousTerm;
        while (pos < buf.length) {
            String problem = frameProblem(buf, pos, entryBytesMax);
            if (problem != null) {
                boolean validFollows = last && validFrameFollows(buf, pos, entryBytesMax);
                if (last && !validFollows && looksTorn(buf, pos, entryBytesMax)) {
                    return pos;
                }
                throw new RaftStorageException("corrupt entry in " + segment.path + " at position " + pos + ": "
                        + problem + (!last ? " in a segment that was fully fsynced" : validFollows ? ", followed by a valid entry"
                        : ", in a last entry written whole (no block of it unwritten: damage, not a write a crash cut short)"));
            }
            int bodyBytes = view.getInt(pos);
            LogEntry entry = LogSegment.decodeVerified(buf, pos + LogSegment.FRAME_HEADER_BYTES, bodyBytes,
                    view.getInt(pos + 4));
            long expectedIndex = segment.baseIndex + segment.count();
            if (entry.index() != expectedIndex || entry.term() < lastTerm) {
                throw new RaftStorageException("entry in " + segment.path + " at position " + pos + " has index "
                        + entry.index() + " term " + entry.term() + "; expected index " + expectedIndex
                        + " and term >= " + lastTerm);
            }
            segment.indexAppended(entry.term(), LogSegment.FRAME_HEADER_BYTES + bodyBytes);
            lastTerm = entry.term();
            pos += LogSegment.FRAME_HEADER_BYTES + bodyBytes;
        }
        return pos;
    }

    /** Why the frame at {@code pos} is unusable, or null when it is complete and its CRC matches. */
    private static String frameProblem(byte[] buf, int pos, int entryBytesMax) {
        ByteBuffer view = ByteBuffer.wrap(buf);
        if (buf.length - pos < LogSegment.FRAME_HEADER_BYTES) {
            return "partial frame header (" + (buf.length - pos) + " bytes)";
        }
        int bodyBytes = view.getInt(pos);
        if (bodyBytes < LogSegment.ENTRY_FIXED_BYTES || bodyBytes > LogSegment.ENTRY_FIXED_BYTES + entryBytesMax) {
            return "impossible length " + bodyBytes;
        }
        if ((long) pos + LogSegment.FRAME_HEADER_BYTES + bodyBytes > buf.length) {
            return "frame of " + bodyBytes + " bytes runs past the end of file";
        }
        LogEntry entry = LogSegment.decodeVerified(buf, pos + LogSegment.FRAME_HEADER_BYTES, bodyBytes,
                view.getInt(pos + 4));
        return entry == null ? "CRC32C mismatch" : null;
    }

    /** Bytes of the blocks a disk writes whole; an unwritten one reads back as zeros. */
    static final int SECTOR_BYTES = 512;

    /**
     * Whether the bad last frame at {@code pos} (nothing valid after it) looks like a write a
     * crash cut short: too short for its header or its stated length (unless the length alone is
     * wrong: the rest of the file then checks out as one whole entry), or with a block of it
     * (split at 512-byte file offsets; up to the end of file when its length is impossible) all zeros.
     */
    static boolean looksTorn(byte[] buf, int pos, int entryBytesMax) {
        int remaining = buf.length - pos;
        if (remaining < LogSegment.FRAME_HEADER_BYTES) {
            return true;
        }
        ByteBuffer view = ByteBuffer.wrap(buf);
        int bodyBytes = view.getInt(pos);
        boolean possibleLength = bodyBytes >= LogSegment.ENTRY_FIXED_BYTES && bodyBytes <= LogSegment.ENTRY_FIXED_BYTES + entryBytesMax;
        if (possibleLength && (long) pos + LogSegment.FRAME_HEADER_BYTES + bodyBytes > buf.length) {
            int restBytes = remaining - LogSegment.FRAME_HEADER_BYTES;
            return restBytes < LogSegment.ENTRY_FIXED_BYTES
                    || LogSegment.decodeVerified(buf, pos + LogSegment.FRAME_HEADER_BYTES, restBytes, view.getInt(pos + 4)) == null;
        }
        if (allZero(buf, pos, pos + LogSegment.FRAME_HEADER_BYTES)) {
            return true; // a header never written: the file grew, its block did not reach the disk
        }
        // The body, split at block boundaries: a block of it that reads all zeros was never
        // written. A piece shorter than ZERO_RUN_MIN_BYTES proves nothing (an entry's own bytes
        // may be zeros there), and the header's own zeros (a small length's high bytes) are not
        // looked at, or a damaged entry could pass for a torn one.
        int body = pos + LogSegment.FRAME_HEADER_BYTES;
        int end = possibleLength ? body + bodyBytes : buf.length;
        for (int from = body; from < end; ) {
            int to = Math.min(end, (from / SECTOR_BYTES + 1) * SECTOR_BYTES);
            if (to - from >= ZERO_RUN_MIN_BYTES && allZero(buf, from, to)) {
                return true;
            }
            from = to;
        }
        return false;
    }

    /** Shortest piece of a block that, all zeros, counts as that block unwritten. */
    static final int ZERO_RUN_MIN_BYTES = 16;

    private static boolean allZero(byte[] buf, int from, int to) {
        for (int i = from; i < to; i++) {
            if (buf[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** True when the bad frame at {@code pos} has a usable length and a valid frame right after it. */
    private static boolean validFrameFollows(byte[] buf, int pos, int entryBytesMax) {
        if (buf.length - pos < LogSegment.FRAME_HEADER_BYTES) {
            return false;
        }
        int bodyBytes = ByteBuffer.wrap(buf).getInt(pos);
        if (bodyBytes < LogSegment.ENTRY_FIXED_BYTES || bodyBytes > LogSegment.ENTRY_FIXED_BYTES + entryBytesMax) {
            return false;
        }
        long next = (long) pos + LogSegment.FRAME_HEADER_BYTES + bodyBytes;
        return next < buf.length && frameProblem(buf, (int) next, entryBytesMax) == null;
    }
}

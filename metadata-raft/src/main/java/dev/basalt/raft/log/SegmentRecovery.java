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
 *
 * <p>The scan only reads: the store's open cuts the torn tail it reports, and the read-only check
 * ({@link FileRaftStore#check}) reports the same verdict without touching the file.
 */
final class SegmentRecovery {
    private SegmentRecovery() {
    }

    /**
     * What a scan found: the byte position where a torn tail starts (== file size when there is
     * none), and why the frame there counts as torn (null when there is no torn tail).
     */
    record Scan(long validBytes, long fileBytes, String tornReason) {
        long tornBytes() {
            return fileBytes - validBytes;
        }
    }

    /**
     * Damage the store refuses to open with: a bad frame that is not a torn tail, or a frame whose
     * index or term breaks the log's order. Names the segment, the byte position and the index the
     * frame there should hold.
     */
    static final class SegmentDamageException extends RaftStorageException {
        private static final long serialVersionUID = 1L;
        final transient java.nio.file.Path file;
        final long position;
        final long index;
        final String reason;

        SegmentDamageException(java.nio.file.Path file, long position, long index, String message, String reason) {
            super(message);
            this.file = file;
            this.position = position;
            this.index = index;
            this.reason = reason;
        }
    }

    /**
     * Indexes every valid frame of {@code segment} and says where a torn tail starts; reads only.
     * Damage is a {@link SegmentDamageException}.
     */
    static Scan scan(LogSegment segment, boolean last, int entryBytesMax, long previousTerm) throws IOException {
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
                String torn = last && !validFollows ? tornReason(buf, pos, entryBytesMax) : null;
                if (torn != null) {
                    return new Scan(pos, buf.length, problem + ": " + torn);
                }
                String reason = problem + (!last ? " in a segment that was fully fsynced" : validFollows ? ", followed by a valid entry"
                        : ", in a last entry written whole (no block of it unwritten: damage, not a write a crash cut short)");
                throw new SegmentDamageException(segment.path, pos, segment.baseIndex + segment.count(),
                        "corrupt entry in " + segment.path + " at position " + pos + ": " + reason, reason);
            }
            int bodyBytes = view.getInt(pos);
            LogEntry entry = LogSegment.decodeVerified(buf, pos + LogSegment.FRAME_HEADER_BYTES, bodyBytes,
                    view.getInt(pos + 4));
            long expectedIndex = segment.baseIndex + segment.count();
            if (entry.index() != expectedIndex || entry.term() < lastTerm) {
                String reason = "has index " + entry.index() + " term " + entry.term() + "; expected index " + expectedIndex
                        + " and term >= " + lastTerm;
                throw new SegmentDamageException(segment.path, pos, expectedIndex,
                        "entry in " + segment.path + " at position " + pos + " " + reason, "entry " + reason);
            }
            segment.indexAppended(entry.term(), LogSegment.FRAME_HEADER_BYTES + bodyBytes);
            lastTerm = entry.term();
            pos += LogSegment.FRAME_HEADER_BYTES + bodyBytes;
        }
        return new Scan(pos, buf.length, null);
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
     * wrong: the rest of the file then checks out as one whole entry), with an all-zero header, or
     * with a piece of its body within one 512-byte file block, at least 16 bytes long, all zeros
     * (up to the end of file when its length is impossible). Returns why, or null when it does not.
     */
    static String tornReason(byte[] buf, int pos, int entryBytesMax) {
        int remaining = buf.length - pos;
        if (remaining < LogSegment.FRAME_HEADER_BYTES) {
            return "the file ends inside its header";
        }
        ByteBuffer view = ByteBuffer.wrap(buf);
        int bodyBytes = view.getInt(pos);
        boolean possibleLength = bodyBytes >= LogSegment.ENTRY_FIXED_BYTES && bodyBytes <= LogSegment.ENTRY_FIXED_BYTES + entryBytesMax;
        if (possibleLength && (long) pos + LogSegment.FRAME_HEADER_BYTES + bodyBytes > buf.length) {
            int restBytes = remaining - LogSegment.FRAME_HEADER_BYTES;
            boolean cutShort = restBytes < LogSegment.ENTRY_FIXED_BYTES
                    || LogSegment.decodeVerified(buf, pos + LogSegment.FRAME_HEADER_BYTES, restBytes, view.getInt(pos + 4)) == null;
            return cutShort ? "the file ends before its stated length" : null;
        }
        if (allZero(buf, pos, pos + LogSegment.FRAME_HEADER_BYTES)) {
            return "its header reads all zeros (a block that never reached the disk)";
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
                return "bytes " + from + ".." + (to - 1) + " read all zeros (a block that never reached the disk)";
            }
            from = to;
        }
        return null;
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

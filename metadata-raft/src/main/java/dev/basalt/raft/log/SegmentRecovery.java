package dev.basalt.raft.log;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Rebuilds a {@link LogSegment}'s index from its file on open and decides where a torn tail starts.
 * Stateless and thread-safe; called by the store's owner thread while it opens.
 *
 * <p>Rule: in the last segment, a frame that is incomplete (shorter than its header or its stated
 * length), has an impossible length, or fails its CRC while the bytes after it do not start a valid
 * frame, is a torn write from a crash during {@code appendAndFlush}: the file is cut there (it was
 * never acknowledged, since the store fsyncs before returning). A bad frame followed by a valid one,
 * or any bad frame in an older segment (fsynced before the next segment was created), is corruption
 * of acknowledged data and stops the open with a {@link RaftStorageException} naming file and
 * position.
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
                if (last && !validFrameFollows(buf, pos, entryBytesMax)) {
                    return pos;
                }
                throw new RaftStorageException("corrupt entry in " + segment.path + " at position " + pos + ": "
                        + problem + (last ? ", followed by a valid entry" : " in a segment that was fully fsynced"));
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

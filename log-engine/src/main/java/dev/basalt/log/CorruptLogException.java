package dev.basalt.log;

import java.nio.file.Path;

/**
 * Stored data that was acknowledged as flushed (before the recovery point) fails its checks, or a
 * segment's structure is impossible. Never skipped silently: the partition does not open until an
 * operator decides (restore the replica from another broker, or delete the partition directory).
 * Immutable.
 */
public class CorruptLogException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final long position;

    /** @param position byte position of the bad batch in {@code file}, or -1 when not known (file is then the partition's directory) */
    public CorruptLogException(Path file, long position, String message) {
        // found probing: a batch reported by offset read "corrupt log data in .../hc-1 at byte -1"
        super("corrupt log data in " + file + (position >= 0 ? " at byte " + position : "") + ": " + message);
        this.file = file;
        this.position = position;
    }

    public Path file() {
        return file;
    }

    /** Byte position of the bad batch within {@link #file()}. */
    public long position() {
        return position;
    }
}

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

    public CorruptLogException(Path file, long position, String message) {
        super("corrupt log data in " + file + " at byte " + position + ": " + message);
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

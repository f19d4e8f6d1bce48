package dev.basalt.common;

/**
 * The one rule for telling, from an error's message, that the file system had no room for a write:
 * ENOSPC as the JDK words it ("No space left on device"), EDQUOT ("Disk quota exceeded"), and
 * RocksDB's status ("NoSpace"). Shared by the log engine (segment writes, its RocksDB index) and
 * the metadata log's store, which each treat such a failure as one that passes once there is room.
 *
 * <p>Thread-safety: stateless.
 */
public final class NoSpaceMessages {
    private NoSpaceMessages() {
    }

    /** Whether {@code message} (null allowed) says the file system or the quota is full. */
    public static boolean saysNoSpace(String message) {
        return message != null
                && (message.contains("No space left") || message.contains("NoSpace") || message.contains("Disk quota exceeded"));
    }
}

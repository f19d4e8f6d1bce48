package dev.basalt.raft.log;

import java.io.IOException;
import java.nio.file.FileSystemException;

/**
 * A write, file creation or rename found no room on the file system (ENOSPC, EDQUOT). Only the
 * steps that take space raise it, never an fsync: a failed fsync may have lost data the kernel had
 * already accepted, while a refused write changed nothing that was durable (at most it left a torn
 * tail, which reopening the store truncates). That difference is what lets a node wait for space
 * instead of stopping (see {@link RaftStorageException#outOfSpace()}).
 */
public final class OutOfSpaceException extends IOException {
    private static final long serialVersionUID = 1L;

    public OutOfSpaceException(String message) {
        super(message);
    }

    public OutOfSpaceException(IOException cause) {
        super(cause.getMessage(), cause);
    }

    /** Whether {@code e} is the operating system saying the file system or the quota is full. */
    public static boolean isNoSpace(IOException e) {
        if (e instanceof OutOfSpaceException) {
            return true;
        }
        String reason = e instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason() : e.getMessage();
        return dev.basalt.common.NoSpaceMessages.saysNoSpace(reason);
    }

    /** {@code e} as an OutOfSpaceException when it says the disk is full, else {@code e} itself. */
    static IOException classify(IOException e) {
        return !(e instanceof OutOfSpaceException) && isNoSpace(e) ? new OutOfSpaceException(e) : e;
    }
}

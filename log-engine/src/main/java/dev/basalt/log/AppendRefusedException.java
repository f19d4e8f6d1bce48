package dev.basalt.log;

import java.nio.file.Path;

/**
 * The log refused an append before writing any of it: it is offline after a storage failure, its
 * only copy is corrupt from an offset on, or the data directory's disk is full. Unlike a failure
 * during a write, nothing of the batch can be in the log, so the producer may treat the refusal as
 * definite. Immutable.
 */
public final class AppendRefusedException extends LogStorageException {
    private static final long serialVersionUID = 1L;

    public AppendRefusedException(String message, Path file, Throwable cause) {
        super(message, file, cause);
    }
}

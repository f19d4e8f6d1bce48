package dev.basalt.log;

import java.nio.file.Path;

/**
 * An I/O error (disk full, failed write or fsync, RocksDB error) on a named file. The operation
 * that threw did not happen as far as readers are concerned: an append that throws this was not
 * acknowledged and is not visible. After a failed fsync the log is marked failed and refuses
 * further appends (the page cache state is unknown); a failed write (e.g. ENOSPC) leaves the log
 * usable once space is available. Immutable.
 */
public class LogStorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;

    public LogStorageException(String message, Path file, Throwable cause) {
        super(message + " (" + file + ")" + (cause == null ? "" : ": " + cause), cause);
        this.file = file;
    }

    /** The file the failed operation was on. */
    public Path file() {
        return file;
    }
}

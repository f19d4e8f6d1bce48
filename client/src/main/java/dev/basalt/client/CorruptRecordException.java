package dev.basalt.client;

/**
 * The broker found a batch failing its CRC32C or structure checks; nothing of it was appended. Definite.
 *
 * <p>Thread-safety: immutable.
 */
public class CorruptRecordException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public CorruptRecordException(String message) {
        super(message, false);
    }

    public CorruptRecordException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

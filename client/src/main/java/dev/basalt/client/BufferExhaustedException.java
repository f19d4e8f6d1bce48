package dev.basalt.client;

/**
 * The producer's buffer.memory stayed full for max.block.ms: the record was not accepted. Definite, retriable once the producer drains.
 *
 * <p>Thread-safety: immutable.
 */
public class BufferExhaustedException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public BufferExhaustedException(String message) {
        super(message, true);
    }

    public BufferExhaustedException(String message, Throwable cause) {
        super(message, true, cause);
    }
}

package dev.basalt.client;

/**
 * A key or value could not be serialized (at send, so nothing was sent) or deserialized (at
 * poll; the consumer's position stays at the offending record). Definite, not retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class SerializationException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public SerializationException(String message) {
        super(message, false);
    }

    public SerializationException(String message, Throwable cause) {
        super(message, false, cause);
    }
}

package dev.basalt.client;

/**
 * An offset commit's metadata string is longer than the coordinator accepts
 * ({@code offset.metadata.max.bytes} on the brokers); nothing of that commit was stored.
 * Definite, not retriable: shorten the metadata.
 *
 * <p>Thread-safety: immutable.
 */
public class OffsetMetadataTooLargeException extends InvalidRequestException {
    private static final long serialVersionUID = 1L;

    public OffsetMetadataTooLargeException(String message) {
        super(message);
    }
}

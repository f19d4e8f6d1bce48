package dev.basalt.client;

/**
 * A committed offset (the next record to read) and the client's metadata string.
 *
 * <p>Immutable value; thread-safe.
 */
public record OffsetAndMetadata(long offset, String metadata) {
    public OffsetAndMetadata {
        if (offset < 0) {
            throw new IllegalArgumentException("offset " + offset + " < 0");
        }
        metadata = metadata == null ? "" : metadata;
    }

    public OffsetAndMetadata(long offset) {
        this(offset, "");
    }
}

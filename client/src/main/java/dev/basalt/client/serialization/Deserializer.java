package dev.basalt.client.serialization;

/**
 * Turns bytes from a record back into a key or value for the consumer. {@code null} bytes (a
 * null key, a tombstone) must map to {@code null}. Implementations must be thread-safe.
 * Errors are reported as {@link dev.basalt.client.SerializationException}.
 */
@FunctionalInterface
public interface Deserializer<T> {
    T deserialize(String topic, byte[] data);
}

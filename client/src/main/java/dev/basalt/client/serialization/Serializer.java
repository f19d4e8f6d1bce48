package dev.basalt.client.serialization;

/**
 * Turns a key or value into bytes for the producer. {@code null} must map to {@code null} (a
 * null key, or a tombstone value). Implementations must be thread-safe: one producer calls them
 * from every thread that sends. Errors are reported as
 * {@link dev.basalt.client.SerializationException}.
 */
@FunctionalInterface
public interface Serializer<T> {
    byte[] serialize(String topic, T data);
}

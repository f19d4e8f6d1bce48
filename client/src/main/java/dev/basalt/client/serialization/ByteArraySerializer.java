package dev.basalt.client.serialization;

import dev.basalt.client.SerializationException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Passes byte arrays through unchanged (the caller must not modify the array after send).
 *
 * <p>Thread-safety: stateless, thread-safe.
 */
public final class ByteArraySerializer implements Serializer<byte[]> {
    @Override
    public byte[] serialize(String topic, byte[] data) {
        return data;
    }
}

package dev.basalt.client.serialization;

import dev.basalt.client.SerializationException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Encodes an int as 4 bytes big-endian (Kafka's IntegerSerializer format).
 *
 * <p>Thread-safety: stateless, thread-safe.
 */
public final class IntegerSerializer implements Serializer<Integer> {
    @Override
    public byte[] serialize(String topic, Integer data) {
        return data == null ? null : ByteBuffer.allocate(Integer.BYTES).putInt(data).array();
    }
}

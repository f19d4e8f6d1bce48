package dev.basalt.client.serialization;

import dev.basalt.client.SerializationException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Encodes a long as 8 bytes big-endian (Kafka's LongSerializer format).
 *
 * <p>Thread-safety: stateless, thread-safe.
 */
public final class LongSerializer implements Serializer<Long> {
    @Override
    public byte[] serialize(String topic, Long data) {
        return data == null ? null : ByteBuffer.allocate(Long.BYTES).putLong(data).array();
    }
}

package dev.basalt.client.serialization;

import dev.basalt.client.SerializationException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Decodes 8 bytes big-endian into a long; any other length is a SerializationException.
 *
 * <p>Thread-safety: stateless, thread-safe.
 */
public final class LongDeserializer implements Deserializer<Long> {
    @Override
    public Long deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length != Long.BYTES) {
            throw new SerializationException("a long needs 8 bytes, record of topic " + topic + " has " + data.length);
        }
        return ByteBuffer.wrap(data).getLong();
    }
}

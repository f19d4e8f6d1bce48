package dev.basalt.client.serialization;

import dev.basalt.client.SerializationException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Decodes 4 bytes big-endian into an int; any other length is a SerializationException.
 *
 * <p>Thread-safety: stateless, thread-safe.
 */
public final class IntegerDeserializer implements Deserializer<Integer> {
    @Override
    public Integer deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length != Integer.BYTES) {
            throw new SerializationException("an int needs 4 bytes, record of topic " + topic + " has " + data.length);
        }
        return ByteBuffer.wrap(data).getInt();
    }
}

package dev.basalt.client.serialization;

import dev.basalt.client.SerializationException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Decodes UTF-8 bytes into strings (Kafka's StringDeserializer format). Malformed UTF-8 is replaced, as java.lang.String does.
 *
 * <p>Thread-safety: stateless, thread-safe.
 */
public final class StringDeserializer implements Deserializer<String> {
    @Override
    public String deserialize(String topic, byte[] data) {
        return data == null ? null : new String(data, StandardCharsets.UTF_8);
    }
}

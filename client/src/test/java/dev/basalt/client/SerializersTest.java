package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.basalt.client.serialization.ByteArrayDeserializer;
import dev.basalt.client.serialization.ByteArraySerializer;
import dev.basalt.client.serialization.IntegerDeserializer;
import dev.basalt.client.serialization.IntegerSerializer;
import dev.basalt.client.serialization.LongDeserializer;
import dev.basalt.client.serialization.LongSerializer;
import dev.basalt.client.serialization.StringDeserializer;
import dev.basalt.client.serialization.StringSerializer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * Serializers produce Kafka's byte formats (so keys hash to the same partitions as with Kafka's
 * serializers) and round-trip; nulls stay null; bad lengths are typed errors.
 */
class SerializersTest {
    @Test
    void formats_matchKafka() {
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 1, 2}, new LongSerializer().serialize("t", 258L));
        assertArrayEquals(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xfe}, new IntegerSerializer().serialize("t", -2));
        assertArrayEquals("é".getBytes(java.nio.charset.StandardCharsets.UTF_8), new StringSerializer().serialize("t", "é"));
        byte[] b = {1, 2};
        assertArrayEquals(b, new ByteArraySerializer().serialize("t", b));
    }

    @Test
    void nulls_stayNull() {
        assertNull(new StringSerializer().serialize("t", null));
        assertNull(new LongSerializer().serialize("t", null));
        assertNull(new IntegerSerializer().serialize("t", null));
        assertNull(new ByteArraySerializer().serialize("t", null));
        assertNull(new StringDeserializer().deserialize("t", null));
        assertNull(new LongDeserializer().deserialize("t", null));
        assertNull(new IntegerDeserializer().deserialize("t", null));
        assertNull(new ByteArrayDeserializer().deserialize("t", null));
    }

    @Test
    void wrongLength_isSerializationException() {
        assertThrows(SerializationException.class, () -> new LongDeserializer().deserialize("t", new byte[4]));
        assertThrows(SerializationException.class, () -> new IntegerDeserializer().deserialize("t", new byte[8]));
    }

    @Property
    void long_roundTrips(@ForAll long v) {
        assertEquals(v, new LongDeserializer().deserialize("t", new LongSerializer().serialize("t", v)));
    }

    @Property
    void int_roundTrips(@ForAll int v) {
        assertEquals(v, new IntegerDeserializer().deserialize("t", new IntegerSerializer().serialize("t", v)));
    }

    @Property
    void string_roundTrips(@ForAll String v) {
        String expected = new String(v.getBytes(java.nio.charset.StandardCharsets.UTF_8), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(expected, new StringDeserializer().deserialize("t", new StringSerializer().serialize("t", v)));
    }
}

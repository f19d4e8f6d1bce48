package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * The key → partition mapping must equal Kafka's default partitioner's, or keyed data would land
 * in different partitions than users of Kafka expect.
 *
 * <p>Method: fixed vectors computed from the MurmurHash2 algorithm by an independent
 * implementation (and matching the vectors Kafka's own UtilsTest uses for "21" and "foobar"),
 * plus a differential property against kafka-clients' Utils.murmur2 and
 * BuiltInPartitioner.partitionForKey (test scope only). Reproduce a failing property with the
 * seed jqwik prints: {@code ./mvnw -B -ntp -pl client -am verify -Dtest=DefaultPartitionerTest
 * -Dsurefire.failIfNoSpecifiedTests=false} after adding {@code seed = "..."} to the @Property.
 */
class DefaultPartitionerTest {
    private static int hash(String s) {
        return DefaultPartitioner.murmur2(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void murmur2_knownVectors_everyTailLength() {
        assertEquals(275646681, hash(""));
        assertEquals(-1563381124, hash("a"));
        assertEquals(316155434, hash("ab"));
        assertEquals(479470107, hash("abc"));
        assertEquals(-1323649548, hash("abcd"));
        assertEquals(-973932308, hash("21"));
        assertEquals(-790332482, hash("foobar"));
        assertEquals(-798503068, hash("kafka"));
        assertEquals(495243318, hash("The quick brown fox jumps over the lazy dog"));
        assertEquals(1699770653, DefaultPartitioner.murmur2(new byte[] {(byte) 0xff, (byte) 0x80, 0x00, 0x7f, 0x01}));
    }

    @Test
    void partitionForKey_knownVectors() {
        assertEquals(3, DefaultPartitioner.partitionForKey("key-42".getBytes(StandardCharsets.UTF_8), 6));
        assertEquals(0, DefaultPartitioner.partitionForKey("foobar".getBytes(StandardCharsets.UTF_8), 6));
        assertEquals(6, DefaultPartitioner.partitionForKey("foobar".getBytes(StandardCharsets.UTF_8), 12));
        assertEquals(8, DefaultPartitioner.partitionForKey("abcd".getBytes(StandardCharsets.UTF_8), 12));
    }

    @Test
    void toPositive_clearsSignBitOnly() {
        assertEquals(0, DefaultPartitioner.toPositive(Integer.MIN_VALUE));
        assertEquals(Integer.MAX_VALUE, DefaultPartitioner.toPositive(-1));
        assertEquals(5, DefaultPartitioner.toPositive(5));
    }

    @Test
    void partitionForKey_rejectsNonPositiveCount() {
        assertThrows(IllegalArgumentException.class, () -> DefaultPartitioner.partitionForKey(new byte[1], 0));
    }

    @Property(tries = 2000)
    void murmur2_equalsKafka(@ForAll @Size(max = 300) byte[] key) {
        assertEquals(org.apache.kafka.common.utils.Utils.murmur2(key), DefaultPartitioner.murmur2(key));
    }

    @Property(tries = 1000)
    void partitionForKey_equalsKafkaDefaultPartitioner(@ForAll @Size(max = 64) byte[] key,
                                                        @ForAll @IntRange(min = 1, max = 10_000) int partitions) {
        assertEquals(org.apache.kafka.clients.producer.internals.BuiltInPartitioner.partitionForKey(key, partitions),
                DefaultPartitioner.partitionForKey(key, partitions));
    }
}

package dev.basalt.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.client.internal.ConfigDef;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Client configs: Kafka's names, defaults, typed values from strings or objects, typed errors naming the key. */
class ConfigTest {
    @Test
    void producerDefaults() {
        ConfigDef.Parsed p = ProducerConfig.parse(Map.of());
        assertEquals(List.of("127.0.0.1:9400"), p.getList(ProducerConfig.BOOTSTRAP_SERVERS));
        assertEquals("all", p.getString(ProducerConfig.ACKS));
        assertEquals(16_384, p.getInt(ProducerConfig.BATCH_SIZE));
        assertEquals(5L, p.getLong(ProducerConfig.LINGER_MS));
        assertEquals(32L * 1024 * 1024, p.getLong(ProducerConfig.BUFFER_MEMORY));
        assertEquals(120_000, p.getInt(ProducerConfig.DELIVERY_TIMEOUT_MS));
    }

    @Test
    void clusterKeys_defaultsAndValidation() {
        ConfigDef.Parsed c = ConsumerConfig.parse(Map.of());
        assertEquals("", c.getString(ConsumerConfig.CLIENT_RACK));
        assertEquals(10_000, c.getInt(CommonClientConfigs.SOCKET_CONNECTION_SETUP_TIMEOUT_MS));
        assertEquals(1_000L, c.getLong(CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS));
        assertEquals("rack-a", ConsumerConfig.parse(Map.of("client.rack", "rack-a")).getString(ConsumerConfig.CLIENT_RACK));
        ConfigException e = assertThrows(ConfigException.class, () -> ConsumerConfig.parse(Map.of("client.rack", "r".repeat(256))));
        assertEquals("client.rack", e.key());
        assertEquals(List.of("a:1", "b:2", "c:3"), AdminConfig.parse(Map.of("bootstrap.servers", "a:1, b:2,c:3"))
                .getList(AdminConfig.BOOTSTRAP_SERVERS));
        rejects("socket.connection.setup.timeout.ms", 0);
        rejects("reconnect.backoff.max.ms", -1);
        // found probing: a static member of no group was accepted and ignored
        assertEquals("group.instance.id", assertThrows(ConfigException.class,
                () -> ConsumerConfig.parse(Map.of("group.instance.id", "i-1"))).key());
        assertEquals("i-1", ConsumerConfig.parse(Map.of("group.instance.id", "i-1", "group.id", "g"))
                .getString(ConsumerConfig.GROUP_INSTANCE_ID));
    }

    /**
     * Found probing: Kafka settings that change nothing here (security.protocol=PLAINTEXT,
     * compression.type=none, ...) failed a client as unknown keys. They are accepted with that
     * value; any other value is refused naming why; a truly unknown key is still refused.
     */
    @Test
    void kafkaKeysThatChangeNothing_areAccepted_withThoseValuesOnly() {
        ConsumerConfig.parse(Map.of("security.protocol", "PLAINTEXT", "isolation.level", "read_uncommitted",
                "group.protocol", "CONSUMER"));
        ProducerConfig.parse(Map.of("compression.type", "none", "security.protocol", "plaintext"));
        ConfigException ssl = assertThrows(ConfigException.class, () -> ProducerConfig.parse(Map.of("security.protocol", "SSL")));
        assertEquals("security.protocol", ssl.key());
        assertTrue(ssl.getMessage().contains("only plaintext is accepted"), ssl.getMessage());
        ConfigException gzip = assertThrows(ConfigException.class, () -> ProducerConfig.parse(Map.of("compression.type", "gzip")));
        assertTrue(gzip.getMessage().contains("does not compress"), gzip.getMessage());
        ConfigException committed = assertThrows(ConfigException.class,
                () -> ConsumerConfig.parse(Map.of("isolation.level", "read_committed")));
        assertTrue(committed.getMessage().contains("no transactions"), committed.getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> ConsumerConfig.parse(Map.of("no.such.key", "1")))
                .getMessage().contains("unknown configuration key 'no.such.key'"));
    }

    @Test
    void stringsAndObjectsAreTyped() {
        ConfigDef.Parsed p = ProducerConfig.parse(Map.of("batch.size", "65536", "linger.ms", 7, "acks", "1",
                "bootstrap.servers", List.of("a:1", "b:2")));
        assertEquals(65_536, p.getInt(ProducerConfig.BATCH_SIZE));
        assertEquals(7L, p.getLong(ProducerConfig.LINGER_MS));
        assertEquals(1, ProducerConfig.acksValue(p.getString(ProducerConfig.ACKS)));
        assertEquals(-1, ProducerConfig.acksValue("all"));
        assertEquals(List.of("a:1", "b:2"), p.getList(ProducerConfig.BOOTSTRAP_SERVERS));
    }

    @Test
    void propertiesAccepted() {
        Properties props = new Properties();
        props.setProperty("fetch.min.bytes", "10");
        props.setProperty("auto.offset.reset", "earliest");
        ConfigDef.Parsed p = ConsumerConfig.DEF.parse(props);
        assertEquals(10, p.getInt(ConsumerConfig.FETCH_MIN_BYTES));
    }

    private static ConfigException rejects(String key, Object value) {
        ConfigException e = assertThrows(ConfigException.class, () -> ProducerConfig.parse(Map.of(key, value)));
        assertEquals(key, e.key(), e.getMessage());
        return e;
    }

    @Test
    void badValuesNameTheKey() {
        rejects("acks", "2");
        rejects("batch.size", "big");
        rejects("batch.size", -1);
        rejects("linger.ms", 1.5);
        rejects("bootstrap.servers", "localhost");
        rejects("bootstrap.servers", "host:99999");
        rejects("enable.idempotence", "perhaps");
        assertTrue(rejects("lingr.ms", 5).getMessage().contains("unknown"));
    }

    @Test
    void relationsBetweenKeys() {
        rejects("delivery.timeout.ms", 1000);
        ConfigException e = assertThrows(ConfigException.class,
                () -> ProducerConfig.parse(Map.of("buffer.memory", 2048, "batch.size", 4096)));
        assertEquals("buffer.memory", e.key());
    }

    @Test
    void idempotenceIsOnByDefault_conflictsAreErrorsOnlyWhenBothAreExplicit() {
        assertTrue(ProducerConfig.parse(Map.of()).getBoolean("enable.idempotence"));
        // KIP-679: an explicit conflicting key turns the default off ...
        assertFalse(ProducerConfig.parse(Map.of("acks", "1")).getBoolean("enable.idempotence"));
        assertFalse(ProducerConfig.parse(Map.of("max.in.flight.requests.per.connection", 6)).getBoolean("enable.idempotence"));
        // ... but an explicit enable.idempotence=true with a conflicting key is a config error naming that key
        ConfigException e = assertThrows(ConfigException.class,
                () -> ProducerConfig.parse(Map.of("enable.idempotence", true, "acks", "1")));
        assertEquals("acks", e.key());
        e = assertThrows(ConfigException.class,
                () -> ProducerConfig.parse(Map.of("enable.idempotence", "true", "max.in.flight.requests.per.connection", 6)));
        assertEquals("max.in.flight.requests.per.connection", e.key());
        e = assertThrows(ConfigException.class, () -> ProducerConfig.parse(Map.of("enable.idempotence", true, "retries", 0)));
        assertEquals("retries", e.key());
        assertFalse(ProducerConfig.parse(Map.of("enable.idempotence", false, "acks", "0")).getBoolean("enable.idempotence"));
    }

    @Test
    void consumerGroupKeys_areValidated() {
        ConsumerConfig.parse(Map.of("group.id", "g", "group.instance.id", "i-1", "group.remote.assignor", "range"));
        ConfigException e = assertThrows(ConfigException.class, () -> ConsumerConfig.parse(Map.of("group.id", "g".repeat(256))));
        assertEquals("group.id", e.key());
        assertThrows(ConfigException.class, () -> ConsumerConfig.parse(Map.of("group.remote.assignor", "sticky")));
        assertThrows(ConfigException.class, () -> ConsumerConfig.parse(Map.of("auto.offset.reset", "smallest")));
    }

    @Test
    void serializerByClassName() {
        Map<String, Object> cfg = Map.of("key.serializer", "dev.basalt.client.serialization.StringSerializer",
                "value.serializer", "java.lang.String", "bootstrap.servers", "127.0.0.1:1");
        ConfigException e = assertThrows(ConfigException.class, () -> new Producer<String, String>(cfg).close());
        assertEquals("value.serializer", e.key());
    }
}

package dev.basalt.broker.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Node configuration: quick-start defaults, parsing, and a typed error naming the key for every bad value. */
class NodeConfigTest {

    @Test
    void defaultsAreTheQuickStartCluster() {
        NodeConfig c = NodeConfig.defaults();
        assertEquals(1, c.nodeId());
        assertTrue(c.isBroker() && c.isController());
        assertEquals(new NodeConfig.HostPort("127.0.0.1", 9400), c.clientListener());
        assertEquals(new NodeConfig.HostPort("127.0.0.1", 9401), c.controllerListener());
        assertEquals(new NodeConfig.HostPort("127.0.0.1", 9480), c.httpAdminAddress());
        assertEquals(Path.of("./data"), c.dataDir());
        assertEquals(Map.of(1, new NodeConfig.HostPort("127.0.0.1", 9401)), c.voters());
        assertEquals("604800000", c.topicDefaults().get("retention.ms"));
    }

    @Test
    void loadsAPropertiesFileWithKafkaNames(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("node.properties");
        Files.writeString(f, "node.id=3\ncontroller.quorum.voters=3@127.0.0.1:9501\n"
                + "listeners=PLAINTEXT://127.0.0.1:9500,CONTROLLER://127.0.0.1:9501\nlog.retention.ms=1000\n");
        NodeConfig c = NodeConfig.load(f);
        assertEquals(3, c.nodeId());
        assertEquals(9500, c.clientListener().port());
        assertEquals("1000", c.topicDefaults().get("retention.ms"));
    }

    @Test
    void badValuesAreTypedErrorsNamingTheKey() {
        assertEquals("no.such.key", assertThrows(ConfigException.class, () -> NodeConfig.of(Map.of("no.such.key", "1"))).key());
        assertEquals("log.retention.ms",
                assertThrows(ConfigException.class, () -> NodeConfig.of(Map.of("log.retention.ms", "soon"))).key());
        assertEquals("listeners", assertThrows(ConfigException.class,
                () -> NodeConfig.of(Map.of("listeners", "PLAINTEXT://127.0.0.1:notaport"))).key());
        assertEquals("controller.quorum.voters", assertThrows(ConfigException.class,
                () -> NodeConfig.of(Map.of("node.id", "2"))).key(), "a controller must be a voter");
        assertEquals("auto.create.topics.enable",
                assertThrows(ConfigException.class, () -> NodeConfig.of(Map.of("auto.create.topics.enable", "yes"))).key());
        assertEquals("offsets.topic.segment.bytes",
                assertThrows(ConfigException.class, () -> NodeConfig.of(Map.of("offsets.topic.segment.bytes", "100"))).key());
    }
}

package dev.basalt.broker.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Storage identity (KIP-853's directory ids, Kafka's storage tool): a node starts only on a
 * directory formatted for its cluster and node; a missing, unformatted or foreign directory, or a
 * voter's lost metadata log, is refused with one line saying what to do; --join rejoins.
 */
class StorageDirectoryTest {
    @TempDir
    Path tmp;

    NodeConfig config(int nodeId, String roles, String clusterId) {
        return NodeConfig.of(Map.of("node.id", Integer.toString(nodeId), "process.roles", roles,
                "controller.quorum.voters", nodeId + "@127.0.0.1:1", "data.dir", tmp.resolve("data").toString(),
                "cluster.id", clusterId));
    }

    static String refusal(Executable e) {
        return assertThrows(StorageDirectory.StorageIdentityException.class, e::run).getMessage();
    }

    interface Executable {
        void run() throws IOException;
    }

    @Test
    void missingDirectoryIsRefusedUnlessFormatIfMissing() throws IOException {
        NodeConfig c = config(1, "broker,controller", "c1");
        String why = refusal(() -> StorageDirectory.check(c, false));
        assertTrue(why.contains("does not exist") && why.contains("basalt storage format"), why);
        StorageMeta meta = StorageDirectory.check(c, true);
        assertEquals("c1", meta.clusterId());
        assertEquals(StorageMeta.MetadataLog.BOOTSTRAP, meta.metadataLog());
        assertEquals(meta, StorageDirectory.check(c, false), "formatted once, then accepted as is");
    }

    @Test
    void unformattedDirectoryWithFilesIsRefusedEvenWithFormatIfMissing() throws IOException {
        NodeConfig c = config(1, "broker", "c1");
        Files.createDirectories(tmp.resolve("data/orders-0"));
        String why = refusal(() -> StorageDirectory.check(c, true));
        assertTrue(why.contains("not formatted") && why.contains("holds files"), why);
        assertTrue(refusal(() -> StorageDirectory.format(c, "c1", null)).contains("not empty"));
    }

    @Test
    void foreignClusterOrNodeIsRefused() throws IOException {
        StorageDirectory.format(config(1, "broker", "c1"), "c1", null);
        assertTrue(refusal(() -> StorageDirectory.check(config(1, "broker", "c2"), true)).contains("belongs to cluster c1"));
        assertTrue(refusal(() -> StorageDirectory.check(config(2, "broker", "c1"), true)).contains("belongs to node 1"));
        assertTrue(refusal(() -> StorageDirectory.format(config(1, "broker", "c1"), "c1", null)).contains("already formatted"));
    }

    @Test
    void formatChecksTheConfiguredClusterAndAsksControllersForTheirRole() {
        assertTrue(refusal(() -> StorageDirectory.format(config(1, "broker", "c1"), "other", null)).contains("cluster.id=c1"));
        assertTrue(refusal(() -> StorageDirectory.format(config(1, "controller", "c1"), "c1", null)).contains("--initial-voters"));
    }

    @Test
    void aVoterWhoseMetadataLogIsLostIsRefused_andJoinGivesANewDirectoryIdAndKeepsPartitionData() throws IOException {
        NodeConfig c = config(1, "broker,controller", "c1");
        StorageMeta first = StorageDirectory.format(c, "c1", StorageDirectory.VoterMode.INITIAL);
        Files.createDirectories(tmp.resolve("data/raft"));
        Files.writeString(tmp.resolve("data/raft/hard-state"), "x");
        Files.createDirectories(tmp.resolve("data/orders-0"));
        StorageMeta created = StorageDirectory.markMetadataLogCreated(tmp.resolve("data"), first);
        assertEquals(created, StorageDirectory.check(c, false));
        // the metadata log disappears
        Files.delete(tmp.resolve("data/raft/hard-state"));
        String why = refusal(() -> StorageDirectory.check(c, true));
        assertTrue(why.contains("must not vote with an empty log") && why.contains("--join"), why);
        StorageMeta rejoined = StorageDirectory.format(c, "c1", StorageDirectory.VoterMode.JOIN);
        assertNotEquals(first.directoryId(), rejoined.directoryId(), "a new directory id");
        assertEquals(StorageMeta.MetadataLog.JOIN, rejoined.metadataLog());
        assertEquals(rejoined, StorageDirectory.check(c, false));
        assertTrue(Files.isDirectory(tmp.resolve("data/orders-0")), "partition data is kept");
    }

    @Test
    void metaFileRoundTripsAndRejectsMalformedContent() throws IOException {
        NodeConfig c = config(7, "broker", "cluster with spaces=and:symbols");
        StorageMeta m = StorageDirectory.format(c, "cluster with spaces=and:symbols", null);
        assertEquals(m, StorageMeta.read(tmp.resolve("data")));
        Files.writeString(StorageMeta.file(tmp.resolve("data")), "version=1\ncluster.id=x\n");
        assertTrue(refusal(() -> StorageDirectory.check(c, false)).contains("malformed"));
    }
}

package dev.basalt.broker.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.testkit.TestPorts;
import dev.basalt.broker.BasaltNode;
import dev.basalt.log.LogStorageException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Claim: a controller-only node holds its data directory's lock as a broker does: a second node on
 * the same directory is refused with one line, `basalt storage repair` refuses and `check` leaves
 * the metadata log alone while it runs, and the lock is released when the node stops. Found
 * probing: a second `basalt start` on a running controller's directory came up as the same voter
 * on the live metadata log (whose opening recovery deletes temporary files and cuts a torn-looking
 * tail), and storage check and repair both ran on it. Also: start failures an operator causes (a
 * port in use, a directory in use) are one line, not a stack trace.
 *
 * <p>Method: controller-only nodes in this JVM on free loopback ports (a single-voter quorum).
 */
class ControllerDirectoryLockTest {
    @TempDir
    Path dir;

    private NodeConfig controller(Path data) {
        int port = TestPorts.freePort();
        return NodeConfig.of(Map.of("node.id", "1", "process.roles", "controller", "controller.quorum.voters",
                "1@127.0.0.1:" + port, "listeners", "CONTROLLER://127.0.0.1:" + port, "http.admin.listener",
                "127.0.0.1:" + TestPorts.freePort(), "data.dir", data.toString(), "cluster.id", "lock-test"));
    }

    @Test
    void aSecondNodeOnARunningControllersDirectoryIsRefused_andStorageToolsSeeItRunning() throws IOException {
        Path data = dir.resolve("node-1");
        BasaltNode first = new BasaltNode(controller(data), true);
        first.start();
        try {
            BasaltNode second = new BasaltNode(controller(data), true);
            LogStorageException e = assertThrows(LogStorageException.class, second::start);
            assertTrue(e.getMessage().contains("data directory is in use by another process"), e.getMessage());
            assertEquals(e.getMessage(), BasaltNode.knownStartFailure(e), "one line, no stack trace");

            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            StorageTool tool = new StorageTool(new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(1, tool.run(new String[] {"repair", "--dir", data.toString()}), err.toString(StandardCharsets.UTF_8));
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("is in use by a running node: stop it first"),
                    err.toString(StandardCharsets.UTF_8));
            java.nio.file.Path cfg = dir.resolve("node-1.properties");
            java.nio.file.Files.writeString(cfg, "node.id=1\nprocess.roles=controller\ncontroller.quorum.voters=1@127.0.0.1:1\n"
                    + "listeners=CONTROLLER://127.0.0.1:1\ndata.dir=" + data + "\ncluster.id=lock-test\n");
            err.reset();
            assertEquals(1, tool.run(new String[] {"format", "--config", cfg.toString(), "--cluster-id", "lock-test", "--join"}),
                    "format --join would move the live metadata log aside");
            assertTrue(err.toString(StandardCharsets.UTF_8).contains("is in use by a running node"), err.toString(StandardCharsets.UTF_8));
            assertTrue(java.nio.file.Files.isDirectory(data.resolve("raft")), "the metadata log is where it was");
            tool.run(new String[] {"check", "--dir", data.toString()});
            assertTrue(out.toString(StandardCharsets.UTF_8).contains("metadata log: not checked (a node is running on this directory)"),
                    out.toString(StandardCharsets.UTF_8));
        } finally {
            first.close();
        }
        BasaltNode again = new BasaltNode(controller(data), true);
        again.start(); // the lock went with the stopped node
        again.close();
    }

    @Test
    void aPortInUseIsOneLine() {
        IOException bind = new IOException("cannot start the client listener on 127.0.0.1:21440: Failed to bind to address /127.0.0.1:21440",
                new IOException("bind(..) failed with error(-98): Address already in use"));
        assertEquals("cannot start the client listener on 127.0.0.1:21440: the address is already in use (another process listens there)",
                BasaltNode.knownStartFailure(bind));
        assertNull(BasaltNode.knownStartFailure(new IllegalStateException("a bug")), "anything else keeps its stack trace");
        // found probing: a data directory on a read-only file system printed a stack trace
        dev.basalt.log.LogStorageException readOnly = new dev.basalt.log.LogStorageException("cannot open data directory",
                java.nio.file.Path.of("/data"), new java.nio.file.FileSystemException("/data/.lock: Read-only file system"));
        String why = " (the data directory cannot be used: a read-only file system, or its permissions)";
        assertEquals(readOnly.getMessage() + why, BasaltNode.knownStartFailure(readOnly), "its message names the path already");
        assertEquals("cannot open the metadata log: /data/raft: permission denied" + why, BasaltNode.knownStartFailure(
                new java.io.IOException("cannot open the metadata log", new java.nio.file.AccessDeniedException("/data/raft"))),
                "the failing path named when the message does not");
        assertNull(BasaltNode.knownStartFailure(new java.io.IOException("x", new java.nio.file.FileSystemException("/data/f: No space"))),
                "other file system errors keep their stack trace");
        // found probing: a node killed on a full disk crash-looped on RocksDB's stack trace at its next start
        dev.basalt.log.LogStorageException full = new dev.basalt.log.LogStorageException("cannot open the RocksDB index",
                java.nio.file.Path.of("/data/index"), new RuntimeException("While appending to file: /data/index/000008.sst: No space left on device"));
        String known = BasaltNode.knownStartFailure(full);
        assertTrue(known != null && known.startsWith(full.getMessage()) && known.contains("No space left on device")
                && known.contains("the disk holding the data directory is full"), known);
        assertTrue(String.valueOf(BasaltNode.knownStartFailure(new java.io.IOException("cannot open the metadata log",
                new java.io.IOException("/data/raft/hardstate.tmp: Disk quota exceeded")))).contains("full or over its quota"),
                "a quota counts as no room too");
    }
}

package dev.basalt.broker.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dev-cluster plan (roles, ports, properties), its argument parsing and checks before start,
 * and the example configurations in config/: every file there must be a valid node configuration
 * and the examples must form consistent clusters.
 */
class DevClusterTest {
    @TempDir
    Path tmp;

    /**
     * Found probing: every dev cluster had cluster.id basalt-local, so a node whose data directory
     * came from another dev cluster passed the identity check and won an election there. A new
     * cluster gets its own id; a restart keeps the one its nodes were formatted with.
     */
    @Test
    void eachNewDevClusterHasItsOwnClusterId_andARestartKeepsIt() throws IOException {
        AtomicInteger n = new AtomicInteger();
        java.util.function.Supplier<String> ids = () -> "dev-" + n.incrementAndGet();
        assertEquals("dev-1", DevCluster.clusterIdFor(tmp, 3, false, ids), "nothing formatted yet");
        Path data2 = tmp.resolve("node-2").resolve("data");
        Files.createDirectories(data2);
        new dev.basalt.broker.storage.StorageMeta("basalt-local", 2, java.util.UUID.randomUUID(),
                dev.basalt.broker.storage.StorageMeta.MetadataLog.values()[0]).write(data2);
        assertEquals("basalt-local", DevCluster.clusterIdFor(tmp, 3, false, ids), "a formatted node's id is kept");
        assertEquals("dev-2", DevCluster.clusterIdFor(tmp, 3, true, ids), "--fresh starts a new cluster");
        String generated = DevCluster.clusterIdFor(tmp.resolve("other"), 3, false,
                () -> "dev-" + java.util.UUID.randomUUID().toString().substring(0, 13));
        NodeConfig.of(Map.of("node.id", "1", "cluster.id", generated, "process.roles", "broker,controller",
                "controller.quorum.voters", "1@127.0.0.1:9401", "listeners", "PLAINTEXT://127.0.0.1:9400,CONTROLLER://127.0.0.1:9401"));
    }

    /** Found probing: --controllers 2 started a 2-voter quorum without a word. */
    @Test
    void anEvenControllerCountIsWarnedAbout() {
        assertEquals(null, DevCluster.evenControllersWarning(1));
        assertEquals(null, DevCluster.evenControllersWarning(3));
        assertEquals("2 controllers need 2 of them up, and survive 0 failures, as 1 would; use an odd count (1, 3, 5)",
                DevCluster.evenControllersWarning(2));
        assertEquals("4 controllers need 3 of them up, and survive 1 failure, as 3 would; use an odd count (1, 3, 5)",
                DevCluster.evenControllersWarning(4));
    }

    @Test
    void combinedPlanUsesTheDocumentedPortsAndOneVoterListForAll() {
        DevClusterPlan plan = DevClusterPlan.of(tmp, 3, 3, 9400, Map.of(), () -> {
            throw new AssertionError("fixed ports need no free port");
        });
        assertEquals("127.0.0.1:9410,127.0.0.1:9420,127.0.0.1:9430", plan.bootstrap());
        for (DevClusterPlan.Node n : plan.nodes()) {
            NodeConfig c = NodeConfig.of(n.properties());
            assertEquals(n.id(), c.nodeId());
            assertTrue(c.isBroker() && c.isController());
            assertEquals("1@127.0.0.1:9411,2@127.0.0.1:9421,3@127.0.0.1:9431", c.get("controller.quorum.voters"));
            assertEquals(9400 + 10 * n.id() + 8, c.httpAdminAddress().port());
            assertEquals(tmp.resolve("node-" + n.id()).resolve("data"), c.dataDir());
        }
    }

    @Test
    void splitPlanHasControllerOnlyAndBrokerOnlyNodes() {
        DevClusterPlan plan = DevClusterPlan.of(tmp, 5, 3, 9400, Map.of("min.insync.replicas", "2"), () -> 0);
        assertEquals("127.0.0.1:9440,127.0.0.1:9450", plan.bootstrap());
        for (DevClusterPlan.Node n : plan.nodes()) {
            NodeConfig c = NodeConfig.of(n.properties());
            assertEquals(n.id() <= 3, c.isController());
            assertEquals(n.id() > 3, c.isBroker());
            assertEquals(n.id() > 3, c.listeners().containsKey("PLAINTEXT"));
            assertEquals(n.id() <= 3, c.listeners().containsKey("CONTROLLER"));
            assertEquals("2", c.get("min.insync.replicas"));
        }
    }

    @Test
    void basePortZeroTakesEveryPortFromTheFreePortSource() {
        AtomicInteger next = new AtomicInteger(30_000);
        DevClusterPlan plan = DevClusterPlan.of(tmp, 2, 2, 0, Map.of(), next::getAndIncrement);
        Set<Integer> ports = new HashSet<>();
        plan.nodes().forEach(n -> ports.addAll(n.ports().keySet()));
        assertEquals(6, ports.size());
        assertEquals(30_006, next.get());
    }

    @Test
    void badArgumentsAreRefusedWithTheirName() {
        assertThrows(IllegalArgumentException.class, () -> DevClusterPlan.of(tmp, 0, 0, 9400, Map.of(), () -> 0));
        assertThrows(IllegalArgumentException.class, () -> DevClusterPlan.of(tmp, 10, 3, 9400, Map.of(), () -> 0));
        assertThrows(IllegalArgumentException.class, () -> DevClusterPlan.of(tmp, 3, 4, 9400, Map.of(), () -> 0));
        assertThrows(IllegalArgumentException.class, () -> DevClusterPlan.of(tmp, 3, 3, 80, Map.of(), () -> 0));
        assertThrows(IllegalArgumentException.class, () -> DevCluster.parse(new String[] {"--nodes"}));
        assertThrows(IllegalArgumentException.class, () -> DevCluster.parse(new String[] {"--nodes", "x"}));
        assertThrows(IllegalArgumentException.class, () -> DevCluster.parse(new String[] {"--set", "novalue"}));
        assertThrows(IllegalArgumentException.class, () -> DevCluster.parse(new String[] {"--bogus"}));
        DevCluster.Args a = DevCluster.parse(new String[] {"--nodes", "5", "--controllers", "3", "--dir", "d", "--set", "a.b=c",
                "--base-port", "0", "--fresh"});
        assertEquals(5, a.nodes());
        assertEquals(3, a.controllers());
        assertEquals(Map.of("a.b", "c"), a.extra());
        assertTrue(a.fresh());
        assertEquals(3, DevCluster.parse(new String[0]).nodes());
        assertEquals(3, DevCluster.parse(new String[0]).controllers());
    }

    @Test
    void unknownSetKeyIsAUsageError() {
        DevCluster.Args a = DevCluster.parse(new String[] {"--nodes", "1", "--dir", tmp.toString(), "--base-port", "0", "--set",
                "no.such.key=1"});
        assertEquals(DevCluster.EXIT_USAGE, DevCluster.run(a, System.out, System.err));
    }

    @Test
    void takenPortsAreListedWithTheirPurpose() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int taken = s.getLocalPort();
            AtomicInteger calls = new AtomicInteger();
            DevClusterPlan plan = DevClusterPlan.of(tmp, 1, 1, 0, Map.of(), () -> calls.getAndIncrement() == 1 ? taken : freePort());
            List<String> t = DevCluster.takenPorts(plan);
            assertEquals(List.of(taken + " (node 1 controller (Raft) listener)"), t);
        }
    }

    @Test
    void aLiveNodeOfTheSameDirectoryIsDetectedByItsPidFileAndCommandLine() throws Exception {
        DevClusterPlan plan = DevClusterPlan.of(tmp.resolve("dc"), 1, 1, 9400, Map.of(), () -> 0);
        DevClusterPlan.Node n = plan.nodes().get(0);
        Files.createDirectories(n.nodeDir());
        Process unrelated = new ProcessBuilder("sleep", "30").start();
        Process ours = new ProcessBuilder("sh", "-c", "sleep 30; echo " + n.propertiesFile()).start();
        try {
            Files.writeString(n.pidFile(), unrelated.pid() + "\n");
            assertEquals(null, DevCluster.alreadyRunning(plan), "a recycled pid of another program is not a running node");
            Files.writeString(n.pidFile(), ours.pid() + "\n");
            String msg = DevCluster.alreadyRunning(plan);
            assertTrue(msg != null && msg.contains(String.valueOf(ours.pid())), String.valueOf(msg));
            Files.writeString(n.pidFile(), "garbage\n");
            assertEquals(null, DevCluster.alreadyRunning(plan));
        } finally {
            unrelated.destroyForcibly();
            ours.destroyForcibly();
        }
    }

    @Test
    void freshWipesOnlyADevClusterDirectory() throws IOException {
        DevClusterPlan plan = DevClusterPlan.of(tmp.resolve("dc"), 1, 1, 9400, Map.of(), () -> 0);
        Files.createDirectories(tmp.resolve("dc/node-1/data"));
        Files.writeString(tmp.resolve("dc/node-1/data/x"), "x");
        DevCluster.wipe(plan);
        assertFalse(Files.exists(tmp.resolve("dc/node-1")));
        Files.writeString(tmp.resolve("dc/precious.txt"), "keep");
        assertThrows(IOException.class, () -> DevCluster.wipe(plan));
        assertTrue(Files.exists(tmp.resolve("dc/precious.txt")));
    }

    @Test
    void exampleConfigurationsAreValidAndConsistent() throws IOException {
        Path config = Path.of(System.getProperty("user.dir")).resolve("../config").normalize();
        assertTrue(Files.isDirectory(config), "config/ at " + config);
        for (String example : List.of("cluster-combined", "cluster-split")) {
            List<NodeConfig> nodes;
            try (Stream<Path> files = Files.list(config.resolve(example))) {
                nodes = files.filter(f -> f.toString().endsWith(".properties")).sorted().map(NodeConfig::load).toList();
            }
            assertEquals(example.equals("cluster-combined") ? 3 : 5, nodes.size(), example);
            Set<Integer> ids = new HashSet<>();
            Set<Integer> ports = new HashSet<>();
            Set<Path> dirs = new HashSet<>();
            for (NodeConfig n : nodes) {
                assertTrue(ids.add(n.nodeId()), example + ": duplicate node.id " + n.nodeId());
                assertTrue(dirs.add(n.dataDir()), example + ": shared data.dir " + n.dataDir());
                n.listeners().values().forEach(hp -> assertTrue(ports.add(hp.port()), example + ": port " + hp.port() + " twice"));
                assertTrue(ports.add(n.httpAdminAddress().port()));
                assertEquals(nodes.get(0).voters(), n.voters(), example + ": voters differ on node " + n.nodeId());
                assertEquals(nodes.get(0).get("cluster.id"), n.get("cluster.id"));
                if (n.isController()) {
                    assertEquals(n.controllerListener(), n.voters().get(n.nodeId()), "voter entry of node " + n.nodeId());
                }
                if (n.isBroker()) {
                    assertEquals(n.clientListener(), n.advertisedClientAddress());
                    assertTrue(n.rack() != null, "broker " + n.nodeId() + " has a broker.rack");
                }
            }
            assertEquals(3, nodes.stream().filter(NodeConfig::isController).count(), example + ": three controllers");
        }
    }

    private static int freePort() {
        return dev.basalt.broker.testkit.TestPorts.freePort(); // below the ephemeral range
    }
}

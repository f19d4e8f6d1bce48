package dev.basalt.broker.tools;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * The layout of a local development cluster: which node plays which roles, on which 127.0.0.1
 * ports, with which properties. Pure: builds values only (no sockets, no files); the port source
 * is passed in so {@code --base-port 0} (free ports) stays testable.
 *
 * <p>Port scheme with a base port B (default 9400): node K (1-based) listens for clients on
 * {@code B + 10K}, for the controller quorum (Raft) on {@code B + 10K + 1}, and serves HTTP admin
 * on {@code B + 10K + 8}. With B = 9400 node 1 is 9410/9411/9418, node 3 is 9430/9431/9438, so
 * nine nodes fit below 9500 and none collides with the one-node quick start (9400/9401/9480).
 *
 * <p>Roles: with {@code controllers == nodes} every node is combined (broker and controller);
 * otherwise nodes 1..controllers are controller-only and the rest broker-only.
 *
 * <p>Thread-safety: immutable, thread-safe.
 */
public record DevClusterPlan(Path dir, List<Node> nodes) {
    /** Upper bound on nodes: nine keep the default port scheme below 9500 and fit a laptop. */
    public static final int NODES_MAX = 9;
    public static final int BASE_PORT_DEFAULT = 9400;

    /** One planned node: its id, roles, ports and the complete properties it is started with. */
    public record Node(int id, boolean broker, boolean controller, int clientPort, int controllerPort, int httpPort,
                       Path nodeDir, Map<String, String> properties) {
        public String roles() {
            return broker && controller ? "broker,controller" : broker ? "broker" : "controller";
        }

        public Path propertiesFile() {
            return nodeDir.resolve("node.properties");
        }

        public Path logFile() {
            return nodeDir.resolve("node.log");
        }

        public Path pidFile() {
            return nodeDir.resolve("pid");
        }

        public String adminUrl() {
            return "http://127.0.0.1:" + httpPort;
        }

        /** Every port of this node with what it is for, for "port taken" messages. */
        public Map<Integer, String> ports() {
            Map<Integer, String> m = new LinkedHashMap<>();
            if (broker) {
                m.put(clientPort, "node " + id + " client listener");
            }
            if (controller) {
                m.put(controllerPort, "node " + id + " controller (Raft) listener");
            }
            m.put(httpPort, "node " + id + " HTTP admin");
            return m;
        }
    }

    public DevClusterPlan {
        nodes = List.copyOf(nodes);
    }

    /**
     * Plans {@code nodeCount} nodes, {@code controllerCount} of which are controllers (all
     * combined when equal). {@code basePort} 0 takes every port from {@code freePort}.
     * {@code extra} is added to every node's properties (and may override the generated ones).
     *
     * @throws IllegalArgumentException naming the bad argument
     */
    public static DevClusterPlan of(Path dir, int nodeCount, int controllerCount, int basePort, Map<String, String> extra,
                                    IntSupplier freePort) {
        if (nodeCount < 1 || nodeCount > NODES_MAX) {
            throw new IllegalArgumentException("--nodes must be 1.." + NODES_MAX + ", got " + nodeCount);
        }
        if (controllerCount < 1 || controllerCount > nodeCount) {
            throw new IllegalArgumentException("--controllers must be 1..--nodes (" + nodeCount + "), got " + controllerCount);
        }
        if (basePort != 0 && (basePort < 1024 || basePort + 10 * nodeCount + 8 > 65535)) {
            throw new IllegalArgumentException("--base-port must be 0 (free ports) or 1024.." + (65535 - 10 * nodeCount - 8)
                    + ", got " + basePort);
        }
        boolean combined = controllerCount == nodeCount;
        int[][] ports = new int[nodeCount][3];
        for (int k = 1; k <= nodeCount; k++) {
            for (int j = 0; j < 3; j++) {
                ports[k - 1][j] = basePort == 0 ? freePort.getAsInt() : basePort + 10 * k + (j == 0 ? 0 : j == 1 ? 1 : 8);
            }
        }
        List<String> voters = new ArrayList<>();
        for (int k = 1; k <= controllerCount; k++) {
            voters.add(k + "@127.0.0.1:" + ports[k - 1][1]);
        }
        String voterString = String.join(",", voters);
        List<Node> nodes = new ArrayList<>();
        for (int k = 1; k <= nodeCount; k++) {
            boolean controller = k <= controllerCount;
            boolean broker = combined || !controller;
            int client = ports[k - 1][0];
            int raft = ports[k - 1][1];
            int http = ports[k - 1][2];
            Path nodeDir = dir.resolve("node-" + k);
            Map<String, String> p = new LinkedHashMap<>();
            p.put("node.id", String.valueOf(k));
            p.put("process.roles", broker && controller ? "broker,controller" : broker ? "broker" : "controller");
            p.put("controller.quorum.voters", voterString);
            List<String> listeners = new ArrayList<>();
            if (broker) {
                listeners.add("PLAINTEXT://127.0.0.1:" + client);
            }
            if (controller) {
                listeners.add("CONTROLLER://127.0.0.1:" + raft);
            }
            p.put("listeners", String.join(",", listeners));
            p.put("http.admin.listener", "127.0.0.1:" + http);
            p.put("data.dir", nodeDir.resolve("data").toString());
            p.putAll(extra);
            nodes.add(new Node(k, broker, controller, client, raft, http, nodeDir, Collections.unmodifiableMap(p)));
        }
        return new DevClusterPlan(dir, nodes);
    }

    /** The client bootstrap list: every broker's client address. */
    public String bootstrap() {
        List<String> out = new ArrayList<>();
        for (Node n : nodes) {
            if (n.broker()) {
                out.add("127.0.0.1:" + n.clientPort());
            }
        }
        return String.join(",", out);
    }

    /** Renders a node's properties file, with a header saying who wrote it. */
    public static String render(Node n) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Written by `basalt dev-cluster` for node ").append(n.id()).append(" (").append(n.roles())
                .append("); rewritten at every start.\n");
        n.properties().forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString();
    }
}

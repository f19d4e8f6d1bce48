package dev.basalt.broker.testkit;

import dev.basalt.broker.BasaltNode;
import dev.basalt.broker.config.NodeConfig;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A one-node cluster (a combined node, the only voter) started in this JVM on free loopback
 * ports, with a plaintext gRPC channel to its client listener; closed together. The node starts
 * asynchronously: callers poll for what they need.
 */
public final class OneNode implements AutoCloseable {
    private final BasaltNode node;
    private final ManagedChannel channel;

    /** Starts the node on {@code dir}, with {@code extra} config over the listeners and voter. */
    public OneNode(Path dir, Map<String, String> extra) throws IOException {
        int controller = TestPorts.freePort();
        int client = TestPorts.freePort();
        Map<String, String> config = new HashMap<>(Map.of("data.dir", dir.toString(), "listeners",
                "PLAINTEXT://127.0.0.1:" + client + ",CONTROLLER://127.0.0.1:" + controller,
                "controller.quorum.voters", "1@127.0.0.1:" + controller, "http.admin.listener", "127.0.0.1:" + TestPorts.freePort()));
        config.putAll(extra);
        node = new BasaltNode(NodeConfig.of(config), true);
        node.start();
        channel = NettyChannelBuilder.forTarget("127.0.0.1:" + client).usePlaintext().build();
    }

    public BasaltNode node() {
        return node;
    }

    public ManagedChannel channel() {
        return channel;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        node.close();
    }
}

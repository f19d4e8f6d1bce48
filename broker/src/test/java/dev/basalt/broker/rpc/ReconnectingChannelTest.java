package dev.basalt.broker.rpc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Found probing a cluster: a node restarted after a long outage stayed unreachable over the
 * other nodes' long-lived channels for another minute or more, gRPC's reconnect backoff having
 * grown that long. Here a channel is used (as heartbeats use it) against a port where nothing
 * listens for 20 s; once a server listens there, the channel connects within about a second, not
 * at gRPC's next backed-off attempt (seconds away by then). Reproduce: run this class.
 */
@org.junit.jupiter.api.parallel.Execution(org.junit.jupiter.api.parallel.ExecutionMode.CONCURRENT) // it mostly waits: runs beside the other classes
class ReconnectingChannelTest {
    @Test
    void aServerBackAfterALongOutage_isConnectedWithinSeconds() throws Exception {
        int port = dev.basalt.broker.testkit.TestPorts.freePort();
        ManagedChannel raw = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        ReconnectingChannel channel = new ReconnectingChannel(raw);
        Server server = null;
        try {
            long downUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < downUntil) {
                channel.channel().getState(true); // a call's worth of use: connect if idle
                Thread.sleep(100);
            }
            server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).build().start();
            long up = System.nanoTime();
            while (channel.channel().getState(true) != ConnectivityState.READY
                    && System.nanoTime() - up < TimeUnit.SECONDS.toNanos(30)) {
                Thread.sleep(50);
            }
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - up);
            assertTrue(raw.getState(false) == ConnectivityState.READY, "never connected within 30 s");
            // gRPC alone: its next attempt after 20 s of refusals is about 3-7 s away; capped: about 1 s
            assertTrue(tookMs < 2_500, "connected " + tookMs + " ms after the server came back");
        } finally {
            raw.shutdownNow();
            if (server != null) {
                server.shutdownNow();
            }
        }
    }
}

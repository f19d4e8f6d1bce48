package dev.basalt.client.internal;

import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One gRPC {@link ManagedChannel} per broker address, created on first use and shared by every
 * request of one client to that broker (a channel multiplexes calls over one HTTP/2
 * connection and reconnects by itself).
 *
 * <p>Calls on these channels run their callbacks on the transport's event-loop thread
 * (directExecutor): a callback must not block; the Sender, Fetcher and MetadataManager observers
 * only enqueue an answer or complete a future.
 *
 * <p>Thread-safety: thread-safe. Lifetime: owned by one Producer, Consumer or Admin; closed with it.
 */
public final class ChannelPool implements AutoCloseable {
    /**
     * HTTP/2 receive window per connection and per call: how much a broker may send before the
     * client has consumed it. Bounds the client's unconsumed inbound bytes per broker.
     */
    static final int FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

    private final Map<HostPort, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final int maxInboundMessageBytes;
    private volatile boolean closed;

    public ChannelPool(int maxInboundMessageBytes) {
        this.maxInboundMessageBytes = maxInboundMessageBytes;
    }

    /** The largest message a channel of this pool accepts. */
    public int maxInboundMessageBytes() {
        return maxInboundMessageBytes;
    }

    /** The channel to this address, created if needed. */
    public ManagedChannel channel(HostPort address) {
        if (closed) {
            throw new IllegalStateException("client is closed");
        }
        return channels.computeIfAbsent(address, a -> NettyChannelBuilder
                .forAddress(a.host(), a.port(), InsecureChannelCredentials.create())
                .maxInboundMessageSize(maxInboundMessageBytes)
                // a fixed receive window: gRPC's auto-tuning sizes it by bandwidth × round trip,
                // which on a fast local link stays near its 1 MiB floor, and a fetch answer of
                // several MiB then waits on window updates every half MiB
                .flowControlWindow(FLOW_CONTROL_WINDOW_BYTES)
                // callbacks run on the transport thread: every observer in this client only
                // enqueues or completes a future, so a thread hop per answer would be pure latency
                .directExecutor()
                .build());
    }

    /** Shuts every channel down, waiting up to timeoutMs in total for calls to finish. */
    public void close(long timeoutMs) {
        closed = true;
        List<ManagedChannel> all = new ArrayList<>(channels.values());
        channels.clear();
        all.forEach(ManagedChannel::shutdown);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, timeoutMs));
        for (ManagedChannel c : all) {
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !c.awaitTermination(left, TimeUnit.NANOSECONDS)) {
                    c.shutdownNow();
                }
            } catch (InterruptedException e) {
                c.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        close(5_000);
    }
}

package dev.basalt.client.internal;

import io.grpc.ConnectivityState;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
    private static final Logger LOG = LoggerFactory.getLogger(ChannelPool.class);
    /**
     * HTTP/2 receive window per connection and per call: how much a broker may send before the
     * client has consumed it. Bounds the client's unconsumed inbound bytes per broker.
     */
    static final int FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

    private final Map<HostPort, ManagedChannel> channels = new ConcurrentHashMap<>();
    /** Channels that have been READY at least once: only those can have carried a call. */
    private final java.util.Set<ManagedChannel> everReady = java.util.Collections.synchronizedSet(
            java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>()));
    /** Address → System.nanoTime() of the last forced reconnect. */
    private final Map<HostPort, Long> lastBackoffResetNanos = new ConcurrentHashMap<>();
    private final int maxInboundMessageBytes;
    private final int connectTimeoutMs;
    private final long reconnectBackoffMaxNanos;
    private volatile boolean closed;

    /**
     * @param connectTimeoutMs        how long establishing one connection may take before the
     *                                address counts as unreachable (socket.connection.setup.timeout.ms)
     * @param reconnectBackoffMaxMs   the longest a channel to a broker that was down stays in
     *                                gRPC's reconnect backoff (reconnect.backoff.max.ms)
     */
    public ChannelPool(int maxInboundMessageBytes, int connectTimeoutMs, long reconnectBackoffMaxMs) {
        this.maxInboundMessageBytes = maxInboundMessageBytes;
        this.connectTimeoutMs = connectTimeoutMs;
        this.reconnectBackoffMaxNanos = TimeUnit.MILLISECONDS.toNanos(reconnectBackoffMaxMs);
    }

    /** The largest message a channel of this pool accepts. */
    public int maxInboundMessageBytes() {
        return maxInboundMessageBytes;
    }

    /**
     * The channel to this address, created if needed.
     *
     * <p>A channel whose connection failed sits in TRANSIENT_FAILURE, where calls fail at once,
     * and gRPC reconnects after a backoff that grows to 120 s: a broker restarted after a
     * minute would stay unreachable for up to two more. Failover needs a restarted broker back
     * within a second (it may be the new leader), so a channel found in TRANSIENT_FAILURE has
     * its backoff reset, at most once per reconnect.backoff.max.ms per address; the call then
     * waits for no more than that reconnect (the callers retry with their own backoff anyway).
     */
    public ManagedChannel channel(HostPort address) {
        if (closed) {
            throw new IllegalStateException("client is closed");
        }
        ManagedChannel ch = channels.computeIfAbsent(address, this::build);
        if (ch.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
            maybeResetBackoff(address, ch);
        }
        return ch;
    }

    private void maybeResetBackoff(HostPort address, ManagedChannel ch) {
        long now = System.nanoTime();
        boolean[] due = {false};
        lastBackoffResetNanos.compute(address, (a, last) -> {
            if (last == null || now - last >= reconnectBackoffMaxNanos) {
                due[0] = true;
                return now;
            }
            return last;
        });
        if (due[0]) {
            ch.resetConnectBackoff();
        }
    }

    private ManagedChannel build(HostPort a) {
        ManagedChannel ch = NettyChannelBuilder
                .forAddress(a.host(), a.port(), InsecureChannelCredentials.create())
                .maxInboundMessageSize(maxInboundMessageBytes)
                // an address that drops packets (host down, firewall) fails after this, not after
                // the OS's minutes of SYN retries or the request deadline; the caller moves on
                .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs)
                // a fixed receive window: gRPC's auto-tuning sizes it by bandwidth × round trip,
                // which on a fast local link stays near its 1 MiB floor, and a fetch answer of
                // several MiB then waits on window updates every half MiB
                .flowControlWindow(FLOW_CONTROL_WINDOW_BYTES)
                // callbacks run on the transport thread: every observer in this client only
                // enqueues or completes a future, so a thread hop per answer would be pure latency
                .directExecutor()
                .build();
        // gRPC tries a name's addresses one after another, each up to connectTimeoutMs, while the
        // channel stays CONNECTING: a name with a dead first address (a broken IPv6 route) must get
        // the time to reach its second
        watchConnecting(a, ch, (long) connectTimeoutMs * addressCount(a.host()), new AtomicLong());
        return ch;
    }

    /**
     * Bounds a connection's whole setup, not only its TCP connect: a peer that accepts the
     * connection but never completes the HTTP/2 handshake (a paused process, whose kernel still
     * accepts; a port of something else that stays silent) would keep the channel CONNECTING,
     * and every call on it waiting out its deadline, so that the callers never moved on to the
     * next address. A channel still CONNECTING, without any state change, connectTimeoutMs (times
     * the host name's addresses) after it began is shut down and forgotten: its calls fail
     * UNAVAILABLE (the callers move on; a call on a channel that never was READY was never sent, see
     * {@link #neverReady}), and the next call to that address builds a new channel.
     *
     * @param generation counts the channel's state changes (a check applies only to the state it was scheduled for)
     */
    private void watchConnecting(HostPort a, ManagedChannel ch, long boundMs, AtomicLong generation) {
        ConnectivityState state = ch.getState(false);
        if (state == ConnectivityState.SHUTDOWN || closed) {
            return;
        }
        long g = generation.incrementAndGet();
        if (state == ConnectivityState.READY) {
            everReady.add(ch);
        }
        if (state == ConnectivityState.CONNECTING) {
            CompletableFuture.delayedExecutor(boundMs, TimeUnit.MILLISECONDS).execute(() -> {
                if (generation.get() == g && ch.getState(false) == ConnectivityState.CONNECTING && channels.remove(a, ch)) {
                    LOG.debug("connection to {} not set up within {} ms (socket.connection.setup.timeout.ms per address);"
                            + " dropping it", a, boundMs);
                    ch.shutdownNow();
                }
            });
        }
        ch.notifyWhenStateChanged(state, () -> watchConnecting(a, ch, boundMs, generation));
    }

    /** How many addresses the host name resolves to (1 for an address literal, or if it does not resolve). */
    private static int addressCount(String host) {
        try {
            return Math.max(1, java.net.InetAddress.getAllByName(host).length);
        } catch (java.net.UnknownHostException | SecurityException e) {
            return 1;
        }
    }

    /**
     * Whether {@code ch} never had a connection (never READY): a call that failed on it was never
     * sent, so even a mutation failed definitely (its connection set-up was cut by the watchdog).
     */
    public boolean neverReady(ManagedChannel ch) {
        return !everReady.contains(ch) && ch.getState(false) != ConnectivityState.READY;
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

package dev.basalt.broker.rpc;

import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A long-lived channel to another node whose reconnect wait is capped. gRPC waits longer and
 * longer between connection attempts to an address that keeps refusing (up to 2 minutes), and a
 * call on a channel in TRANSIENT_FAILURE fails at once: a node restarted after a long outage
 * stayed unreachable for another minute or more (a controller that became active could not be
 * heartbeated, so its brokers would be fenced). Each {@link #channel()} on a failing channel
 * starts a new attempt, at most once per {@value #RETRY_MAX_MS} ms.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class ReconnectingChannel {
    /** The longest wait between connection attempts while the channel is in use. */
    public static final long RETRY_MAX_MS = 1_000;

    private final ManagedChannel channel;
    private final AtomicLong lastRetryNanos = new AtomicLong(System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(RETRY_MAX_MS));

    public ReconnectingChannel(ManagedChannel channel) {
        this.channel = channel;
    }

    /** The channel, after starting a connection attempt now if it is failing and none started within the cap. */
    public ManagedChannel channel() {
        if (channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
            long now = System.nanoTime();
            long last = lastRetryNanos.get();
            if (now - last >= TimeUnit.MILLISECONDS.toNanos(RETRY_MAX_MS) && lastRetryNanos.compareAndSet(last, now)) {
                channel.resetConnectBackoff();
            }
        }
        return channel;
    }

    /** The channel as is (shutdown, state checks). */
    public ManagedChannel raw() {
        return channel;
    }
}

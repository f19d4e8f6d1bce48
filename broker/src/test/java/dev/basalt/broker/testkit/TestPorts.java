package dev.basalt.broker.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for tests that start nodes on 127.0.0.1, taken <i>below</i> the kernel's
 * ephemeral range. A port from {@code new ServerSocket(0)} lies inside that range, so between the
 * probe and the node's bind an outgoing connection of an already started node can take it ("Address
 * already in use": seen in CI). Ports below the range are never handed to outgoing connections.
 * Each port is handed out once per JVM and checked bindable first.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class TestPorts {
    private static final int LOWEST = 10_000;
    private static final int EPHEMERAL_LOW = ephemeralLow();
    private static int next = LOWEST + ThreadLocalRandom.current().nextInt(Math.max(1, EPHEMERAL_LOW - LOWEST - 2_000));

    private TestPorts() {
    }

    /** A port on 127.0.0.1 that was free a moment ago and lies below the ephemeral range. */
    public static synchronized int freePort() {
        for (int tries = 0; tries < EPHEMERAL_LOW - LOWEST; tries++) {
            int port = next;
            next = next + 1 >= EPHEMERAL_LOW ? LOWEST : next + 1;
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException taken) {
                // in use: try the next one
            }
        }
        throw new UncheckedIOException(new IOException("no free loopback port in [" + LOWEST + ", " + EPHEMERAL_LOW + ")"));
    }

    /** The low end of net.ipv4.ip_local_port_range (Linux), else the IANA dynamic range's 49152. */
    private static int ephemeralLow() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            int low = Integer.parseInt(range.split("\\s+")[0]);
            return low > LOWEST + 4_000 ? low : 49_152;
        } catch (IOException | RuntimeException e) {
            return 49_152;
        }
    }
}

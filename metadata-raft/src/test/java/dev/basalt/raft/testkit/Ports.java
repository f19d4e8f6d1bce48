package dev.basalt.raft.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free loopback ports for tests that start servers (127.0.0.1 only), below the kernel's ephemeral
 * port range: a port {@code new ServerSocket(0)} returns lies inside it, where an outgoing
 * connection of a node already started may take it before the test binds it. Each port is
 * handed out once per JVM. Thread-safe.
 */
public final class Ports {
    private static final int FLOOR = 10_000;
    private static int cursor = -1;

    private Ports() {
    }

    /** Addresses on 127.0.0.1 with currently free ports for node ids {@code 1..count}. */
    public static synchronized Map<Integer, InetSocketAddress> loopback(int count) throws IOException {
        int ceiling = ephemeralFloor();
        if (cursor < 0) {
            cursor = FLOOR + ThreadLocalRandom.current().nextInt(Math.max(1, ceiling - FLOOR - 2_000));
        }
        Map<Integer, InetSocketAddress> out = new TreeMap<>();
        for (int id = 1; id <= count; id++) {
            for (int tried = 0; !out.containsKey(id); tried++) {
                if (tried > ceiling - FLOOR) {
                    throw new IOException("no free loopback port in [" + FLOOR + ", " + ceiling + ")");
                }
                int port = cursor;
                cursor = cursor + 1 >= ceiling ? FLOOR : cursor + 1;
                try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                    out.put(id, new InetSocketAddress("127.0.0.1", s.getLocalPort()));
                } catch (IOException inUse) {
                    // taken: the next one
                }
            }
        }
        return out;
    }

    private static int ephemeralFloor() {
        return dev.basalt.common.Sysctl.serverPortCeiling(FLOOR, dev.basalt.common.Sysctl.ephemeralFirstPort());
    }
}

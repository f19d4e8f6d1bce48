package dev.basalt.raft.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Map;
import java.util.TreeMap;

/** Free loopback ports for tests that start servers (127.0.0.1 only). Thread-safe (stateless). */
public final class Ports {
    private Ports() {
    }

    /** Addresses on 127.0.0.1 with currently free ports for node ids {@code 1..count}. */
    public static Map<Integer, InetSocketAddress> loopback(int count) throws IOException {
        Map<Integer, InetSocketAddress> out = new TreeMap<>();
        for (int id = 1; id <= count; id++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                out.put(id, new InetSocketAddress("127.0.0.1", s.getLocalPort()));
            }
        }
        return out;
    }
}

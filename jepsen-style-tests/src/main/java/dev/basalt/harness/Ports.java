package dev.basalt.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Free TCP ports on 127.0.0.1 for test nodes. A port handed out is never handed out again by this
 * JVM, so two nodes of one test cannot collide; a port taken by another process between the check
 * and the bind fails the node's start with a clear bind error.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class Ports {
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();
    private static final int ATTEMPTS_MAX = 100;

    private Ports() {
    }

    public static int free() {
        return free(InetAddress.getLoopbackAddress());
    }

    /** A port free on {@code address} (a loopback address such as 127.0.0.12). */
    public static int free(InetAddress address) {
        for (int i = 0; i < ATTEMPTS_MAX; i++) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(address, 0));
                int port = s.getLocalPort();
                if (GIVEN.add(port)) {
                    return port;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("no free port on " + address, e);
            }
        }
        throw new IllegalStateException("no unused free port after " + ATTEMPTS_MAX + " attempts");
    }
}

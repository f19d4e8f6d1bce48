package dev.basalt.harness;

import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Free TCP ports on 127.0.0.1 for test nodes, below the ephemeral port range (so an outgoing
 * connection of a node already started cannot take one first: {@code LoopbackPorts}). A port
 * handed out is never handed out again by this JVM, so two nodes of one test cannot collide; a
 * port taken by another process between the check and the bind fails the node's start with a
 * clear bind error.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class Ports {
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    private Ports() {
    }

    public static int free() {
        return free(InetAddress.getLoopbackAddress());
    }

    /** A port free on {@code address} (a loopback address such as 127.0.0.12). */
    public static int free(InetAddress address) {
        try {
            return dev.basalt.broker.tools.LoopbackPorts.free(address, GIVEN::add);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }
}

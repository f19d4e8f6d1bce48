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
 * clear bind error. With {@code -Dbasalt.test.ports=FIRST-LAST} ports come from that range only,
 * lowest free first (a host shared by several people, each keeping to a range of their own).
 *
 * <p>Thread-safety: thread-safe.
 */
public final class Ports {
    /** System property: the only ports to hand out, {@code FIRST-LAST} inclusive; unset for any below the ephemeral range. */
    static final String RANGE_PROPERTY = "basalt.test.ports";
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    private Ports() {
    }

    public static int free() {
        return free(InetAddress.getLoopbackAddress());
    }

    /** A port free on {@code address} (a loopback address such as 127.0.0.12). */
    public static int free(InetAddress address) {
        String range = System.getProperty(RANGE_PROPERTY, "");
        try {
            return range.isEmpty() ? dev.basalt.broker.tools.LoopbackPorts.free(address, GIVEN::add) : freeIn(range, address);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    private static int freeIn(String range, InetAddress address) throws java.io.IOException {
        String[] bounds = range.split("-", 2);
        if (bounds.length != 2) {
            throw new IllegalArgumentException(RANGE_PROPERTY + " must be FIRST-LAST, not " + range);
        }
        int first = Integer.parseInt(bounds[0].trim());
        int last = Integer.parseInt(bounds[1].trim());
        for (int port = first; port <= last; port++) {
            if (GIVEN.contains(port)) {
                continue;
            }
            try (java.net.ServerSocket s = new java.net.ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new java.net.InetSocketAddress(address, port));
            } catch (java.io.IOException inUse) {
                continue;
            }
            if (GIVEN.add(port)) {
                return port;
            }
        }
        throw new java.io.IOException("no free port on " + address.getHostAddress() + " in " + RANGE_PROPERTY + " " + range);
    }
}

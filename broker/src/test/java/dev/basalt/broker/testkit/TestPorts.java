package dev.basalt.broker.testkit;

import dev.basalt.broker.tools.LoopbackPorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Free loopback ports for tests that start nodes on 127.0.0.1, taken <i>below</i> the kernel's
 * ephemeral range ({@link LoopbackPorts}: a port from {@code new ServerSocket(0)} lies inside it,
 * where an outgoing connection of an already started node can take it before the node binds it,
 * "Address already in use" as seen in CI). Each port is handed out once per JVM and checked
 * bindable first.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class TestPorts {
    private static final Set<Integer> GIVEN = ConcurrentHashMap.newKeySet();

    private TestPorts() {
    }

    /** A port on 127.0.0.1 that was free a moment ago and lies below the ephemeral range. */
    public static int freePort() {
        try {
            return LoopbackPorts.free(InetAddress.getLoopbackAddress(), GIVEN::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

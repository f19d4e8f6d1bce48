package dev.basalt.broker.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Ports handed out lie below the ephemeral range, are bindable, and are never handed out twice. */
class LoopbackPortsTest {
    @Test
    void freePortsAreBelowTheEphemeralRange_bindable_andDistinct() throws Exception {
        int ceiling = LoopbackPorts.ephemeralFloor();
        Set<Integer> given = new HashSet<>();
        Set<Integer> returned = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            int port = LoopbackPorts.free(InetAddress.getLoopbackAddress(), given::add);
            returned.add(port);
            assertTrue(port >= LoopbackPorts.FLOOR && port < ceiling, port + " outside [" + LoopbackPorts.FLOOR + ", " + ceiling + ")");
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            }
        }
        assertEquals(50, returned.size(), "a port handed out twice");
    }
}

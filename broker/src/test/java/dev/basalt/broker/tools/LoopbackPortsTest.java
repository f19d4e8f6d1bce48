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

    /**
     * The ceiling is the kernel's setting where there is one. Found as a CI failure: the setting was
     * read as "3" (a sysctl file answers only a read at offset 0), so the fallback 49152 was used
     * and ports inside the ephemeral range were handed out.
     */
    @Test
    void theCeilingIsTheKernelsFirstEphemeralPort() throws Exception {
        assertEquals(32_768, LoopbackPorts.floorFor(32_768));
        assertEquals(49_152, LoopbackPorts.floorFor(3), "too few ports below: the IANA range");
        java.nio.file.Path file = java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isReadable(file), "no " + file + " here (not Linux)");
        String text;
        try (java.io.BufferedReader r = java.nio.file.Files.newBufferedReader(file)) {
            text = r.readLine().trim();
        }
        assertEquals(text, dev.basalt.common.Sysctl.read(file));
        int first = Integer.parseInt(text.split("\\s+")[0]);
        assertEquals(first, dev.basalt.common.Sysctl.ephemeralFirstPort(), "the kernel says " + text);
        assertEquals(LoopbackPorts.floorFor(first), LoopbackPorts.ephemeralFloor());
    }
}

package dev.basalt.common;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads Linux sysctl files ({@code /proc/sys/...}) correctly: in one read at offset 0. They report
 * a size of 0, so {@code Files.readString} reads one byte first and then goes on at offset 1,
 * where the kernel answers with nothing: it returned "3" for {@code ip_local_port_range} ("32768
 * 60999"), and the test ports below the ephemeral range were chosen up to 49151, inside it (found
 * as a CI failure: "cannot listen on 127.0.0.1:35634 for the HTTP admin port").
 *
 * <p>Thread-safety: stateless.
 */
public final class Sysctl {
    /** The first port of the IANA ephemeral range: the fallback where the kernel's cannot be read. */
    public static final int IANA_EPHEMERAL_FIRST_PORT = 49_152;
    private static final Path LOCAL_PORT_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    /** More than any sysctl value this project reads. */
    private static final int READ_BYTES_MAX = 4_096;

    private Sysctl() {
    }

    /** The file's text (trimmed), read in one read at offset 0. */
    public static String read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[READ_BYTES_MAX];
            int n = in.read(buf);
            return n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.US_ASCII).trim();
        }
    }

    /**
     * Where ports chosen for servers from {@code lowestPort} up must stop, given the first port of
     * the ephemeral range: that port, or 49152 when it would leave fewer than 4,000 ports.
     */
    public static int serverPortCeiling(int lowestPort, int ephemeralFirstPort) {
        return ephemeralFirstPort > lowestPort + 4_000 ? ephemeralFirstPort : IANA_EPHEMERAL_FIRST_PORT;
    }

    /** The first port of the kernel's ephemeral (outgoing connection) port range, or 49152 where it cannot be read. */
    public static int ephemeralFirstPort() {
        try {
            return Integer.parseInt(read(LOCAL_PORT_RANGE).split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return IANA_EPHEMERAL_FIRST_PORT;
        }
    }
}

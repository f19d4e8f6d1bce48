package dev.basalt.broker.tools;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntPredicate;

/**
 * Free ports for servers started later (a dev cluster on free ports, test clusters), chosen below
 * the kernel's ephemeral port range: a port {@code bind(0)} hands out lies inside that range, where
 * an outgoing connection of a node already started (a Raft peer, a replica fetcher) may take it
 * before the node meant to listen on it binds it. Found as a CI failure: "cannot listen on
 * 127.0.0.1:36538 for the HTTP admin port: address already in use". Thread-safe.
 */
public final class LoopbackPorts {
    /** The lowest port handed out (below it: well-known and commonly configured services). */
    static final int FLOOR = 10_000;
    /** Random picks tried before giving up. */
    static final int ATTEMPTS_MAX = 2_000;

    private LoopbackPorts() {
    }

    /**
     * A port that can be bound on {@code address} now, below the ephemeral range, and that
     * {@code accept} takes (callers reject ports they already handed out).
     *
     * @throws IOException if none was found in {@value #ATTEMPTS_MAX} random picks
     */
    public static int free(InetAddress address, IntPredicate accept) throws IOException {
        int ceiling = ephemeralFloor();
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < ATTEMPTS_MAX; i++) {
            int port = FLOOR + random.nextInt(ceiling - FLOOR);
            if (!accept.test(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(address, port));
                return port;
            } catch (IOException inUse) {
                // taken: try another
            }
        }
        throw new IOException("no free port on " + address.getHostAddress() + " in [" + FLOOR + ", " + ceiling + ") after "
                + ATTEMPTS_MAX + " tries");
    }

    /** The first port of the ephemeral range (Linux's setting; 49152, the IANA range, elsewhere). */
    static int ephemeralFloor() {
        return floorFor(dev.basalt.common.Sysctl.ephemeralFirstPort());
    }

    /** The ceiling for ports handed out, given the kernel's first ephemeral port: 49152 when it leaves too few below. */
    static int floorFor(int ephemeralFirstPort) {
        return dev.basalt.common.Sysctl.serverPortCeiling(FLOOR, ephemeralFirstPort);
    }
}

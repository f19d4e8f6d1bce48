package dev.basalt.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on 127.0.0.1 in front of one node's client listener that can lose answers but not
 * requests: while {@link #dropResponses(boolean)} is on, bytes from the node to the client are
 * discarded (the node has received and served the request; the client never hears), and
 * {@link #cutConnections()} then closes every proxied connection, so the client sees the call fail
 * mid-request: the classic generator of duplicates for a producer that retries.
 *
 * <p>Nodes advertise the proxy's address (advertised.listeners), so clients reach them only
 * through it after bootstrap. Not for replication traffic: use it in front of a one-node cluster.
 *
 * <p>Thread-safety: thread-safe; two daemon threads per connection copy bytes.
 */
public final class ResponseDroppingProxy implements AutoCloseable {
    private static final int BUFFER_BYTES = 64 * 1024;

    private final ServerSocket server;
    private final int targetPort;
    private final AtomicBoolean dropping = new AtomicBoolean();
    private final AtomicLong droppedBytes = new AtomicLong();
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private ResponseDroppingProxy(ServerSocket server, int targetPort) {
        this.server = server;
        this.targetPort = targetPort;
    }

    /** Listens on {@code listenPort} (from {@link Ports#free()}) and forwards to 127.0.0.1:{@code targetPort}. */
    public static ResponseDroppingProxy start(int listenPort, int targetPort) {
        try {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), listenPort));
            ResponseDroppingProxy p = new ResponseDroppingProxy(s, targetPort);
            Thread t = new Thread(p::acceptLoop, "proxy-accept-" + listenPort);
            t.setDaemon(true);
            t.start();
            return p;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot listen on " + listenPort, e);
        }
    }

    public int port() {
        return server.getLocalPort();
    }

    /** While on, the node's answers are thrown away. */
    public void dropResponses(boolean on) {
        dropping.set(on);
    }

    /** Answer bytes thrown away so far (the test asserts the fault really happened). */
    public long droppedBytes() {
        return droppedBytes.get();
    }

    /** Closes every proxied connection (both sides). */
    public void cutConnections() {
        for (Socket s : open) {
            closeQuietly(s);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket node = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                client.setTcpNoDelay(true);
                node.setTcpNoDelay(true);
                open.add(client);
                open.add(node);
                pump(client, node, false);
                pump(node, client, true);
            } catch (IOException e) {
                if (!closed) {
                    Cluster.sleepMs(10);
                }
            }
        }
    }

    private void pump(Socket from, Socket to, boolean isResponse) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[BUFFER_BYTES];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (isResponse && dropping.get()) {
                        droppedBytes.addAndGet(n);
                        continue;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // connection cut or closed: close the other side too
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "proxy-" + (isResponse ? "answers" : "requests"));
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        cutConnections();
    }

    private static void closeQuietly(ServerSocket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}

package dev.basalt.client.testkit;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * An HTTP/1.1 server on a loopback port that answers 404 to everything: what a node's admin HTTP
 * port looks like to a gRPC client given it as a bootstrap address.
 *
 * <p>Thread-safety: thread-safe (the JDK server's).
 */
public final class Http1Server implements AutoCloseable {
    private final HttpServer server;

    public Http1Server() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            ex.sendResponseHeaders(404, -1);
            ex.close();
        });
        server.start();
    }

    /** "127.0.0.1:port". */
    public String address() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}

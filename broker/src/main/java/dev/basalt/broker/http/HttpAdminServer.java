package dev.basalt.broker.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.basalt.broker.config.NodeConfig.HostPort;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's HTTP admin port: {@code GET /health} (200 while the process serves),
 * {@code GET /ready} (200 once the node can take client requests, else 503 with the reason), and
 * {@code GET /status} (a JSON summary), and operator actions as POST endpoints (see
 * {@link #addAction}). Bound to one address (127.0.0.1:9480 by default).
 *
 * <p>Thread-safety: started and stopped by the node's main thread; handlers run on a small fixed
 * pool (2 threads: the port serves probes and operators, not data traffic).
 */
public final class HttpAdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpAdminServer.class);
    private static final int HANDLER_THREADS = 2;

    /** What the node reports through the port. */
    public interface StatusSource {
        /** null when ready, else why not. */
        String notReadyReason();

        /** A JSON object describing the node. */
        String statusJson();
    }

    private final HttpServer server;
    private final ExecutorService executor;

    public HttpAdminServer(HostPort address, StatusSource status) throws IOException {
        this.server = HttpServer.create(new InetSocketAddress(address.host(), address.port()), 64);
        this.executor = Executors.newFixedThreadPool(HANDLER_THREADS, r -> {
            Thread t = new Thread(r, "http-admin");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/health", ex -> respond(ex, 200, "text/plain", "ok\n"));
        server.createContext("/ready", ex -> {
            String reason = status.notReadyReason();
            if (reason == null) {
                respond(ex, 200, "text/plain", "ready\n");
            } else {
                respond(ex, 503, "text/plain", "not ready: " + reason + "\n");
            }
        });
        server.createContext("/status", ex -> respond(ex, 200, "application/json", status.statusJson() + "\n"));
    }

    /** Adds an extra GET endpoint (metrics, lag) served as {@code contentType}. */
    public void addEndpoint(String path, String contentType, Supplier<String> body) {
        server.createContext(path, ex -> respond(ex, 200, contentType, body.get()));
    }

    /** The answer of an operator action. */
    public record Answer(int code, String body) {
    }

    /**
     * Adds a POST endpoint for an operator action; its query parameters ({@code ?id=3}) are
     * handed to {@code action}, which answers synchronously (bounded by its own timeout).
     */
    public void addAction(String path, java.util.function.Function<java.util.Map<String, String>, Answer> action) {
        server.createContext(path, ex -> {
            try (ex) {
                if (!"POST".equals(ex.getRequestMethod())) {
                    ex.sendResponseHeaders(405, -1);
                    return;
                }
                java.util.Map<String, String> params = new java.util.TreeMap<>();
                String q = ex.getRequestURI().getRawQuery();
                if (q != null) {
                    for (String kv : q.split("&", 16)) {
                        int eq = kv.indexOf('=');
                        if (eq > 0) {
                            params.put(java.net.URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                                    java.net.URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
                        }
                    }
                }
                Answer a;
                try {
                    a = action.apply(params);
                } catch (RuntimeException e) {
                    a = new Answer(500, e.toString() + "\n");
                }
                byte[] bytes = a.body().getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                ex.sendResponseHeaders(a.code(), bytes.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        });
    }

    /** An answer of a route: status code, content type and body. */
    public record Reply(int status, String contentType, String body) {
    }

    /**
     * Adds a GET route for every path under {@code prefix}; the handler gets the request path. A
     * handler that throws answers 500 with the error as JSON.
     */
    public void addRoute(String prefix, java.util.function.Function<String, Reply> handler) {
        server.createContext(prefix, ex -> {
            Reply r;
            try {
                r = handler.apply(ex.getRequestURI().getPath());
            } catch (RuntimeException e) {
                log.warn("HTTP {} failed", ex.getRequestURI(), e);
                com.google.gson.JsonObject err = new com.google.gson.JsonObject();
                err.addProperty("error", e.toString());
                r = new Reply(500, "application/json", err + "\n");
            }
            respond(ex, r.status(), r.contentType(), r.body());
        });
    }

    public void start() {
        server.start();
        log.info("HTTP admin listening on {}", server.getAddress());
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void respond(HttpExchange ex, int code, String contentType, String body) throws IOException {
        try (ex) {
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", contentType + "; charset=utf-8");
            ex.sendResponseHeaders(code, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdown();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

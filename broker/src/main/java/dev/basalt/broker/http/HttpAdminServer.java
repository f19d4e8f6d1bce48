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
 * {@code GET /status} (a JSON summary), {@code GET /metrics} (Prometheus), the JSON API under
 * {@code /v1/}, and operator actions as POST endpoints (see {@link #addAction}). Bound to one
 * address (127.0.0.1:9480 by default).
 *
 * <p>Bearer token: with a token configured ({@code http.auth.token}) every path but
 * {@code /health} and {@code /ready} (probes of orchestrators and load balancers) needs
 * {@code Authorization: Bearer <token>}; otherwise it answers 401 with a JSON error. The token is
 * compared in constant time.
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
    /** UTF-8 of the bearer token, or null when none is required. */
    private final byte[] token;

    public HttpAdminServer(HostPort address, StatusSource status) throws IOException {
        this(address, status, "");
    }

    /** {@code bearerToken}: required on every path but /health and /ready; empty = none. */
    public HttpAdminServer(HostPort address, StatusSource status, String bearerToken) throws IOException {
        this.token = bearerToken == null || bearerToken.isEmpty() ? null : bearerToken.getBytes(StandardCharsets.UTF_8);
        this.server = HttpServer.create(new InetSocketAddress(address.host(), address.port()), 64);
        this.executor = Executors.newFixedThreadPool(HANDLER_THREADS, r -> {
            Thread t = new Thread(r, "http-admin");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/health", exact("/health", ex -> respond(ex, 200, "text/plain", "ok\n")));
        server.createContext("/ready", exact("/ready", ex -> {
            String reason = status.notReadyReason();
            if (reason == null) {
                respond(ex, 200, "text/plain", "ready\n");
            } else {
                respond(ex, 503, "text/plain", "not ready: " + reason + "\n");
            }
        }));
        context("/status", exact("/status", ex -> respond(ex, 200, "application/json", status.statusJson() + "\n")));
    }

    /**
     * The handler for {@code path} itself only: the server routes by prefix, so without this
     * {@code /metrics/x} or {@code /healthz} would answer as {@code /metrics} and {@code /health}.
     */
    private static com.sun.net.httpserver.HttpHandler exact(String path, com.sun.net.httpserver.HttpHandler handler) {
        return ex -> {
            if (ex.getRequestURI().getPath().equals(path)) {
                handler.handle(ex);
                return;
            }
            try (ex) {
                sendJson(ex, 404, jsonError(404, "NOT_FOUND", noSuchResource(requestPath(ex))));
            }
        };
    }

    /** 405 with its Allow header and a JSON error body (as every error of this port). */
    private static void methodNotAllowed(HttpExchange ex, String allow) throws IOException {
        ex.getResponseHeaders().set("Allow", allow);
        sendJson(ex, 405, jsonError(405, "METHOD_NOT_ALLOWED", ex.getRequestMethod() + " is not allowed here; use "
                + allow.replace(", HEAD", "")));
    }

    private static void sendJson(HttpExchange ex, int status, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        sendBody(ex, status, body);
    }

    /**
     * Sends the status and the body; a HEAD answer gets the headers only (with a length there the
     * JDK logs a two-line WARNING per request: found probing, a HEAD health probe filled the log).
     */
    private static void sendBody(HttpExchange ex, int status, byte[] body) throws IOException {
        boolean head = "HEAD".equals(ex.getRequestMethod());
        ex.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** A context that checks the bearer token first. */
    private void context(String path, com.sun.net.httpserver.HttpHandler handler) {
        server.createContext(path, ex -> {
            if (!authorized(ex)) {
                try (ex) {
                    ex.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"basalt\"");
                    byte[] body = jsonError(401, "UNAUTHORIZED", ex.getRequestHeaders().containsKey("Authorization")
                            ? "wrong bearer token" : "this port needs Authorization: Bearer <http.auth.token>")
                            .getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
                    sendBody(ex, 401, body);
                }
                return;
            }
            handler.handle(ex);
        });
    }

    private boolean authorized(HttpExchange ex) {
        if (token == null) {
            return true;
        }
        String h = ex.getRequestHeaders().getFirst("Authorization");
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return java.security.MessageDigest.isEqual(token, h.substring(7).trim().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The message of a 404: the path, and for one with an empty segment (a base URL ending in '/'
     * joined with a path starting with one) the path it probably meant (found probing: GET
     * //v1/topics answered only "no such resource").
     */
    static String noSuchResource(String path) {
        if (path != null && path.contains("//")) {
            return "no such resource: " + path + " (the path has an empty segment; did you mean " + path.replaceAll("/{2,}", "/") + "?)";
        }
        return "no such resource: " + path;
    }

    /**
     * The request's path as the client sent it. A request target starting with "//" parses as a
     * network-path reference: "//v1/topics" has authority "v1" and path "/topics", and the server
     * routed it as "/topics"; put back together here so the 404 names what was asked.
     */
    static String requestPath(HttpExchange ex) {
        java.net.URI u = ex.getRequestURI();
        String path = u.getRawPath() == null ? "" : u.getRawPath();
        return u.getScheme() == null && u.getRawAuthority() != null ? "//" + u.getRawAuthority() + path : path;
    }

    /** The JSON error body of every endpoint: {@code {"error": message, "code": code, "status": status}}. */
    public static String jsonError(int status, String code, String message) {
        com.google.gson.JsonObject o = new com.google.gson.JsonObject();
        o.addProperty("error", message);
        o.addProperty("code", code);
        o.addProperty("status", status);
        return o + "\n";
    }

    /** Adds an extra GET endpoint served as {@code contentType}. */
    public void addEndpoint(String path, String contentType, Supplier<String> body) {
        context(path, exact(path, ex -> respond(ex, 200, contentType, body.get())));
    }

    /**
     * Serves the web console's static files on every path no other endpoint takes ({@code /},
     * {@code /console/...}, {@code /webjars/...}); without the token (they hold no data).
     */
    public void addConsole(ConsoleAssets assets) {
        server.createContext("/", ex -> {
            try (ex) {
                String path = ex.getRequestURI().getPath();
                RawReply r = requestPath(ex).startsWith("//") ? null : assets.get(path);
                if (r == null) {
                    r = ConsoleAssets.notFound(requestPath(ex));
                } else if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                    methodNotAllowed(ex, "GET, HEAD");
                    return;
                }
                ex.getResponseHeaders().set("Content-Type", r.contentType());
                ex.getResponseHeaders().set("Cache-Control", "no-cache");
                sendBody(ex, r.status(), r.body());
            }
        });
    }

    /** A raw answer: bytes with their full content type. */
    public record RawReply(int status, String contentType, byte[] body) {
    }

    /** Adds a GET endpoint that sees the request (its headers: content negotiation of /metrics). */
    public void addRawEndpoint(String path, java.util.function.Function<HttpExchange, RawReply> handler) {
        context(path, exact(path, ex -> {
            try (ex) {
                if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                    methodNotAllowed(ex, "GET, HEAD");
                    return;
                }
                RawReply r;
                try {
                    r = handler.apply(ex);
                } catch (RuntimeException e) {
                    log.warn("HTTP {} failed", ex.getRequestURI(), e);
                    r = new RawReply(500, "application/json; charset=utf-8",
                            jsonError(500, "UNKNOWN_SERVER_ERROR", e.toString()).getBytes(StandardCharsets.UTF_8));
                }
                ex.getResponseHeaders().set("Content-Type", r.contentType());
                sendBody(ex, r.status(), r.body());
            }
        }));
    }

    /** The answer of an operator action. */
    public record Answer(int code, String body) {
    }

    /**
     * Adds a POST endpoint for an operator action; its query parameters ({@code ?id=3}) are
     * handed to {@code action}, which answers synchronously (bounded by its own timeout).
     */
    public void addAction(String path, java.util.function.Function<java.util.Map<String, String>, Answer> action) {
        context(path, exact(path, ex -> {
            try (ex) {
                if (!"POST".equals(ex.getRequestMethod())) {
                    methodNotAllowed(ex, "POST");
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
        }));
    }

    /** An answer of a route: status code, content type and body. */
    public record Reply(int status, String contentType, String body) {
    }

    /**
     * Adds a GET route for every path under {@code prefix}; the handler gets the raw request path
     * (still %-encoded: a segment may hold an encoded '/', so handlers split first and then decode
     * each segment with {@link #decodeSegment}). A handler that throws answers 500 with the error as JSON.
     */
    public void addRoute(String prefix, java.util.function.Function<String, Reply> handler) {
        addRoute(prefix, (path, query) -> handler.apply(path));
    }

    /**
     * As above; the handler also gets the query parameters (decoded, the first value of each
     * name, at most 16). A GET route answers other methods 405 with a JSON error.
     */
    public void addRoute(String prefix, java.util.function.BiFunction<String, java.util.Map<String, String>, Reply> handler) {
        context(prefix, ex -> {
            String path = ex.getRequestURI().getPath();
            if (requestPath(ex).startsWith("//")
                    || !prefix.endsWith("/") && !path.equals(prefix) && !path.startsWith(prefix + "/")) {
                // the server routes by prefix: /v1xyz is not under /v1 (found probing: a POST there answered 405)
                try (ex) {
                    sendJson(ex, 404, jsonError(404, "NOT_FOUND", noSuchResource(requestPath(ex))));
                }
                return;
            }
            if (!"GET".equals(ex.getRequestMethod()) && !"HEAD".equals(ex.getRequestMethod())) {
                try (ex) {
                    methodNotAllowed(ex, "GET, HEAD");
                }
                return;
            }
            Reply r;
            try {
                r = handler.apply(ex.getRequestURI().getRawPath(), query(ex));
            } catch (IllegalArgumentException e) {
                // a malformed %-escape in the path or the query (URLDecoder)
                r = new Reply(400, "application/json", jsonError(400, "INVALID_REQUEST", "malformed request: " + e.getMessage()));
            } catch (RuntimeException e) {
                log.warn("HTTP {} failed", ex.getRequestURI(), e);
                r = new Reply(500, "application/json", jsonError(500, "UNKNOWN_SERVER_ERROR", e.toString()));
            }
            respond(ex, r.status(), r.contentType(), r.body());
        });
    }

    /**
     * One path segment, %-decoded ('+' stays a plus: it means a space only in a query string).
     *
     * @throws IllegalArgumentException a malformed %-escape (answered 400)
     */
    public static String decodeSegment(String raw) {
        return java.net.URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static java.util.Map<String, String> query(HttpExchange ex) {
        java.util.Map<String, String> params = new java.util.TreeMap<>();
        String q = ex.getRequestURI().getRawQuery();
        if (q != null) {
            for (String kv : q.split("&", 16)) {
                int eq = kv.indexOf('=');
                String k = eq < 0 ? kv : kv.substring(0, eq);
                String v = eq < 0 ? "" : kv.substring(eq + 1);
                params.putIfAbsent(java.net.URLDecoder.decode(k, StandardCharsets.UTF_8), java.net.URLDecoder.decode(v,
                        StandardCharsets.UTF_8));
            }
        }
        return params;
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
                methodNotAllowed(ex, "GET, HEAD");
                return;
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", contentType + "; charset=utf-8");
            sendBody(ex, code, bytes);
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

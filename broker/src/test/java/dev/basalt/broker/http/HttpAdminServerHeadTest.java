package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig.HostPort;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * Found probing: every HEAD request to /health, /ready or /status made the JDK's HTTP server log a
 * two-line WARNING ("sendResponseHeaders: being invoked with a content length for a HEAD request"),
 * so a load balancer probing with HEAD filled the node's log.
 */
class HttpAdminServerHeadTest {

    @Test
    void headRequestsAreAnsweredWithoutABody_andLogNothing() throws Exception {
        Logger jdk = Logger.getLogger("com.sun.net.httpserver");
        List<LogRecord> warnings = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    warnings.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        jdk.addHandler(capture);
        HttpAdminServer.StatusSource status = new HttpAdminServer.StatusSource() {
            @Override
            public String notReadyReason() {
                return "still loading";
            }

            @Override
            public String statusJson() {
                return "{}";
            }
        };
        try (HttpAdminServer server = new HttpAdminServer(new HostPort("127.0.0.1", 0), status)) {
            server.start();
            HttpClient client = HttpClient.newHttpClient();
            for (String path : List.of("/health", "/ready", "/status")) {
                HttpResponse<String> head = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(path.equals("/ready") ? 503 : 200, head.statusCode(), path);
                assertEquals("", head.body(), path);
                HttpResponse<String> get = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                assertTrue(!get.body().isEmpty(), path + " answers GET with a body");
            }
            try (HttpAdminServer guarded = new HttpAdminServer(new HostPort("127.0.0.1", 0), status, "secret")) {
                guarded.start();
                HttpResponse<String> refused = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + guarded.port()
                        + "/status")).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(401, refused.statusCode());
                assertEquals("", refused.body());
            }
        } finally {
            jdk.removeHandler(capture);
        }
        assertEquals(List.of(), warnings.stream().map(LogRecord::getMessage).toList());
    }
}

package dev.basalt.broker.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.broker.config.NodeConfig.HostPort;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * Found probing: {@code GET //v1/topics} (a base URL ending in '/' joined with "/v1/topics")
 * answered only "no such resource: //v1/topics". A 404 of a path with an empty segment names the
 * path it probably meant; every 404 of the port is a JSON error.
 */
class HttpNotFoundTest {

    @Test
    void aDoubledSlashIsNamedWithThePathItProbablyMeant() throws Exception {
        HttpAdminServer.StatusSource status = new HttpAdminServer.StatusSource() {
            @Override
            public String notReadyReason() {
                return null;
            }

            @Override
            public String statusJson() {
                return "{}";
            }
        };
        try (HttpAdminServer server = new HttpAdminServer(new HostPort("127.0.0.1", 0), status)) {
            server.addRoute("/v1", path -> new HttpAdminServer.Reply(200, "application/json", "{\"path\":\"" + path + "\"}\n"));
            server.addConsole(new ConsoleAssets());
            server.start();
            HttpClient client = HttpClient.newHttpClient();
            HttpResponse<String> doubled = get(client, server, "//v1/topics");
            assertEquals(404, doubled.statusCode());
            assertTrue(doubled.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), doubled.headers().map().toString());
            assertTrue(doubled.body().contains("did you mean /v1/topics?"), doubled.body());

            HttpResponse<String> inside = get(client, server, "/v1//topics");
            assertEquals(200, inside.statusCode(), "the route sees the path as sent and answers for itself");

            HttpResponse<String> plain = get(client, server, "/nothing-here");
            assertEquals(404, plain.statusCode());
            assertTrue(plain.body().contains("no such resource: /nothing-here") && !plain.body().contains("did you mean"), plain.body());

            assertEquals(200, get(client, server, "/v1/topics").statusCode());
        }
    }

    private static HttpResponse<String> get(HttpClient client, HttpAdminServer server, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}

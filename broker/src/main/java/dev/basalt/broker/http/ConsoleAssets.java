package dev.basalt.broker.http;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The web console's static files (docs/console.md), served from the node's jar: the page and its
 * script ({@code console/} resources) and uPlot from its WebJar ({@code org.webjars.npm:uplot},
 * the version pinned in the pom). No CDN, no build step. The assets hold no cluster data, so they
 * are served without the bearer token; the page asks for the token and sends it on its API calls.
 *
 * <p>Paths: {@code /} (the page), {@code /console/<name>}, {@code /webjars/uplot/<name>}; names
 * are plain file names (no directories, no dots first), anything else is 404.
 *
 * <p>Thread-safety: thread-safe (an immutable name table and a concurrent cache of read files).
 */
public final class ConsoleAssets {
    /** The uPlot WebJar's version (broker/pom.xml); its files live under this path in the jar. */
    static final String UPLOT_VERSION = "1.6.30";
    private static final String UPLOT_DIR = "META-INF/resources/webjars/uplot/" + UPLOT_VERSION + "/dist/";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js",
            "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8");
    /** Files read so far (a handful, a few hundred KiB at most). */
    private final ConcurrentHashMap<String, byte[]> cache = new ConcurrentHashMap<>();

    /** The file for a request path, or null when there is none. */
    public HttpAdminServer.RawReply get(String path) {
        String resource;
        if (path.equals("/") || path.equals("/index.html")) {
            resource = "console/index.html";
        } else if (path.startsWith("/console/") && NAME.matcher(path.substring(9)).matches()) {
            resource = "console/" + path.substring(9);
        } else if (path.startsWith("/webjars/uplot/") && NAME.matcher(path.substring(15)).matches()) {
            resource = UPLOT_DIR + path.substring(15);
        } else {
            return null;
        }
        String ext = resource.substring(resource.lastIndexOf('.') + 1);
        String type = TYPES.get(ext);
        if (type == null) {
            return null;
        }
        byte[] body = cache.computeIfAbsent(resource, ConsoleAssets::read);
        return body.length == 0 ? null : new HttpAdminServer.RawReply(200, type, body);
    }

    private static byte[] read(String resource) {
        try (InputStream in = ConsoleAssets.class.getClassLoader().getResourceAsStream(resource)) {
            return in == null ? new byte[0] : in.readAllBytes();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + resource + " from the jar", e);
        }
    }

    /** The 404 of an unknown path on the port. */
    static HttpAdminServer.RawReply notFound(String path) {
        return new HttpAdminServer.RawReply(404, "application/json; charset=utf-8", HttpAdminServer.jsonError(404, "NOT_FOUND",
                HttpAdminServer.noSuchResource(path)).getBytes(StandardCharsets.UTF_8));
    }
}

package dev.basalt.metadata.image;

import java.util.Objects;

/**
 * One listener of a broker. Immutable value, thread-safe.
 *
 * @param name listener name, e.g. {@code CLIENT}
 * @param host host name or address
 * @param port TCP port 1..65535
 */
public record Endpoint(String name, String host, int port) {
    public Endpoint {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(host, "host");
        if (name.isEmpty() || host.isEmpty() || port < 1 || port > 65535) {
            throw new IllegalArgumentException("bad endpoint " + name + " " + host + ":" + port);
        }
    }
}

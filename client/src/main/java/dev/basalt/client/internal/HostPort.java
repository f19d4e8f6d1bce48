package dev.basalt.client.internal;

import dev.basalt.client.ConfigException;
import java.util.ArrayList;
import java.util.List;

/**
 * A broker address, parsed from {@code host:port} or {@code [ipv6]:port}. Immutable value.
 */
public record HostPort(String host, int port) {
    public HostPort {
        if (host == null || host.isEmpty()) {
            throw new IllegalArgumentException("empty host");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
    }

    /** Parses one address; throws IllegalArgumentException with the reason on bad input. */
    public static HostPort parse(String s) {
        String t = s.trim();
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) {
            throw new IllegalArgumentException("expected host:port, got '" + s + "'");
        }
        String host = t.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException("IPv6 addresses need brackets: '" + s + "'");
        }
        int port;
        try {
            port = Integer.parseInt(t.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port is not a number in '" + s + "'");
        }
        return new HostPort(host, port);
    }

    /** Parses a list, throwing ConfigException for the bootstrap.servers key on bad input. */
    public static List<HostPort> parseList(List<String> list, String key) {
        if (list.isEmpty()) {
            throw new ConfigException(key, "", "at least one host:port is required");
        }
        List<HostPort> out = new ArrayList<>();
        for (String s : list) {
            try {
                out.add(parse(s));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(key, s, e.getMessage());
            }
        }
        return List.copyOf(out);
    }

    /** A ConfigDef validator for host:port lists. */
    public static String validateList(Object v) {
        @SuppressWarnings("unchecked")
        List<String> l = (List<String>) v;
        if (l.isEmpty()) {
            return "at least one host:port is required";
        }
        for (String s : l) {
            try {
                parse(s);
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }
}

package dev.basalt.metadata.image;

import java.util.Comparator;
import java.util.Objects;

/**
 * A resource that carries configuration: a topic (by name) or a broker (by decimal id; the empty name
 * is the cluster-wide broker default). Immutable value, thread-safe, ordered by type then name.
 */
public record ConfigResource(Type type, String name) implements Comparable<ConfigResource> {
    private static final Comparator<ConfigResource> ORDER =
            Comparator.comparing(ConfigResource::type).thenComparing(ConfigResource::name);

    /** Kinds of resources; mirrors the wire enum {@code ConfigResourceType}. */
    public enum Type {
        TOPIC, BROKER
    }

    public ConfigResource {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(name, "name");
        if (type == Type.TOPIC && name.isEmpty()) {
            throw new IllegalArgumentException("topic config resource needs a topic name");
        }
        if (type == Type.BROKER && !name.isEmpty() && !name.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("broker config resource name must be a broker id or empty: " + name);
        }
    }

    public static ConfigResource topic(String name) {
        return new ConfigResource(Type.TOPIC, name);
    }

    @Override
    public int compareTo(ConfigResource o) {
        return ORDER.compare(this, o);
    }
}

package dev.basalt.client.admin;

/** What a config belongs to. BROKER names are broker ids ("" = cluster-wide broker defaults). Immutable. */
public record ConfigResource(Type type, String name) {
    public enum Type { TOPIC, BROKER }
}

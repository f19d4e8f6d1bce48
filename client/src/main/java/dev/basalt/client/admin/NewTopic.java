package dev.basalt.client.admin;

import java.util.Map;

/**
 * A topic to create. {@code partitions} or {@code replicationFactor} of -1 = the broker's
 * default. Immutable.
 */
public record NewTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
    public NewTopic {
        configs = configs == null ? Map.of() : Map.copyOf(configs);
    }

    public NewTopic(String name, int partitions, int replicationFactor) {
        this(name, partitions, replicationFactor, Map.of());
    }
}

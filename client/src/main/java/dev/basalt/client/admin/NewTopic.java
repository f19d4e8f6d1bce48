package dev.basalt.client.admin;

import java.util.Map;

/**
 * A topic to create. {@code partitions} or {@code replicationFactor} of -1 = the broker's
 * default; any other value below 1 is refused here ({@link IllegalArgumentException}), so a
 * mistaken 0 never turns into the default. Immutable.
 */
public record NewTopic(String name, int partitions, int replicationFactor, Map<String, String> configs) {
    public NewTopic {
        if (partitions < 1 && partitions != -1) {
            throw new IllegalArgumentException("partitions " + partitions + " must be at least 1 (or -1 for the broker's default)");
        }
        if (replicationFactor < 1 && replicationFactor != -1) {
            throw new IllegalArgumentException("replication factor " + replicationFactor
                    + " must be at least 1 (or -1 for the broker's default)");
        }
        configs = configs == null ? Map.of() : Map.copyOf(configs);
    }

    public NewTopic(String name, int partitions, int replicationFactor) {
        this(name, partitions, replicationFactor, Map.of());
    }
}

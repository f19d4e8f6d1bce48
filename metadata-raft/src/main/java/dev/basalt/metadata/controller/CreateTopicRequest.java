package dev.basalt.metadata.controller;

import java.util.Map;
import java.util.Objects;

/**
 * A request to create one topic. Immutable.
 *
 * @param name              topic name (validated by the controller)
 * @param partitions        number of partitions, >= 1
 * @param replicationFactor replicas per partition, 1..live brokers
 * @param configs           topic config overrides, checked by the {@link ConfigValidator}
 */
public record CreateTopicRequest(String name, int partitions, int replicationFactor, Map<String, String> configs) {
    public CreateTopicRequest {
        Objects.requireNonNull(name, "name");
        configs = Map.copyOf(configs);
    }
}

package dev.basalt.client.admin;

import java.util.List;
import java.util.Map;

/** A topic's partitions and the configs set on it (differing from the broker defaults). Immutable. */
public record TopicDescription(String name, String topicId, boolean internal, List<PartitionDescription> partitions,
                               Map<String, String> configs) {
    public TopicDescription {
        partitions = List.copyOf(partitions);
        configs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(configs));
    }
}

package dev.basalt.metadata.controller;

import java.util.List;
import java.util.UUID;

/**
 * A created topic. Immutable.
 *
 * @param topicId  the new topic's id
 * @param name     its name
 * @param replicas replica lists of partitions 0..n-1
 * @param warnings non-fatal remarks (e.g. '.' and '_' can collide in metric names)
 */
public record CreateTopicResponse(UUID topicId, String name, List<List<Integer>> replicas, List<String> warnings) {
    public CreateTopicResponse {
        replicas = List.copyOf(replicas);
        warnings = List.copyOf(warnings);
    }
}

package dev.basalt.metadata.controller;

import java.util.Objects;
import java.util.UUID;

/**
 * Names one partition. Immutable.
 *
 * @param topicId   the topic's id
 * @param partition partition index
 */
public record PartitionRef(UUID topicId, int partition) {
    public PartitionRef {
        Objects.requireNonNull(topicId, "topicId");
    }
}

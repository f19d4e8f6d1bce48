package dev.basalt.metadata.controller;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One partition's part of an AlterPartitionReassignments request. Immutable.
 *
 * @param partition the partition
 * @param target    the replicas it should have, in preference order (the first is the preferred
 *                  leader); empty = cancel the reassignment in progress
 */
public record ReassignmentRequest(PartitionRef partition, Optional<List<Integer>> target) {
    public ReassignmentRequest {
        Objects.requireNonNull(partition, "partition");
        target = target.map(List::copyOf);
    }

    public static ReassignmentRequest reassign(PartitionRef partition, List<Integer> target) {
        return new ReassignmentRequest(partition, Optional.of(target));
    }

    public static ReassignmentRequest cancel(PartitionRef partition) {
        return new ReassignmentRequest(partition, Optional.empty());
    }
}

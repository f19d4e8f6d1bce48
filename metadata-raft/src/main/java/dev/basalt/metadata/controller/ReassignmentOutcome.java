package dev.basalt.metadata.controller;

import java.util.Objects;
import java.util.Optional;

/**
 * The outcome for one partition of an AlterPartitionReassignments request: accepted, or refused with
 * a typed reason (nothing changed for that partition). Immutable.
 *
 * @param partition the partition as requested
 * @param error     the refusal, empty when accepted
 */
public record ReassignmentOutcome(PartitionRef partition, Optional<ControllerException> error) {
    public ReassignmentOutcome {
        Objects.requireNonNull(partition, "partition");
        Objects.requireNonNull(error, "error");
    }

    static ReassignmentOutcome accepted(PartitionRef partition) {
        return new ReassignmentOutcome(partition, Optional.empty());
    }

    static ReassignmentOutcome refused(PartitionRef partition, ControllerException error) {
        return new ReassignmentOutcome(partition, Optional.of(error));
    }
}

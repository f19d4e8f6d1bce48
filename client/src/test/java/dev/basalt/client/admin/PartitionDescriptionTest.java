package dev.basalt.client.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Found probing: while a reassignment copied partitions onto a new broker, {@code topics --describe}
 * showed them {@code under-replicated} (and {@code --under-replicated-partitions} listed them) for
 * the whole copy, though the replication factor it printed (3) left the new replica out and all 3
 * were in sync. As kafka-topics.sh: under-replicated means fewer in-sync replicas than the factor.
 */
class PartitionDescriptionTest {
    private static PartitionDescription moving(List<Integer> isr) {
        // moving from [1,2,3] to [2,3,4]: 4 is being added, 1 removed
        return new PartitionDescription(0, 1, 3, List.of(2, 3, 4, 1), isr, List.of(), List.of(), 7, 2, List.of(4), List.of(1));
    }

    @Test
    void aReplicaBeingAdded_isNotCountedAsMissingFromTheIsr() {
        assertEquals(3, moving(List.of(1, 2, 3)).replicationFactor());
        assertFalse(moving(List.of(1, 2, 3)).underReplicated(), "the 3 replicas of the factor are in sync; 4 is copying");
        assertTrue(moving(List.of(1, 2)).underReplicated(), "one of the factor's replicas is out");
        assertFalse(moving(List.of(1, 2, 3, 4)).underReplicated());
    }

    @Test
    void withoutAReassignment_everyReplicaCounts() {
        PartitionDescription p = new PartitionDescription(0, 1, 3, List.of(1, 2, 3), List.of(1, 2), List.of(), List.of(), 7, 2);
        assertTrue(p.underReplicated());
        assertEquals(3, p.replicationFactor());
    }
}

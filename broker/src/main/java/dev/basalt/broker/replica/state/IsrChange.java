package dev.basalt.broker.replica.state;

import java.util.List;

/**
 * An ISR change the leader proposes to the controller (AlterPartition): compare-and-set on
 * {@code basePartitionEpoch}, the partition epoch the proposal was computed from. Immutable.
 *
 * @param leaderEpoch        the leader epoch the leader acts in
 * @param basePartitionEpoch the partition epoch of the ISR this change starts from
 * @param newIsr             the proposed ISR (always contains the leader), sorted ascending
 * @param shrink             true when members are removed (never both added and removed)
 */
public record IsrChange(int leaderEpoch, int basePartitionEpoch, List<Integer> newIsr, boolean shrink) {
    public IsrChange {
        newIsr = List.copyOf(newIsr);
        if (newIsr.isEmpty()) {
            throw new IllegalArgumentException("an ISR is never empty");
        }
    }
}

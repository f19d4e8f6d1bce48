package dev.basalt.client.admin;

import java.util.List;

/**
 * One partition of a reassignment plan. Immutable.
 *
 * @param topic    topic name
 * @param partition partition index
 * @param current  its replicas now
 * @param target   the replicas the plan gives it (the first is the preferred leader)
 */
public record ReassignmentMove(String topic, int partition, List<Integer> current, List<Integer> target) {
    public ReassignmentMove {
        current = List.copyOf(current);
        target = List.copyOf(target);
    }
}

package dev.basalt.client.admin;

import dev.basalt.client.TopicPartition;
import java.util.List;

/**
 * The outcome of a preferred-leader election. Immutable.
 *
 * @param elected               partitions whose leadership moved to the preferred replica
 * @param notPreferredRemaining partitions still led by another replica afterwards (in the whole cluster)
 */
public record LeaderElectionResult(List<TopicPartition> elected, int notPreferredRemaining) {
    public LeaderElectionResult {
        elected = List.copyOf(elected);
    }
}

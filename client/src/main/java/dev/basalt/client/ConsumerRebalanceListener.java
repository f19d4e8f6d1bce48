package dev.basalt.client;

import java.util.Collection;

/**
 * Told of assignment changes of a subscribed consumer (KIP-848 reconciliation), on the thread
 * calling {@link Consumer#poll}. With the group protocol, only partitions that move are revoked or
 * assigned; the others keep being consumed without a pause.
 */
public interface ConsumerRebalanceListener {
    /**
     * The partitions are about to move to another member: commit what was processed (with
     * auto-commit the consumer already committed their positions). They stay this consumer's until
     * this returns.
     */
    void onPartitionsRevoked(Collection<TopicPartition> partitions);

    /** The partitions are now this consumer's; positions come from the committed offsets. */
    void onPartitionsAssigned(Collection<TopicPartition> partitions);

    /**
     * The partitions were lost: the consumer was fenced or its session expired, so other members
     * may own them already and commits for them would be rejected. By default, as revoked.
     */
    default void onPartitionsLost(Collection<TopicPartition> partitions) {
        onPartitionsRevoked(partitions);
    }

    ConsumerRebalanceListener NONE = new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        }
    };
}

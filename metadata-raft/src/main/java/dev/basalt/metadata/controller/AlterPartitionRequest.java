package dev.basalt.metadata.controller;

import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * A partition leader asking to change the ISR (a follower fell behind or caught up). Immutable.
 *
 * @param brokerId       the requesting broker (must be the leader)
 * @param incarnationId  its incarnation
 * @param topicId        the topic
 * @param partition      the partition
 * @param leaderEpoch    the leader epoch the leader acts in
 * @param partitionEpoch the partition epoch the new ISR was computed from (compare-and-set)
 * @param newIsr         the proposed ISR, containing the leader
 */
public record AlterPartitionRequest(int brokerId, UUID incarnationId, UUID topicId, int partition, int leaderEpoch,
                                    int partitionEpoch, List<Integer> newIsr) {
    public AlterPartitionRequest {
        Objects.requireNonNull(incarnationId, "incarnationId");
        Objects.requireNonNull(topicId, "topicId");
        newIsr = List.copyOf(newIsr);
    }
}

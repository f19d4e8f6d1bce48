package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * A broker announcing itself at start-up. Immutable.
 *
 * @param brokerId        its id
 * @param incarnationId   fresh for every start of the broker process
 * @param endpoints       its listeners
 * @param rack            its rack, if any
 * @param uncleanShutdown  the previous run of this broker id may have lost records it acknowledged in
 *                         any partition (it crashed while acknowledging before fsync, or its directory
 *                         is new). Such a broker leaves every eligible leader replica set (KIP-966's
 *                         unclean-shutdown rule): an ELR member must hold every committed record
 * @param uncleanTopicIds  the topics for which that holds when {@code uncleanShutdown} is false: a
 *                         crash loses nothing acknowledged with durable acks (the default), so only
 *                         the partitions of topics with {@code durable.acks=false} are affected
 */
public record BrokerRegistrationRequest(int brokerId, UUID incarnationId, List<Endpoint> endpoints,
                                        Optional<String> rack, boolean uncleanShutdown, Set<UUID> uncleanTopicIds) {
    public BrokerRegistrationRequest {
        Objects.requireNonNull(incarnationId, "incarnationId");
        Objects.requireNonNull(rack, "rack");
        endpoints = List.copyOf(endpoints);
        uncleanTopicIds = Set.copyOf(uncleanTopicIds);
    }

    /** {@code uncleanShutdown} for every partition or none. */
    public BrokerRegistrationRequest(int brokerId, UUID incarnationId, List<Endpoint> endpoints, Optional<String> rack,
                                     boolean uncleanShutdown) {
        this(brokerId, incarnationId, endpoints, rack, uncleanShutdown, Set.of());
    }

    /** A registration after a clean shutdown or in durable-ack mode ({@code uncleanShutdown} false). */
    public BrokerRegistrationRequest(int brokerId, UUID incarnationId, List<Endpoint> endpoints, Optional<String> rack) {
        this(brokerId, incarnationId, endpoints, rack, false);
    }

    /** Whether this broker may have lost acknowledged records of {@code topicId}'s partitions. */
    public boolean mayHaveLost(UUID topicId) {
        return uncleanShutdown || uncleanTopicIds.contains(topicId);
    }
}

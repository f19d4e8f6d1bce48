package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * A broker announcing itself at start-up. Immutable.
 *
 * @param brokerId      its id
 * @param incarnationId fresh for every start of the broker process
 * @param endpoints     its listeners
 * @param rack          its rack, if any
 */
public record BrokerRegistrationRequest(int brokerId, UUID incarnationId, List<Endpoint> endpoints,
                                        Optional<String> rack) {
    public BrokerRegistrationRequest {
        Objects.requireNonNull(incarnationId, "incarnationId");
        Objects.requireNonNull(rack, "rack");
        endpoints = List.copyOf(endpoints);
    }
}

package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.Endpoint;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * A broker announcing itself at start-up. Immutable.
 *
 * @param brokerId        its id
 * @param incarnationId   fresh for every start of the broker process
 * @param endpoints       its listeners
 * @param rack            its rack, if any
 * @param uncleanShutdown the previous run of this broker id may have lost records it acknowledged (it
 *                        crashed while acknowledging before fsync). Such a broker leaves every eligible
 *                        leader replica set (KIP-966's unclean-shutdown rule): an ELR member must hold
 *                        every committed record. With durable acks (the default) a crash loses nothing
 *                        acknowledged, so the broker passes false
 */
public record BrokerRegistrationRequest(int brokerId, UUID incarnationId, List<Endpoint> endpoints,
                                        Optional<String> rack, boolean uncleanShutdown) {
    public BrokerRegistrationRequest {
        Objects.requireNonNull(incarnationId, "incarnationId");
        Objects.requireNonNull(rack, "rack");
        endpoints = List.copyOf(endpoints);
    }

    /** A registration after a clean shutdown or in durable-ack mode ({@code uncleanShutdown} false). */
    public BrokerRegistrationRequest(int brokerId, UUID incarnationId, List<Endpoint> endpoints, Optional<String> rack) {
        this(brokerId, incarnationId, endpoints, rack, false);
    }
}

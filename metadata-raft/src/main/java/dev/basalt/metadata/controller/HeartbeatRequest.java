package dev.basalt.metadata.controller;

import java.util.Objects;
import java.util.UUID;

/**
 * A broker's periodic heartbeat. Immutable.
 *
 * @param brokerId      its id
 * @param incarnationId the incarnation that registered
 * @param caughtUp      the broker has replayed the metadata log up to the controller's committed
 *                      offset, so it may be unfenced
 * @param wantShutdown  the broker is shutting down: move leadership away and fence it (controlled shutdown)
 */
public record HeartbeatRequest(int brokerId, UUID incarnationId, boolean caughtUp, boolean wantShutdown) {
    public HeartbeatRequest {
        Objects.requireNonNull(incarnationId, "incarnationId");
    }
}

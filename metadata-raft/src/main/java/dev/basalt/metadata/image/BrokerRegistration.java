package dev.basalt.metadata.image;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * A registered broker as the metadata log knows it. Immutable value, thread-safe.
 *
 * @param brokerId      broker id, >= 0
 * @param incarnationId identifies one run of the broker process
 * @param endpoints     its listeners (non-empty, distinct names)
 * @param rack          its rack, if any
 * @param fenced        true while the broker may not lead or be in an ISR
 * @param offlineReplicas replicas this incarnation reported it cannot serve, in {@link ReplicaFault#ORDER}
 */
public record BrokerRegistration(int brokerId, UUID incarnationId, List<Endpoint> endpoints, Optional<String> rack,
                                 boolean fenced, List<ReplicaFault> offlineReplicas) {
    public BrokerRegistration {
        Objects.requireNonNull(incarnationId, "incarnationId");
        Objects.requireNonNull(rack, "rack");
        endpoints = List.copyOf(endpoints);
        offlineReplicas = List.copyOf(offlineReplicas);
        for (int i = 1; i < offlineReplicas.size(); i++) {
            if (ReplicaFault.ORDER.compare(offlineReplicas.get(i - 1), offlineReplicas.get(i)) >= 0) {
                throw new IllegalArgumentException("broker " + brokerId + " offline replicas not ordered and distinct: "
                        + offlineReplicas.get(i - 1) + ", " + offlineReplicas.get(i));
            }
        }
        if (incarnationId.getMostSignificantBits() == 0 && incarnationId.getLeastSignificantBits() == 0) {
            throw new IllegalArgumentException("broker " + brokerId + " has the all-zero incarnation id (none)");
        }
        if (brokerId < 0) {
            throw new IllegalArgumentException("negative broker id " + brokerId);
        }
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("broker " + brokerId + " has no endpoints");
        }
        if (new HashSet<>(endpoints.stream().map(Endpoint::name).toList()).size() != endpoints.size()) {
            throw new IllegalArgumentException("broker " + brokerId + " repeats an endpoint name: " + endpoints);
        }
        if (rack.isPresent() && rack.get().isEmpty()) {
            throw new IllegalArgumentException("empty rack name: use Optional.empty()");
        }
    }

    /** A registration without offline replicas (a new incarnation starts with none). */
    public BrokerRegistration(int brokerId, UUID incarnationId, List<Endpoint> endpoints, Optional<String> rack, boolean fenced) {
        this(brokerId, incarnationId, endpoints, rack, fenced, List.of());
    }

    public BrokerRegistration withFenced(boolean newFenced) {
        return new BrokerRegistration(brokerId, incarnationId, endpoints, rack, newFenced, offlineReplicas);
    }

    public BrokerRegistration withOfflineReplicas(List<ReplicaFault> replicas) {
        return new BrokerRegistration(brokerId, incarnationId, endpoints, rack, fenced, replicas);
    }

    /** Whether this broker reported its replica of {@code topicId}-{@code partition} offline. */
    /** The fault this broker reported for the replica, or null if it serves it. */
    public ReplicaFault offlineFault(UUID topicId, int partition) {
        for (ReplicaFault f : offlineReplicas) {
            if (f.partition() == partition && f.topicId().equals(topicId)) {
                return f;
            }
        }
        return null;
    }

    public boolean isOffline(UUID topicId, int partition) {
        return offlineFault(topicId, partition) != null;
    }
}

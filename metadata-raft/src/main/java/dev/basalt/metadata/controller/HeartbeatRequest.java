package dev.basalt.metadata.controller;

import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * A broker's periodic heartbeat. Immutable.
 *
 * @param brokerId        its id
 * @param incarnationId   the incarnation that registered
 * @param caughtUp        the broker has replayed the metadata log up to the controller's committed
 *                        offset, so it may be unfenced
 * @param wantShutdown    the broker is shutting down: move leadership away and fence it (controlled shutdown)
 * @param offlineReplicas replicas the broker can no longer serve (a storage failure, corruption, a
 *                        lost directory): leadership and ISR places of exactly these move away
 *                        (KIP-112/KIP-858), the broker's other replicas are untouched
 * @param offlineReasons  why, for some or all of {@code offlineReplicas} (shown cluster-wide)
 * @param unreachableLeaders leader brokers this broker's followers have failed to reach for
 *                        replica.lag.time.max.ms or longer (controller.proto's unreachable_leaders;
 *                        see {@code ClusterControl})
 */
public record HeartbeatRequest(int brokerId, UUID incarnationId, boolean caughtUp, boolean wantShutdown,
                               List<PartitionRef> offlineReplicas, java.util.Map<PartitionRef, String> offlineReasons,
                               java.util.Set<Integer> unreachableLeaders) {
    /** Bounds the loop over a broker-supplied list. */
    public static final int OFFLINE_REPLICAS_MAX = dev.basalt.metadata.image.ReplicaFault.PER_BROKER_MAX;
    /** Bounds the brokers one heartbeat may report unreachable. */
    public static final int UNREACHABLE_LEADERS_MAX = 10_000;

    public HeartbeatRequest {
        Objects.requireNonNull(incarnationId, "incarnationId");
        offlineReplicas = List.copyOf(offlineReplicas);
        offlineReasons = java.util.Map.copyOf(offlineReasons);
        unreachableLeaders = java.util.Set.copyOf(unreachableLeaders);
        if (offlineReplicas.size() > OFFLINE_REPLICAS_MAX) {
            throw new IllegalArgumentException(offlineReplicas.size() + " offline replicas > " + OFFLINE_REPLICAS_MAX);
        }
        if (unreachableLeaders.size() > UNREACHABLE_LEADERS_MAX) {
            throw new IllegalArgumentException(unreachableLeaders.size() + " unreachable leaders > " + UNREACHABLE_LEADERS_MAX);
        }
    }

    public HeartbeatRequest(int brokerId, UUID incarnationId, boolean caughtUp, boolean wantShutdown,
                            List<PartitionRef> offlineReplicas, java.util.Map<PartitionRef, String> offlineReasons) {
        this(brokerId, incarnationId, caughtUp, wantShutdown, offlineReplicas, offlineReasons, java.util.Set.of());
    }

    public HeartbeatRequest(int brokerId, UUID incarnationId, boolean caughtUp, boolean wantShutdown,
                            List<PartitionRef> offlineReplicas) {
        this(brokerId, incarnationId, caughtUp, wantShutdown, offlineReplicas, java.util.Map.of());
    }

    public HeartbeatRequest(int brokerId, UUID incarnationId, boolean caughtUp, boolean wantShutdown) {
        this(brokerId, incarnationId, caughtUp, wantShutdown, List.of());
    }
}

package dev.basalt.client.admin;

import java.util.List;

/**
 * A broker as the cluster describes it. rack is empty when none. {@code offlineReplicas}: the
 * replicas it reported it cannot serve (storage faults), with the broker's reason.
 * {@code decommissioned}: from a decommission until a recommission (no new replicas go to it).
 * {@code shuttingDown} is not set by this version's brokers (a controlled shutdown fences at once).
 * Immutable.
 */
public record BrokerDescription(int id, String host, int port, String rack, boolean fenced, boolean shuttingDown,
                                List<String> roles, List<OfflineReplica> offlineReplicas, boolean decommissioned) {
    public BrokerDescription {
        roles = List.copyOf(roles);
        offlineReplicas = List.copyOf(offlineReplicas);
    }

    public BrokerDescription(int id, String host, int port, String rack, boolean fenced, boolean shuttingDown, List<String> roles,
                             List<OfflineReplica> offlineReplicas) {
        this(id, host, port, rack, fenced, shuttingDown, roles, offlineReplicas, false);
    }

    public BrokerDescription(int id, String host, int port, String rack, boolean fenced, boolean shuttingDown, List<String> roles) {
        this(id, host, port, rack, fenced, shuttingDown, roles, List.of());
    }

    /** One replica a broker cannot serve, and why. */
    public record OfflineReplica(String topic, int partition, String reason) {
        /**
         * Whether the replica is only out of space (its reason starts with "disk full", see
         * {@link dev.basalt.common.OfflineReasons}): intact, serving reads, refusing appends. Where
         * no replica in service can take over, the controller keeps such a replica leading: its
         * partition is read-only.
         */
        public boolean outOfSpaceOnly() {
            return dev.basalt.common.OfflineReasons.outOfSpaceOnly(reason);
        }
    }
}

package dev.basalt.client.admin;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The cluster's id, its active controller (-1 = none) and its brokers. Immutable. */
public record ClusterDescription(String clusterId, int controllerId, List<BrokerDescription> brokers) {
    public ClusterDescription {
        brokers = List.copyOf(brokers);
    }

    /** Ids of the brokers that are not fenced (those that can lead partitions). */
    public Set<Integer> liveBrokerIds() {
        Set<Integer> out = new LinkedHashSet<>();
        brokers.stream().filter(b -> !b.fenced()).forEach(b -> out.add(b.id()));
        return out;
    }
}

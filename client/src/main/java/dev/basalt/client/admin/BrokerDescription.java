package dev.basalt.client.admin;

import java.util.List;

/** A broker as the cluster describes it. rack is empty when none. Immutable. */
public record BrokerDescription(int id, String host, int port, String rack, boolean fenced, boolean shuttingDown,
                                List<String> roles) {
    public BrokerDescription {
        roles = List.copyOf(roles);
    }
}

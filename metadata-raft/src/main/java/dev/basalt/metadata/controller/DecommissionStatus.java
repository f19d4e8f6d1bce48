package dev.basalt.metadata.controller;

/**
 * How far draining a broker has come. Immutable.
 *
 * @param brokerId          the broker
 * @param decommissioned    whether it is decommissioned (being drained)
 * @param replicasRemaining partitions that still list it as a replica (reassignments in progress count)
 * @param leadersRemaining  partitions it still leads
 */
public record DecommissionStatus(int brokerId, boolean decommissioned, int replicasRemaining, int leadersRemaining) {
    public DecommissionStatus {
        if (replicasRemaining < 0 || leadersRemaining < 0 || leadersRemaining > replicasRemaining) {
            throw new IllegalArgumentException("inconsistent counts " + replicasRemaining + ", " + leadersRemaining);
        }
    }

    /** True once the broker is decommissioned and holds no replica: stopping it loses nothing. */
    public boolean canStop() {
        return decommissioned && replicasRemaining == 0;
    }
}

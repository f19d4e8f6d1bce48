package dev.basalt.client.admin;

/**
 * How far draining a broker has come. Immutable.
 *
 * @param brokerId          the broker
 * @param decommissioned    whether it is decommissioned
 * @param replicasRemaining partitions still listing it as a replica
 * @param leadersRemaining  partitions it still leads
 * @param canStop           decommissioned and holding nothing: stopping it loses nothing
 */
public record DecommissionProgress(int brokerId, boolean decommissioned, int replicasRemaining, int leadersRemaining,
                                   boolean canStop) {
}

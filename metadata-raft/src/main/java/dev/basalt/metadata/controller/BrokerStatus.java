package dev.basalt.metadata.controller;

/**
 * A broker's state after a registration or heartbeat is committed. Immutable.
 *
 * @param brokerId      its id
 * @param fenced        whether it is fenced (may not lead or be in an ISR)
 * @param shutdownReady the broker asked to shut down and, once this result's records are committed,
 *                      leads no partition: it may stop now without making any partition unavailable
 *                      longer than the re-election already done. Always false unless it asked
 */
public record BrokerStatus(int brokerId, boolean fenced, boolean shutdownReady) {
    public BrokerStatus {
        if (shutdownReady && !fenced) {
            throw new IllegalArgumentException("broker " + brokerId + " may shut down only once fenced");
        }
    }

    /** A status without a shutdown request. */
    public BrokerStatus(int brokerId, boolean fenced) {
        this(brokerId, fenced, false);
    }
}

package dev.basalt.metadata.controller;

/**
 * A broker's state after a registration or heartbeat is committed. Immutable.
 *
 * @param brokerId its id
 * @param fenced   whether it is fenced (may not lead or be in an ISR)
 */
public record BrokerStatus(int brokerId, boolean fenced) {
}

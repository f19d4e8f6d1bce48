package dev.basalt.metadata.controller;

/**
 * Limits and timeouts of the controller's decisions. Immutable.
 *
 * @param sessionTimeoutMs      a broker that has not heartbeated for this long is fenced
 * @param partitionsPerTopicMax most partitions a topic may have
 * @param producerIdBlockSize   producer ids handed out per allocation
 * @param topicsPerRequestMax   most topics one create/delete request may name
 */
public record ControllerConfig(long sessionTimeoutMs, int partitionsPerTopicMax, int producerIdBlockSize,
                               int topicsPerRequestMax) {
    /** Kafka-like defaults: 9 s sessions, 10,000 partitions per topic, blocks of 1,000 producer ids. */
    public static final ControllerConfig DEFAULT = new ControllerConfig(9_000, 10_000, 1_000, 1_000);

    public ControllerConfig {
        if (sessionTimeoutMs < 1 || partitionsPerTopicMax < 1 || producerIdBlockSize < 1 || topicsPerRequestMax < 1) {
            throw new IllegalArgumentException("controller limits must be positive: " + sessionTimeoutMs + ", "
                    + partitionsPerTopicMax + ", " + producerIdBlockSize + ", " + topicsPerRequestMax);
        }
    }
}

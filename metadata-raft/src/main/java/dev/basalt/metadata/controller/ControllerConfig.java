package dev.basalt.metadata.controller;

/**
 * Limits, timeouts and cluster-wide topic defaults of the controller's decisions. Immutable.
 *
 * <p>The two topic defaults must equal the brokers' defaults for the same keys (the broker builds this
 * from its node config): the controller decides ELR membership and unclean elections with them, the
 * leaders decide whether the high watermark may advance with them, and the two must agree or an
 * "eligible" replica might miss committed records.
 *
 * @param sessionTimeoutMs               a broker that has not heartbeated for this long is fenced
 * @param partitionsPerTopicMax          most partitions a topic may have
 * @param producerIdBlockSize            producer ids handed out per allocation
 * @param topicsPerRequestMax            most topics one create/delete request may name
 * @param minInsyncReplicasDefault       {@code min.insync.replicas} of topics without an override (>= 1)
 * @param uncleanLeaderElectionDefault   {@code unclean.leader.election.enable} of topics without an override
 * @param preferredElectionPartitionsMax most partitions one preferred-leader election call moves, so one
 *                                       rebalance cannot move every leader of the cluster at once
 * @param replicasPerBrokerMax           most partition replicas topic creation and partition growth may
 *                                       leave on one broker (each holds open files, memory and a share of
 *                                       the fetch and flush work); a topic (or partition growth) past it
 *                                       is refused; internal topics are exempt
 */
public record ControllerConfig(long sessionTimeoutMs, int partitionsPerTopicMax, int producerIdBlockSize,
                               int topicsPerRequestMax, int minInsyncReplicasDefault,
                               boolean uncleanLeaderElectionDefault, int preferredElectionPartitionsMax,
                               int replicasPerBrokerMax) {
    /** Default of {@link #replicasPerBrokerMax} (node config replicas.per.broker.max). */
    public static final int REPLICAS_PER_BROKER_MAX_DEFAULT = 4_000;

    /**
     * Kafka-like defaults: 9 s sessions, 10,000 partitions per topic, blocks of 1,000 producer ids,
     * min.insync.replicas=1, no unclean elections, at most 1,000 leaders moved per rebalance call,
     * at most 4,000 replicas per broker.
     */
    public static final ControllerConfig DEFAULT = new ControllerConfig(9_000, 10_000, 1_000, 1_000, 1, false, 1_000,
            REPLICAS_PER_BROKER_MAX_DEFAULT);

    public ControllerConfig {
        if (sessionTimeoutMs < 1 || partitionsPerTopicMax < 1 || producerIdBlockSize < 1 || topicsPerRequestMax < 1) {
            throw new IllegalArgumentException("controller limits must be positive: " + sessionTimeoutMs + ", "
                    + partitionsPerTopicMax + ", " + producerIdBlockSize + ", " + topicsPerRequestMax);
        }
        if (minInsyncReplicasDefault < 1) {
            throw new IllegalArgumentException("minInsyncReplicasDefault must be >= 1, not " + minInsyncReplicasDefault);
        }
        if (replicasPerBrokerMax < 1) {
            throw new IllegalArgumentException("replicasPerBrokerMax must be >= 1, not " + replicasPerBrokerMax);
        }
        if (preferredElectionPartitionsMax < 1) {
            throw new IllegalArgumentException("preferredElectionPartitionsMax must be >= 1, not "
                    + preferredElectionPartitionsMax);
        }
    }

    /** As the canonical constructor, with the default replicas-per-broker limit. */
    public ControllerConfig(long sessionTimeoutMs, int partitionsPerTopicMax, int producerIdBlockSize,
                            int topicsPerRequestMax, int minInsyncReplicasDefault,
                            boolean uncleanLeaderElectionDefault, int preferredElectionPartitionsMax) {
        this(sessionTimeoutMs, partitionsPerTopicMax, producerIdBlockSize, topicsPerRequestMax, minInsyncReplicasDefault,
                uncleanLeaderElectionDefault, preferredElectionPartitionsMax, REPLICAS_PER_BROKER_MAX_DEFAULT);
    }

    /** The limits alone, with {@link #DEFAULT}'s topic defaults and rebalance limit. */
    public ControllerConfig(long sessionTimeoutMs, int partitionsPerTopicMax, int producerIdBlockSize,
                            int topicsPerRequestMax) {
        this(sessionTimeoutMs, partitionsPerTopicMax, producerIdBlockSize, topicsPerRequestMax, 1, false, 1_000);
    }
}

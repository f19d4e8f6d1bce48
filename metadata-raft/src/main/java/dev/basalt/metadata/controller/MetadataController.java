package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProducerIdsImage;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.random.RandomGenerator;

/**
 * The active controller's decision logic: given the current image (committed records plus any
 * records this controller has proposed but not yet seen committed) and a request, returns the records
 * to commit and the response, or throws a {@link ControllerException} with a typed reason (no records
 * then). Pure: no I/O, no clock reads (time is {@code nowMs}), no threads; randomness (replica
 * placement start, topic ids) comes from the injected seeded generator, so the same inputs give the
 * same records.
 *
 * <p>Partition rules (details in {@link PartitionElections} and docs/metadata-controller.md): each
 * topic's {@code min.insync.replicas} and {@code unclean.leader.election.enable} come from its config
 * overrides, else {@link ControllerConfig#minInsyncReplicasDefault()} and
 * {@link ControllerConfig#uncleanLeaderElectionDefault()}. An ISR shrink that leaves the ISR below min
 * ISR moves the removed members into the eligible leader replicas (KIP-966); a member rejoining the
 * ISR leaves them, and they are cleared once the ISR has min ISR members again. A leader is elected
 * from the live ISR (replica order), else the live ELR (leading alone), else, only where the topic
 * allows it, any live replica (an unclean election, flagged {@code leaderRecovering} until the
 * leader's next ISR expansion), else the partition stays leaderless and loses nothing.
 *
 * <p>Not thread-safe: one controller thread calls it (STYLE.md §5). Its only state besides the
 * generator is the broker sessions (soft state, rebuilt on failover). Every result's records replay
 * cleanly onto the image given: each is checked against a scratch delta while it is built.
 */
public final class MetadataController {
    private final TopicControl topics;
    private final ConfigControl configs;
    private final ClusterControl cluster;
    private final PartitionControl partitions;
    private final ReassignmentControl reassignments;

    /**
     * @param config    limits and the session timeout
     * @param validator checks topic and broker config keys and values (owned by the broker module)
     * @param random    seeded generator for replica placement and topic ids
     */
    public MetadataController(ControllerConfig config, ConfigValidator validator, RandomGenerator random) {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(validator, "validator");
        Objects.requireNonNull(random, "random");
        this.topics = new TopicControl(config, validator, random);
        this.configs = new ConfigControl(validator, config);
        this.cluster = new ClusterControl(config);
        this.partitions = new PartitionControl(config);
        this.reassignments = new ReassignmentControl(config);
    }

    /** Creates a topic with replicas placed across live brokers and racks. */
    public ControllerResult<CreateTopicResponse> createTopic(MetadataImage image, CreateTopicRequest request) {
        return topics.createTopic(image, request);
    }

    /** Creates several topics, each succeeding or failing on its own (Kafka's CreateTopics). */
    public ControllerResult<List<TopicOutcome<CreateTopicResponse>>> createTopics(MetadataImage image,
                                                                                 List<CreateTopicRequest> requests) {
        return topics.createTopics(image, requests);
    }

    /** Deletes several topics, each succeeding or failing on its own; successes carry the topic id. */
    public ControllerResult<List<TopicOutcome<UUID>>> deleteTopics(MetadataImage image, List<String> names) {
        return topics.deleteTopics(image, names);
    }

    /** Deletes a topic with its partitions and configs; the response is its id. */
    public ControllerResult<UUID> deleteTopic(MetadataImage image, String name) {
        return topics.deleteTopic(image, name);
    }

    /** Grows a topic to {@code totalCount} partitions; the response lists the new partitions' replicas. */
    public ControllerResult<List<List<Integer>>> createPartitions(MetadataImage image, String name, int totalCount) {
        return topics.createPartitions(image, name, totalCount);
    }

    /** Sets (present) or deletes (empty) config keys of a resource; the response counts changed keys. */
    public ControllerResult<Integer> alterConfigs(MetadataImage image, ConfigResource resource,
                                                  Map<String, Optional<String>> changes) {
        return configs.alterConfigs(image, resource, changes);
    }

    /** Registers (or re-registers after a restart) a broker; it starts fenced. */
    public ControllerResult<BrokerStatus> registerBroker(MetadataImage image, BrokerRegistrationRequest request,
                                                         long nowMs) {
        return cluster.register(image, request, nowMs);
    }

    /**
     * Records a heartbeat; unfences a caught-up broker (electing leaders of leaderless partitions it
     * can lead), or, for {@code wantShutdown}, moves its leaderships and ISR places away and fences it
     * in one batch; the status then has {@code shutdownReady} once it leads nothing.
     */
    public ControllerResult<BrokerStatus> heartbeat(MetadataImage image, HeartbeatRequest request, long nowMs) {
        return cluster.heartbeat(image, request, nowMs);
    }

    /** Controlled shutdown: a heartbeat with {@code wantShutdown}; see {@link #heartbeat}. */
    public ControllerResult<BrokerStatus> controlledShutdown(MetadataImage image, int brokerId, UUID incarnationId,
                                                             long nowMs) {
        return cluster.heartbeat(image, new HeartbeatRequest(brokerId, incarnationId, false, true), nowMs);
    }

    /** Fences brokers whose session expired by {@code nowMs}, re-electing leaders from the ISR. */
    public ControllerResult<List<Integer>> fenceExpiredBrokers(MetadataImage image, long nowMs) {
        return cluster.fenceExpired(image, nowMs);
    }

    /** When the next broker session expires (the driver calls {@link #fenceExpiredBrokers} then). */
    public OptionalLong nextSessionExpiryMs() {
        return cluster.nextSessionExpiryMs();
    }

    /**
     * A leader's ISR change, compare-and-set on the leader epoch and partition epoch; every member must
     * be a live replica. Members dropped below min ISR join the ELR; an expansion ends unclean
     * recovery. The response is the partition as it is once the records commit.
     */
    public ControllerResult<PartitionRegistration> alterPartition(MetadataImage image, AlterPartitionRequest request) {
        return partitions.alterPartition(image, request);
    }

    /**
     * Preferred-leader rebalancing: moves leadership back to the preferred (first) replica of partitions
     * where that is safe and cheap now — the preferred replica is live, in the ISR, not the only ISR
     * member, the ISR has at least {@code min.insync.replicas} members, and the partition is not
     * recovering from an unclean election — at most {@link ControllerConfig#preferredElectionPartitionsMax()}
     * partitions per call, topics in id order then partition index. The response lists the partitions
     * moved; call again (e.g. when {@link #leaderImbalance} still shows movable partitions) for more.
     */
    public ControllerResult<List<PartitionRef>> electPreferredLeaders(MetadataImage image) {
        return partitions.electPreferredLeaders(image);
    }

    /**
     * The same election for the named partitions only (an operator's request), in the order given.
     * Partitions that do not qualify are skipped; the response lists those moved. Refused as a whole
     * (INVALID_REQUEST, UNKNOWN_PARTITION) for more than {@link ControllerConfig#preferredElectionPartitionsMax()}
     * partitions, a repeated or an unknown partition.
     */
    public ControllerResult<List<PartitionRef>> electPreferredLeaders(MetadataImage image,
                                                                      List<PartitionRef> partitionsToElect) {
        return partitions.electPreferredLeaders(image, partitionsToElect);
    }

    /** How many partitions are led by other than their preferred replica, and how many could move now. */
    public LeaderImbalance leaderImbalance(MetadataImage image) {
        return partitions.leaderImbalance(image);
    }

    /** Hands the broker the next block of producer ids. */
    public ControllerResult<ProducerIdsImage.ProducerIdBlock> allocateProducerIds(MetadataImage image, int brokerId,
                                                                                 UUID incarnationId) {
        return cluster.allocateProducerIds(image, brokerId, incarnationId);
    }

    // ------------------------------------------------------------------ reassignment (KIP-455), decommission

    /**
     * Starts, replaces (a new target for a partition already reassigning) or cancels (empty target)
     * partition reassignments; each partition is accepted or refused on its own (INVALID_REPLICA_ASSIGNMENT,
     * BROKER_DECOMMISSIONED, NO_REASSIGNMENT_IN_PROGRESS, REASSIGNMENT_UNSAFE, UNKNOWN_PARTITION). A
     * reordering or a shrink whose remaining replicas are in sync completes at once; otherwise the new
     * replicas catch up and {@link #completeReassignments} finishes it. See {@link ReassignmentControl}.
     */
    public ControllerResult<List<ReassignmentOutcome>> alterReassignments(MetadataImage image,
                                                                          List<ReassignmentRequest> requests) {
        return reassignments.alterReassignments(image, requests);
    }

    /**
     * Completes every reassignment whose new replicas are all in the ISR (replicas = target, ISR ∩
     * target, leadership moved to a live in-sync target replica if the leader leaves). The controller's
     * event loop calls it when it becomes active (a failover continues pending reassignments) and after
     * every committed ISR change; the response lists the partitions completed.
     */
    public ControllerResult<List<PartitionRef>> completeReassignments(MetadataImage image) {
        return reassignments.completeReassignments(image);
    }

    /**
     * One gradual step of {@code auto.rebalance.enable} (see {@link AutoRebalance}): starts at most
     * {@code movesMax} reassignments toward a balanced spread of replicas, only on a healthy cluster
     * with no reassignment in progress; the response lists the partitions whose move started.
     */
    public ControllerResult<List<PartitionRef>> autoRebalanceStep(MetadataImage image, int movesMax) {
        List<ReassignmentRequest> step = AutoRebalance.nextStep(image, movesMax);
        if (step.isEmpty()) {
            return new ControllerResult<>(List.of(), List.of());
        }
        ControllerResult<List<ReassignmentOutcome>> r = reassignments.alterReassignments(image, step);
        return new ControllerResult<>(r.records(), r.response().stream().filter(o -> o.error().isEmpty())
                .map(ReassignmentOutcome::partition).toList());
    }

    /** Partitions with a reassignment in progress (topics in id order, partitions in index order). */
    public static List<PartitionRef> reassigningPartitions(MetadataImage image) {
        return ReassignmentControl.reassigning(image);
    }

    /**
     * Decommissions a broker: no new replicas are placed on it, and every partition listing it is
     * reassigned to another active broker (rack-aware, least loaded). Idempotent; the status says when
     * the broker holds nothing and can be stopped.
     */
    public ControllerResult<DecommissionStatus> decommissionBroker(MetadataImage image, int brokerId) {
        return reassignments.decommission(image, brokerId);
    }

    /** Puts a decommissioned broker back in service, cancelling the moves off it still in progress where safe. */
    public ControllerResult<DecommissionStatus> recommissionBroker(MetadataImage image, int brokerId) {
        return reassignments.recommission(image, brokerId);
    }

    /** How far draining {@code brokerId} has come (a read: no records). */
    public static DecommissionStatus decommissionStatus(MetadataImage image, int brokerId) {
        return ReassignmentControl.status(image, brokerId);
    }

    /**
     * A balanced plan for {@code topicNames} over {@code brokers} that moves as few replicas as possible
     * (a read: no records); the partitions whose target would change, to their new target. See
     * {@link ReassignmentPlanner}.
     */
    public static Map<PartitionRef, List<Integer>> planReassignment(MetadataImage image, List<String> topicNames,
                                                                    List<Integer> brokers) {
        return ReassignmentPlanner.plan(image, topicNames, brokers);
    }
}

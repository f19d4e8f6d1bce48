package dev.basalt.metadata.controller;

import dev.basalt.metadata.delta.TopicNames;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.TopicRecord;
import dev.basalt.proto.v1.TopicRemovalRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.random.RandomGenerator;

/**
 * Decisions on topics: create, delete, add partitions. Pure; not thread-safe (the controller thread
 * owns it, and its generator).
 */
final class TopicControl {
    private static final int TOPIC_ID_ATTEMPTS_MAX = 100;

    private final ControllerConfig config;
    private final ConfigValidator validator;
    private final RandomGenerator random;
    private final ReplicaPlacer placer;

    TopicControl(ControllerConfig config, ConfigValidator validator, RandomGenerator random) {
        this.config = config;
        this.validator = validator;
        this.random = random;
        this.placer = new ReplicaPlacer(random);
    }

    ControllerResult<CreateTopicResponse> createTopic(MetadataImage image, CreateTopicRequest request) {
        RecordBuffer out = new RecordBuffer(image);
        return out.result(createTopic(out, image, request));
    }

    /**
     * Creates each topic of a request on its own: one topic's refusal does not stop the others, and
     * later topics see earlier ones (two equal names in one request: the second is refused).
     */
    ControllerResult<List<TopicOutcome<CreateTopicResponse>>> createTopics(MetadataImage image,
                                                                          List<CreateTopicRequest> requests) {
        checkRequestSize(requests.size());
        RecordBuffer out = new RecordBuffer(image);
        List<TopicOutcome<CreateTopicResponse>> outcomes = new ArrayList<>();
        for (CreateTopicRequest request : requests) {
            try {
                // Records are added only after every check passed, so a refusal leaves nothing behind.
                outcomes.add(TopicOutcome.success(request.name(), createTopic(out, image, request)));
            } catch (ControllerException e) {
                outcomes.add(TopicOutcome.failure(request.name(), e));
            }
        }
        return out.result(outcomes);
    }

    private void checkRequestSize(int topics) {
        if (topics > config.topicsPerRequestMax()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "request names " + topics
                    + " topics, over topicsPerRequestMax=" + config.topicsPerRequestMax());
        }
    }

    private CreateTopicResponse createTopic(RecordBuffer out, MetadataImage image, CreateTopicRequest request) {
        List<String> warnings = validateName(out, request.name());
        if (request.partitions() < 1 || request.partitions() > config.partitionsPerTopicMax()) {
            throw new ControllerException(ControllerException.Reason.INVALID_PARTITIONS, "partitions must be 1.."
                    + config.partitionsPerTopicMax() + ", not " + request.partitions());
        }
        List<BrokerRegistration> live = liveBrokers(image);
        if (request.replicationFactor() < 1 || request.replicationFactor() > live.size()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REPLICATION_FACTOR, "replication factor "
                    + request.replicationFactor() + " must be 1.." + live.size() + " (" + brokersInService(image, live) + ")");
        }
        ConfigResource resource = ConfigResource.topic(request.name());
        request.configs().forEach((key, value) -> ConfigControl.check(validator, resource, key, value));
        ConfigControl.checkAll(validator, resource, request.configs());
        ConfigControl.checkMinIsrFits(request.name(), request.configs(), request.replicationFactor());
        UUID id = newTopicId(out);
        // Placement counts the partitions created earlier in this request too (createTopics).
        ReplicaPlacer.Placement placed = placer.placement(out.state().apply(), live, request.partitions(),
                request.replicationFactor());
        List<List<Integer>> replicas = placed.replicas();
        if (!TopicNames.isInternal(request.name())) {
            // before any record: a refusal leaves nothing behind. Internal topics (the group
            // coordinator's __consumer_offsets) are exempt: refusing one would break every group.
            checkReplicasPerBroker(placed);
        }
        out.add(MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName(request.name())
                .setTopicId(ProtoIds.toProto(id)).putAllConfigs(request.configs())).build());
        addPartitions(out, id, 0, replicas);
        return new CreateTopicResponse(id, request.name(), replicas, warnings);
    }

    /** Kafka's topic-name rules; a '.'/'_' collision with a live topic is an error, '.' or '_' a warning. */
    private static List<String> validateName(RecordBuffer out, String name) {
        String problem = TopicNames.validate(name);
        if (problem != null) {
            throw new ControllerException(ControllerException.Reason.INVALID_TOPIC, problem);
        }
        if (TopicNames.isInternal(name) && !name.equals(TopicNames.CONSUMER_OFFSETS)) {
            throw new ControllerException(ControllerException.Reason.INVALID_TOPIC, "topic names starting with '__' are "
                    + "reserved for the cluster's internal topics: " + name);
        }
        if (out.state().topic(name).isPresent()) {
            throw new ControllerException(ControllerException.Reason.TOPIC_ALREADY_EXISTS, "topic " + name
                    + " already exists");
        }
        String unified = TopicNames.unifyCollisionChars(name);
        for (String existing : out.state().topicNames()) {
            if (TopicNames.unifyCollisionChars(existing).equals(unified)) {
                throw new ControllerException(ControllerException.Reason.INVALID_TOPIC, "topic " + name
                        + " collides with existing topic " + existing + " ('.' and '_' map to the same metric name)");
            }
        }
        return TopicNames.hasCollisionChars(name)
                ? List.of("topic name " + name + " contains '.' or '_', which collide in metric names; avoid mixing them")
                : List.of();
    }

    private UUID newTopicId(RecordBuffer out) {
        for (int attempt = 0; attempt < TOPIC_ID_ATTEMPTS_MAX; attempt++) {
            UUID id = new UUID(random.nextLong(), random.nextLong());
            boolean zero = id.getMostSignificantBits() == 0 && id.getLeastSignificantBits() == 0;
            if (!zero && out.state().topic(id).isEmpty()) {
                return id;
            }
        }
        throw new IllegalStateException("no fresh topic id after " + TOPIC_ID_ATTEMPTS_MAX + " draws: broken generator");
    }

    /**
     * What {@code live} counts, for a refusal: "live brokers", or, when some running brokers are
     * decommissioned, "brokers in service; decommissioned: 3" (found probing: with 3 brokers running
     * and one decommissioned, RF 3 was refused as over "1..2 (live brokers)").
     */
    static String brokersInService(MetadataImage image, List<BrokerRegistration> live) {
        List<Integer> decommissioned = image.cluster().brokers().values().stream()
                .filter(b -> !b.fenced() && image.cluster().isDecommissioned(b.brokerId()))
                .map(BrokerRegistration::brokerId).sorted().toList();
        return decommissioned.isEmpty() ? "live brokers" : "brokers in service; decommissioned: "
                + decommissioned.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", "));
    }

    /** Brokers new replicas may go to: unfenced and not decommissioned (a drained broker gets nothing new). */
    static List<BrokerRegistration> liveBrokers(MetadataImage image) {
        return image.cluster().brokers().values().stream()
                .filter(b -> !b.fenced() && !image.cluster().isDecommissioned(b.brokerId())).toList();
    }

    private static void addPartitions(RecordBuffer out, UUID id, int first, List<List<Integer>> replicas) {
        for (int i = 0; i < replicas.size(); i++) {
            List<Integer> r = replicas.get(i);
            out.add(MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(id))
                    .setPartition(first + i).addAllReplicas(r).addAllIsr(r).setLeader(r.get(0)).setLeaderEpoch(0)
                    .setPartitionEpoch(0)).build());
        }
    }

    ControllerResult<UUID> deleteTopic(MetadataImage image, String name) {
        RecordBuffer out = new RecordBuffer(image);
        return out.result(deleteTopic(out, name));
    }

    /** Deletes each named topic on its own; an unknown (or already deleted) name is refused alone. */
    ControllerResult<List<TopicOutcome<UUID>>> deleteTopics(MetadataImage image, List<String> names) {
        checkRequestSize(names.size());
        RecordBuffer out = new RecordBuffer(image);
        List<TopicOutcome<UUID>> outcomes = new ArrayList<>();
        for (String name : names) {
            try {
                outcomes.add(TopicOutcome.success(name, deleteTopic(out, name)));
            } catch (ControllerException e) {
                outcomes.add(TopicOutcome.failure(name, e));
            }
        }
        return out.result(outcomes);
    }

    private static UUID deleteTopic(RecordBuffer out, String name) {
        TopicImage topic = out.state().topic(name).orElseThrow(() -> new ControllerException(
                ControllerException.Reason.UNKNOWN_TOPIC, "no topic named " + name));
        if (TopicNames.isInternal(name)) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "topic " + name
                    + " is internal (the consumer groups' committed offsets and membership) and cannot be deleted");
        }
        out.add(MetadataRecord.newBuilder().setTopicRemoval(TopicRemovalRecord.newBuilder()
                .setTopicId(ProtoIds.toProto(topic.id()))).build());
        return topic.id();
    }

    ControllerResult<List<List<Integer>>> createPartitions(MetadataImage image, String name, int totalCount) {
        TopicImage topic = requireTopic(image, name);
        if (TopicNames.isInternal(name)) {
            // Groups are placed on its partitions by hashing over the count: a change would move
            // them to partitions without their committed offsets.
            throw new ControllerException(ControllerException.Reason.INVALID_PARTITIONS, "the partition count of internal topic "
                    + name + " is fixed (" + topic.partitionCount() + "): consumer groups are placed on its partitions by "
                    + "their count, and a change would lose their committed offsets");
        }
        if (totalCount <= topic.partitionCount() || totalCount > config.partitionsPerTopicMax()) {
            throw new ControllerException(ControllerException.Reason.INVALID_PARTITIONS, "topic " + name + " has "
                    + topic.partitionCount() + " partitions; the new count " + totalCount + " must be larger and <= "
                    + config.partitionsPerTopicMax());
        }
        if (topic.partitionCount() == 0) {
            throw new IllegalStateException("topic " + name + " has no partitions: the image is inconsistent");
        }
        int replicationFactor = topic.partitions().get(0).replicas().size();
        List<BrokerRegistration> live = liveBrokers(image);
        if (replicationFactor > live.size()) {
            throw new ControllerException(ControllerException.Reason.INVALID_REPLICATION_FACTOR, "topic " + name
                    + " has replication factor " + replicationFactor + " but only " + live.size() + " "
                    + brokersInService(image, live));
        }
        RecordBuffer out = new RecordBuffer(image);
        ReplicaPlacer.Placement placed = placer.placement(image, live, totalCount - topic.partitionCount(),
                replicationFactor);
        List<List<Integer>> replicas = placed.replicas();
        checkReplicasPerBroker(placed);
        addPartitions(out, topic.id(), topic.partitionCount(), replicas);
        return out.result(replicas);
    }

    /**
     * Refuses a placement that would leave a broker that gets new replicas with more than
     * replicasPerBrokerMax (found probing: one request for 10,000 partitions of RF 3 on three nodes
     * had every node open 10,000 logs for minutes while the metadata quorum lost its leader seven
     * times and every other admin request timed out). The counts are the placer's load: every
     * replica in the image, then the new ones.
     */
    private void checkReplicasPerBroker(ReplicaPlacer.Placement placed) {
        java.util.SortedSet<Integer> receiving = new java.util.TreeSet<>();
        placed.replicas().forEach(receiving::addAll);
        for (int broker : receiving) {
            int count = placed.replicasPerBroker().get(broker);
            if (count > config.replicasPerBrokerMax()) {
                throw new ControllerException(ControllerException.Reason.INVALID_PARTITIONS, "this would place "
                        + count + " partition replicas on broker " + broker + ", over replicas.per.broker.max="
                        + config.replicasPerBrokerMax() + " (add brokers, delete topics, or raise the limit on the"
                        + " controllers)");
            }
        }
    }

    static TopicImage requireTopic(MetadataImage image, String name) {
        return image.topics().topic(name).orElseThrow(() -> new ControllerException(
                ControllerException.Reason.UNKNOWN_TOPIC, "no topic named " + name));
    }

    static List<PartitionRef> partitionsOf(TopicImage topic) {
        List<PartitionRef> refs = new ArrayList<>();
        for (int p : topic.partitions().keySet()) {
            refs.add(new PartitionRef(topic.id(), p));
        }
        return refs;
    }

    static PartitionRegistration current(RecordBuffer out, PartitionRef ref) {
        return out.state().partition(ref.topicId(), ref.partition()).orElseThrow(() -> new ControllerException(
                ControllerException.Reason.UNKNOWN_PARTITION, "unknown partition " + ref));
    }
}

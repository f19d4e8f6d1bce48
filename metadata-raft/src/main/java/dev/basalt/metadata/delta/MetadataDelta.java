package dev.basalt.metadata.delta;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ClusterImage;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.ConfigurationsImage;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProducerIdsImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.metadata.image.QuorumImage;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.metadata.image.TopicsImage;
import dev.basalt.proto.v1.BrokerDecommissionRecord;
import dev.basalt.proto.v1.BrokerFencedRecord;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.BrokerUnfencedRecord;
import dev.basalt.proto.v1.ConfigChangeRecord;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.MetadataUuid;
import dev.basalt.proto.v1.PartitionChangeRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.ProducerIdBlockRecord;
import dev.basalt.proto.v1.QuorumVoter;
import dev.basalt.proto.v1.TopicRecord;
import dev.basalt.proto.v1.TopicRemovalRecord;
import dev.basalt.proto.v1.VoterSetChangeRecord;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Accumulates metadata records on top of a base {@link MetadataImage}: {@link #replay} each record
 * in log order, then {@link #apply} to get the new image. Not thread-safe: one thread (the metadata
 * applier or the controller) owns a delta for its short life.
 *
 * <p>Copy-on-write: the delta copies a sub-image's map the first time a record touches it and
 * {@link #apply} returns the base's sub-image object itself for every sub-image no record touched;
 * inside {@code TopicsImage}, untouched {@code TopicImage}s are shared too.
 *
 * <p>Replay is strict (the rules are on each record in {@code metadata_records.proto}): a record that
 * does not fit the state reached so far throws {@link IllegalStateException} naming the record, and
 * leaves the delta unusable — it is never repaired silently.
 */
public final class MetadataDelta {
    private final MetadataImage base;
    private TreeMap<Integer, BrokerRegistration> brokers;
    private TreeSet<Integer> decommissioned;
    private TreeMap<UUID, TopicImage> topics;
    private final Map<UUID, TreeMap<Integer, PartitionRegistration>> partitions = new HashMap<>();
    private TreeMap<ConfigResource, TreeMap<String, String>> configs;
    private ProducerIdsImage producerIds;
    private QuorumImage quorum;
    private boolean broken;

    public MetadataDelta(MetadataImage base) {
        this.base = Objects.requireNonNull(base, "base");
    }

    public MetadataImage base() {
        return base;
    }

    /** Replays every record in order. */
    public void replayAll(List<MetadataRecord> records) {
        records.forEach(this::replay);
    }

    /** Applies one record to the delta; see the class javadoc for what an inconsistent record does. */
    public void replay(MetadataRecord record) {
        if (broken) {
            throw new IllegalStateException("delta already failed on an earlier record");
        }
        try {
            dispatch(record);
        } catch (IllegalArgumentException | IllegalStateException e) {
            broken = true;
            throw new IllegalStateException("inconsistent metadata record " + describe(record) + ": " + e.getMessage(),
                    e);
        }
    }

    private void dispatch(MetadataRecord record) {
        switch (record.getRecordCase()) {
            case BROKER_REGISTRATION -> replayRegistration(record.getBrokerRegistration());
            case BROKER_FENCED -> replayFencing(record.getBrokerFenced());
            case BROKER_UNFENCED -> replayUnfencing(record.getBrokerUnfenced());
            case TOPIC -> replayTopic(record.getTopic());
            case PARTITION -> replayPartition(record.getPartition());
            case PARTITION_CHANGE -> replayPartitionChange(record.getPartitionChange());
            case TOPIC_REMOVAL -> replayTopicRemoval(record.getTopicRemoval());
            case CONFIG_CHANGE -> replayConfigChange(record.getConfigChange());
            case PRODUCER_ID_BLOCK -> replayProducerIdBlock(record.getProducerIdBlock());
            case VOTER_SET_CHANGE -> replayVoterSetChange(record.getVoterSetChange());
            case BROKER_DECOMMISSION -> replayDecommission(record.getBrokerDecommission());
            case BROKER_OFFLINE_REPLICAS -> replayOfflineReplicas(record.getBrokerOfflineReplicas());
            default -> throw new IllegalStateException("record has no known kind");
        }
    }

    private static String describe(MetadataRecord record) {
        String text = record.toString().replace('\n', ' ').trim();
        return text.length() > 500 ? text.substring(0, 500) + "..." : text;
    }

    // ---- reads of the state reached so far (base + replayed records) ----

    public Optional<BrokerRegistration> broker(int brokerId) {
        return Optional.ofNullable(brokersForRead().get(brokerId));
    }

    /** The registered broker ids, ascending. */
    public java.util.SortedSet<Integer> brokerIds() {
        return new java.util.TreeSet<>(brokersForRead().keySet());
    }

    public Optional<TopicImage> topic(UUID topicId) {
        return Optional.ofNullable(topicsForRead().get(topicId));
    }

    /** The live topic named {@code name}, if any (its partitions as of the base image). */
    public Optional<TopicImage> topic(String name) {
        if (topics == null) {
            return base.topics().topic(name);
        }
        return topics.values().stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /** Names of the live topics. */
    public List<String> topicNames() {
        return topicsForRead().values().stream().map(TopicImage::name).toList();
    }

    /** Number of partitions of a live topic, including partitions replayed into this delta. */
    public int partitionCount(UUID topicId) {
        TreeMap<Integer, PartitionRegistration> touched = partitions.get(topicId);
        if (touched != null) {
            return touched.size();
        }
        return topic(topicId).map(TopicImage::partitionCount).orElse(0);
    }

    // Reads never copy: only a write marks a sub-image as touched, so apply() can reuse the rest.
    private Map<Integer, BrokerRegistration> brokersForRead() {
        return brokers != null ? brokers : base.cluster().brokers();
    }

    private Map<UUID, TopicImage> topicsForRead() {
        return topics != null ? topics : base.topics().topicsById();
    }

    private boolean topicNameExists(String name) {
        return topics != null ? topics.values().stream().anyMatch(t -> t.name().equals(name))
                : base.topics().topic(name).isPresent();
    }

    public Optional<PartitionRegistration> partition(UUID topicId, int partition) {
        TreeMap<Integer, PartitionRegistration> touched = partitions.get(topicId);
        if (touched != null) {
            return Optional.ofNullable(touched.get(partition));
        }
        return topic(topicId).flatMap(t -> t.partition(partition));
    }

    private TreeMap<Integer, BrokerRegistration> brokers() {
        if (brokers == null) {
            brokers = base.cluster().copyOfBrokers();
        }
        return brokers;
    }

    private TreeMap<UUID, TopicImage> topics() {
        if (topics == null) {
            topics = base.topics().copyOfTopics();
        }
        return topics;
    }

    private TreeMap<Integer, PartitionRegistration> partitionsForUpdate(UUID topicId) {
        TopicImage topic = topicsForRead().get(topicId);
        if (topic == null) {
            throw new IllegalStateException("unknown topic id " + topicId);
        }
        // Only this topic's partitions are copied; the topic map itself is copied in apply().
        return partitions.computeIfAbsent(topicId, id -> topic.copyOfPartitions());
    }

    private Map<ConfigResource, ? extends Map<String, String>> configsForRead() {
        return configs != null ? configs : base.configs().all();
    }

    private TreeMap<ConfigResource, TreeMap<String, String>> configs() {
        if (configs == null) {
            configs = base.configs().copyOfConfigs();
        }
        return configs;
    }

    // ---- one handler per record kind ----

    private void replayRegistration(BrokerRegistrationRecord r) {
        List<Endpoint> endpoints = r.getEndpointsList().stream()
                .map(e -> new Endpoint(e.getName(), e.getHost(), e.getPort())).toList();
        requireId(r.getIncarnationId(), "incarnation id");
        BrokerRegistration registration = new BrokerRegistration(r.getBrokerId(),
                ProtoIds.fromProto(r.getIncarnationId()), endpoints,
                r.getRack().isEmpty() ? Optional.empty() : Optional.of(r.getRack()), r.getFenced());
        brokers().put(r.getBrokerId(), registration);
    }

    private void replayFencing(BrokerFencedRecord r) {
        BrokerRegistration b = registeredIncarnation(r.getBrokerId(), r.getIncarnationId());
        if (b.fenced()) {
            throw new IllegalStateException("broker " + b.brokerId() + " is already fenced");
        }
        brokers().put(b.brokerId(), b.withFenced(true));
    }

    private void replayUnfencing(BrokerUnfencedRecord r) {
        BrokerRegistration b = registeredIncarnation(r.getBrokerId(), r.getIncarnationId());
        if (!b.fenced()) {
            throw new IllegalStateException("broker " + b.brokerId() + " is not fenced");
        }
        brokers().put(b.brokerId(), b.withFenced(false));
    }

    private void replayOfflineReplicas(dev.basalt.proto.v1.BrokerOfflineReplicasRecord r) {
        BrokerRegistration b = registeredIncarnation(r.getBrokerId(), r.getIncarnationId());
        if (r.getReplicasCount() > dev.basalt.metadata.image.ReplicaFault.PER_BROKER_MAX) {
            throw new IllegalArgumentException(r.getReplicasCount() + " offline replicas");
        }
        List<dev.basalt.metadata.image.ReplicaFault> faults = new java.util.ArrayList<>(r.getReplicasCount());
        for (dev.basalt.proto.v1.OfflineReplicaEntry e : r.getReplicasList()) {
            requireId(e.getTopicId(), "topic id");
            faults.add(new dev.basalt.metadata.image.ReplicaFault(ProtoIds.fromProto(e.getTopicId()), e.getPartition(), e.getReason()));
        }
        brokers().put(b.brokerId(), b.withOfflineReplicas(faults)); // the constructor checks order and distinctness
    }

    private BrokerRegistration registeredIncarnation(int brokerId, MetadataUuid incarnation) {
        BrokerRegistration b = brokersForRead().get(brokerId);
        if (b == null) {
            throw new IllegalStateException("broker " + brokerId + " is not registered");
        }
        if (!b.incarnationId().equals(ProtoIds.fromProto(incarnation))) {
            throw new IllegalStateException("broker " + brokerId + " incarnation is " + b.incarnationId()
                    + ", not " + ProtoIds.fromProto(incarnation));
        }
        return b;
    }

    private void replayDecommission(BrokerDecommissionRecord r) {
        if (!brokersForRead().containsKey(r.getBrokerId())) {
            throw new IllegalStateException("broker " + r.getBrokerId() + " is not registered");
        }
        TreeSet<Integer> ids = decommissioned();
        boolean changed = r.getDecommissioned() ? ids.add(r.getBrokerId()) : ids.remove(r.getBrokerId());
        if (!changed) {
            throw new IllegalStateException("broker " + r.getBrokerId() + " is already "
                    + (r.getDecommissioned() ? "decommissioned" : "in service"));
        }
    }

    private TreeSet<Integer> decommissioned() {
        if (decommissioned == null) {
            decommissioned = new TreeSet<>(base.cluster().decommissionedBrokerIds());
        }
        return decommissioned;
    }

    /** True when {@code brokerId} is decommissioned in the state reached so far. */
    public boolean isDecommissioned(int brokerId) {
        return decommissioned != null ? decommissioned.contains(brokerId) : base.cluster().isDecommissioned(brokerId);
    }

    private void replayTopic(TopicRecord r) {
        requireId(r.getTopicId(), "topic id");
        UUID id = ProtoIds.fromProto(r.getTopicId());
        String problem = TopicNames.validate(r.getName());
        if (problem != null) {
            throw new IllegalStateException(problem);
        }
        if (topicsForRead().containsKey(id)) {
            throw new IllegalStateException("topic id " + id + " already exists");
        }
        if (topicNameExists(r.getName())) {
            throw new IllegalStateException("a topic named " + r.getName() + " already exists");
        }
        topics().put(id, new TopicImage(id, r.getName(), new TreeMap<>()));
        partitions.put(id, new TreeMap<>());
        ConfigResource resource = ConfigResource.topic(r.getName());
        if (configsForRead().containsKey(resource)) {
            throw new IllegalStateException("configs of a dead topic named " + r.getName() + " survive");
        }
        if (r.getConfigsCount() > 0) {
            configs().put(resource, new TreeMap<>(r.getConfigsMap()));
        }
    }

    private void replayPartition(PartitionRecord r) {
        UUID id = ProtoIds.fromProto(r.getTopicId());
        TreeMap<Integer, PartitionRegistration> topicPartitions = partitionsForUpdate(id);
        if (r.getPartition() != topicPartitions.size()) {
            throw new IllegalStateException("partition " + r.getPartition() + " is not the next partition ("
                    + topicPartitions.size() + ")");
        }
        PartitionRegistration p = new PartitionRegistration(r.getReplicasList(), r.getIsrList(), r.getLeader(),
                r.getLeaderEpoch(), r.getPartitionEpoch(), r.getEligibleLeaderReplicasList(), r.getLeaderRecovering(),
                r.getAddingReplicasList(), r.getRemovingReplicasList(), r.getOriginalReplicasList());
        requireRegistered(p.replicas());
        topicPartitions.put(r.getPartition(), p);
    }

    private void replayPartitionChange(PartitionChangeRecord r) {
        UUID id = ProtoIds.fromProto(r.getTopicId());
        TreeMap<Integer, PartitionRegistration> topicPartitions = partitionsForUpdate(id);
        PartitionRegistration current = topicPartitions.get(r.getPartition());
        if (current == null) {
            throw new IllegalStateException("unknown partition " + r.getPartition() + " of topic " + id);
        }
        if (current.partitionEpoch() != r.getExpectedPartitionEpoch()) {
            throw new IllegalStateException("partition epoch is " + current.partitionEpoch() + ", not the expected "
                    + r.getExpectedPartitionEpoch());
        }
        List<Integer> replicas = r.hasReplicas() ? r.getReplicas().getBrokerIdsList() : current.replicas();
        List<Integer> isr = r.hasIsr() ? r.getIsr().getBrokerIdsList() : current.isr();
        int leader = r.hasLeader() ? r.getLeader() : current.leader();
        int leaderEpoch = r.hasLeader() ? Math.addExact(current.leaderEpoch(), 1) : current.leaderEpoch();
        List<Integer> elr = r.hasEligibleLeaderReplicas() ? r.getEligibleLeaderReplicas().getBrokerIdsList()
                : current.elr();
        boolean recovering = r.hasLeaderRecovering() ? r.getLeaderRecovering() : current.leaderRecovering();
        List<Integer> adding = r.hasAddingReplicas() ? r.getAddingReplicas().getBrokerIdsList()
                : current.addingReplicas();
        List<Integer> removing = r.hasRemovingReplicas() ? r.getRemovingReplicas().getBrokerIdsList()
                : current.removingReplicas();
        List<Integer> original = r.hasOriginalReplicas() ? r.getOriginalReplicas().getBrokerIdsList() : current.originalOrder();
        if (!original.isEmpty() && !PartitionRegistration.isOriginalOrderOf(original, replicas, adding, removing)) {
            original = List.of(); // the reassignment ended (or changed) by a record that predates the field
        }
        PartitionRegistration next = new PartitionRegistration(replicas, isr, leader, leaderEpoch,
                Math.addExact(current.partitionEpoch(), 1), elr, recovering, adding, removing, original);
        requireRegistered(next.replicas());
        topicPartitions.put(r.getPartition(), next);
    }

    private void replayTopicRemoval(TopicRemovalRecord r) {
        UUID id = ProtoIds.fromProto(r.getTopicId());
        TopicImage topic = topics().remove(id);
        if (topic == null) {
            throw new IllegalStateException("unknown topic id " + id);
        }
        partitions.remove(id);
        configs().remove(ConfigResource.topic(topic.name()));
    }

    private void replayConfigChange(ConfigChangeRecord r) {
        ConfigResource resource = switch (r.getResourceType()) {
            case CONFIG_RESOURCE_TYPE_TOPIC -> ConfigResource.topic(r.getResourceName());
            case CONFIG_RESOURCE_TYPE_BROKER -> new ConfigResource(ConfigResource.Type.BROKER, r.getResourceName());
            default -> throw new IllegalStateException("unknown resource type " + r.getResourceType());
        };
        if (r.getKey().isEmpty()) {
            throw new IllegalStateException("empty config key");
        }
        if (resource.type() == ConfigResource.Type.TOPIC && !topicNameExists(resource.name())) {
            throw new IllegalStateException("no live topic named " + resource.name());
        }
        TreeMap<String, String> keys = configs().computeIfAbsent(resource, x -> new TreeMap<>());
        if (r.hasValue()) {
            keys.put(r.getKey(), r.getValue());
        } else if (keys.remove(r.getKey()) == null) {
            throw new IllegalStateException("deletes key " + r.getKey() + " which is not set");
        }
        if (keys.isEmpty()) {
            configs().remove(resource);
        }
    }

    private void replayProducerIdBlock(ProducerIdBlockRecord r) {
        ProducerIdsImage current = producerIds != null ? producerIds : base.producerIds();
        if (r.getFirstProducerId() < current.nextProducerId()) {
            throw new IllegalStateException("block starts at " + r.getFirstProducerId() + ", below the next free id "
                    + current.nextProducerId());
        }
        requireRegistered(List.of(r.getOwnerBrokerId()));
        producerIds = new ProducerIdsImage(Optional.of(new ProducerIdsImage.ProducerIdBlock(r.getOwnerBrokerId(),
                r.getFirstProducerId(), r.getSize())));
    }

    private void replayVoterSetChange(VoterSetChangeRecord r) {
        TreeMap<Integer, QuorumImage.Voter> voters = new TreeMap<>();
        for (QuorumVoter v : r.getVotersList()) {
            if (voters.put(v.getNodeId(), new QuorumImage.Voter(v.getNodeId(), v.getHost(), v.getPort())) != null) {
                throw new IllegalStateException("voter " + v.getNodeId() + " listed twice");
            }
        }
        if (voters.isEmpty()) {
            throw new IllegalStateException("empty voter set");
        }
        quorum = new QuorumImage(voters);
    }

    private void requireRegistered(List<Integer> brokerIds) {
        for (int id : brokerIds) {
            if (!brokersForRead().containsKey(id)) {
                throw new IllegalStateException("broker " + id + " is not registered");
            }
        }
    }

    private static void requireId(MetadataUuid id, String what) {
        if (id.getMostSignificantBits() == 0 && id.getLeastSignificantBits() == 0) {
            throw new IllegalStateException(what + " is missing (all zero)");
        }
    }

    /** The new image: base plus every replayed record; untouched sub-images are the base's own. */
    public MetadataImage apply() {
        if (broken) {
            throw new IllegalStateException("delta failed on an earlier record; discard it");
        }
        ClusterImage cluster = brokers == null && decommissioned == null ? base.cluster()
                : new ClusterImage(new TreeMap<>(brokersForRead()), decommissioned == null
                        ? base.cluster().decommissionedBrokerIds() : new TreeSet<>(decommissioned));
        TopicsImage topicsImage = base.topics();
        if (topics != null || !partitions.isEmpty()) {
            TreeMap<UUID, TopicImage> next = new TreeMap<>(topicsForRead());
            partitions.forEach((id, parts) -> {
                TopicImage t = next.get(id);
                next.put(id, new TopicImage(id, t.name(), new TreeMap<>(parts)));
            });
            topicsImage = new TopicsImage(next);
        }
        ConfigurationsImage configsImage = configs == null ? base.configs() : new ConfigurationsImage(copy(configs));
        return new MetadataImage(cluster, topicsImage, configsImage,
                producerIds == null ? base.producerIds() : producerIds, quorum == null ? base.quorum() : quorum);
    }

    private static TreeMap<ConfigResource, TreeMap<String, String>> copy(
            TreeMap<ConfigResource, TreeMap<String, String>> configs) {
        TreeMap<ConfigResource, TreeMap<String, String>> copy = new TreeMap<>();
        configs.forEach((k, v) -> copy.put(k, new TreeMap<>(v)));
        return copy;
    }
}

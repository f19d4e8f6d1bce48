package dev.basalt.broker.server;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.config.TopicConfigs;
import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.ConfigEntry;
import dev.basalt.proto.v1.DescribeClusterRequest;
import dev.basalt.proto.v1.DescribeClusterResponse;
import dev.basalt.proto.v1.DescribeConfigsRequest;
import dev.basalt.proto.v1.DescribeConfigsResponse;
import dev.basalt.proto.v1.DescribeTopicsRequest;
import dev.basalt.proto.v1.DescribeTopicsResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.ListTopicsRequest;
import dev.basalt.proto.v1.ListTopicsResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The read-only half of the Admin service, served from the local metadata image: list and
 * describe topics, describe configs (topic overrides, broker defaults and their sources), describe
 * the cluster. Changes go to the controller ({@link dev.basalt.broker.controller.ControllerChannel}).
 *
 * <p>Thread-safety: stateless; runs on request threads.
 */
public final class AdminHandler {
    private final ReplicaManager replicas;
    private final NodeConfig config;
    private final IntSupplier controllerId;

    private final ReassignmentHandler reassignments;
    /** Whether this node has caught up on the metadata log since it started (MetadataPublisher#publishedCaughtUp). */
    private final BooleanSupplier caughtUpOnce;

    public AdminHandler(ReplicaManager replicas, NodeConfig config, IntSupplier controllerId, BooleanSupplier caughtUpOnce) {
        this.reassignments = new ReassignmentHandler(replicas);
        this.replicas = replicas;
        this.config = config;
        this.controllerId = controllerId;
        this.caughtUpOnce = caughtUpOnce;
    }

    /**
     * Null once this node has caught up on the metadata log since it started; before, why its
     * image cannot answer. A node that has just started holds an empty or old image: it would list
     * no topics, call existing ones unknown and show no brokers, each a final-looking answer. Every
     * read here answers BROKER_NOT_AVAILABLE until then, which clients take as "ask another broker"
     * (as Metadata does, {@link MetadataHandler}).
     */
    public String notCaughtUp() {
        return caughtUpOnce.getAsBoolean() ? null : "broker " + config.nodeId() + " has not caught up on the metadata log since it"
                + " started; retry, or ask another broker";
    }

    /** Reassignments in progress with the progress of this node's replicas ({@link ReassignmentHandler}). */
    public dev.basalt.proto.v1.ListPartitionReassignmentsResponse listPartitionReassignments(
            dev.basalt.proto.v1.ListPartitionReassignmentsRequest req) {
        return reassignments.list(req);
    }

    /** A balanced plan computed from this node's image ({@link ReassignmentHandler}). */
    public dev.basalt.proto.v1.GenerateReassignmentPlanResponse generateReassignmentPlan(
            dev.basalt.proto.v1.GenerateReassignmentPlanRequest req) {
        return reassignments.generate(req);
    }

    public ListTopicsResponse listTopics(ListTopicsRequest req) {
        String waiting = notCaughtUp();
        if (waiting != null) {
            return ListTopicsResponse.newBuilder().setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE).setErrorMessage(waiting).build();
        }
        ListTopicsResponse.Builder b = ListTopicsResponse.newBuilder();
        for (TopicImage t : replicas.image().topics().topicsByName().values()) {
            boolean internal = dev.basalt.common.TopicNames.isInternal(t.name());
            if (internal && !req.getIncludeInternal()) {
                continue;
            }
            b.addTopicsBuilder().setName(t.name()).setTopicId(t.id().toString()).setIsInternal(internal)
                    .setPartitionCount(t.partitionCount());
        }
        return b.build();
    }

    public DescribeTopicsResponse describeTopics(DescribeTopicsRequest req) {
        String waiting = notCaughtUp();
        if (waiting != null) {
            return DescribeTopicsResponse.newBuilder().setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE).setErrorMessage(waiting).build();
        }
        MetadataImage image = replicas.image();
        DescribeTopicsResponse.Builder b = DescribeTopicsResponse.newBuilder();
        List<String> names = req.getNamesCount() == 0 ? new ArrayList<>(image.topics().topicsByName().keySet()) : req.getNamesList();
        for (String name : names) {
            DescribeTopicsResponse.TopicDescription.Builder tb = b.addTopicsBuilder().setName(name);
            Optional<TopicImage> topic = image.topics().topic(name);
            if (topic.isEmpty()) {
                tb.setErrorCode(ErrorCode.UNKNOWN_TOPIC).setErrorMessage("unknown topic '" + name + "'");
                continue;
            }
            tb.setTopicId(topic.get().id().toString()).setIsInternal(dev.basalt.common.TopicNames.isInternal(name));
            int minIsr = Integer.parseInt(image.configs().configs(dev.basalt.metadata.image.ConfigResource.topic(name))
                    .getOrDefault("min.insync.replicas", config.topicDefaults().getOrDefault("min.insync.replicas", "1")));
            for (Map.Entry<Integer, PartitionRegistration> e : topic.get().partitions().entrySet()) {
                PartitionRegistration p = e.getValue();
                var pb = tb.addPartitionsBuilder().setPartition(e.getKey()).setLeaderId(p.leader())
                        .setLeaderEpoch(p.leaderEpoch()).addAllReplicas(p.replicas()).addAllIsr(p.isr())
                        .setPartitionEpoch(p.partitionEpoch()).setMinInsyncReplicas(minIsr).addAllEligibleLeaderReplicas(p.elr())
                        .addAllAddingReplicas(p.addingReplicas()).addAllRemovingReplicas(p.removingReplicas());
                pb.addAllOfflineReplicas(MetadataHandler.offlineReplicas(image, topic.get().id(), e.getKey(), p));
            }
            // DescribeTopics carries the topic's own overrides only (admin.proto); DescribeConfigs has the rest.
            tb.addAllConfigs(topicConfigEntries(image, name, List.of(), false).stream()
                    .filter(e -> e.getSource() == ConfigEntry.Source.TOPIC_CONFIG).toList());
        }
        return b.build();
    }

    public DescribeConfigsResponse describeConfigs(DescribeConfigsRequest req) {
        String waiting = notCaughtUp();
        if (waiting != null) {
            return DescribeConfigsResponse.newBuilder().setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE).setErrorMessage(waiting).build();
        }
        MetadataImage image = replicas.image();
        DescribeConfigsResponse.Builder b = DescribeConfigsResponse.newBuilder();
        for (DescribeConfigsRequest.Query q : req.getResourcesList()) {
            var rb = b.addResourcesBuilder().setResource(q.getResource());
            switch (q.getResource().getType()) {
                case TOPIC -> {
                    if (image.topics().topic(q.getResource().getName()).isEmpty()) {
                        rb.setErrorCode(ErrorCode.UNKNOWN_TOPIC).setErrorMessage("unknown topic '" + q.getResource().getName() + "'");
                    } else {
                        rb.addAllEntries(topicConfigEntries(image, q.getResource().getName(), q.getNamesList(),
                                req.getIncludeDocumentation()));
                    }
                }
                case BROKER -> {
                    String name = q.getResource().getName();
                    if (!name.isEmpty() && !name.matches("[0-9]{1,9}")) {
                        // answered as this node's keys under the name asked, it read as that broker's
                        rb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("a broker resource is named by a broker id"
                                + " (or \"\" for the answering node and the cluster-wide keys), not '" + name + "'");
                    } else if (name.matches("[0-9]{1,9}") && Integer.parseInt(name) != config.nodeId()) {
                        // a node's static keys are known only to that node: answering with this
                        // node's would describe the wrong broker (clients send to the broker named)
                        rb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("this is broker " + config.nodeId()
                                + "; broker " + name + "'s configs are described by broker " + name + " itself");
                    } else {
                        rb.addAllEntries(brokerConfigEntries(image, name, q.getNamesList(), req.getIncludeDocumentation()));
                    }
                }
                default -> rb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("resource type must be TOPIC or BROKER");
            }
        }
        return b.build();
    }

    private List<ConfigEntry> topicConfigEntries(MetadataImage image, String topic, List<String> only, boolean docs) {
        SortedMap<String, String> overrides = image.configs().configs(ConfigResource.topic(topic));
        Map<String, String> defaults = new java.util.HashMap<>(dev.basalt.log.LogConfig.DEFAULT.toMap());
        defaults.putAll(config.topicDefaults());
        List<ConfigEntry> out = new ArrayList<>();
        for (Map.Entry<String, String[]> k : TopicConfigs.KEYS.entrySet()) {
            if (!only.isEmpty() && !only.contains(k.getKey())) {
                continue;
            }
            ConfigEntry.Builder e = ConfigEntry.newBuilder().setName(k.getKey()).setType(ConfigEntry.Type.valueOf(k.getValue()[0]));
            if (overrides.containsKey(k.getKey())) {
                e.setValue(overrides.get(k.getKey())).setSource(ConfigEntry.Source.TOPIC_CONFIG);
            } else if (defaults.containsKey(k.getKey())) {
                // From the node's file only if the operator set the node key that defaults it.
                e.setValue(defaults.get(k.getKey())).setSource(setByOperator(k.getKey())
                        ? ConfigEntry.Source.STATIC_BROKER_CONFIG : ConfigEntry.Source.DEFAULT_CONFIG);
            } else {
                e.setSource(ConfigEntry.Source.DEFAULT_CONFIG);
            }
            if (docs) {
                e.setDocumentation(k.getValue()[1]);
            }
            out.add(e.build());
        }
        return out;
    }

    /** Whether a node key that defaults topic key {@code topicKey} was set by the operator. */
    private boolean setByOperator(String topicKey) {
        for (NodeConfig.Key k : NodeConfig.KEYS.values()) {
            if (topicKey.equals(k.topicConfigName()) && config.isSet(k.name())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The node's keys (read-only: from its file, or the built-in default), secrets marked sensitive
     * without their value, then the cluster-wide dynamic keys (AlterConfigs on the broker resource).
     */
    private List<ConfigEntry> brokerConfigEntries(MetadataImage image, String brokerName, List<String> only, boolean docs) {
        List<ConfigEntry> out = new ArrayList<>();
        for (NodeConfig.Key k : NodeConfig.KEYS.values()) {
            if (!only.isEmpty() && !only.contains(k.name())) {
                continue;
            }
            boolean sensitive = NodeConfig.SENSITIVE_KEYS.contains(k.name());
            ConfigEntry.Builder e = ConfigEntry.newBuilder().setName(k.name()).setReadOnly(true).setSensitive(sensitive)
                    .setType(sensitive ? ConfigEntry.Type.PASSWORD : ConfigEntry.Type.STRING)
                    .setSource(config.isSet(k.name()) ? ConfigEntry.Source.STATIC_BROKER_CONFIG : ConfigEntry.Source.DEFAULT_CONFIG);
            if (!sensitive) {
                e.setValue(config.get(k.name()));
            }
            if (docs) {
                e.setDocumentation(k.doc());
            }
            out.add(e.build());
        }
        String throttle = dev.basalt.broker.replica.fetcher.ReassignmentThrottle.CONFIG_KEY;
        if (only.isEmpty() || only.contains(throttle)) {
            // A per-broker value exists only under a broker id (other names describe this node's keys, as before).
            String own = !brokerName.matches("[0-9]{1,9}") ? null
                    : image.configs().configs(new ConfigResource(ConfigResource.Type.BROKER, brokerName)).get(throttle);
            String clusterWide = image.configs().configs(new ConfigResource(ConfigResource.Type.BROKER, "")).get(throttle);
            ConfigEntry.Builder e = ConfigEntry.newBuilder().setName(throttle).setType(ConfigEntry.Type.LONG);
            if (own != null) {
                e.setValue(own).setSource(ConfigEntry.Source.DYNAMIC_BROKER_CONFIG);
            } else if (clusterWide != null) {
                e.setValue(clusterWide).setSource(ConfigEntry.Source.DYNAMIC_DEFAULT_BROKER_CONFIG);
            } else {
                e.setValue("0").setSource(ConfigEntry.Source.DEFAULT_CONFIG);
            }
            if (docs) {
                e.setDocumentation("Bytes per second of catch-up traffic for reassigned replicas; 0 = unlimited"
                        + " (AlterConfigs on broker resource \"\" for every broker or \"<id>\" for one).");
            }
            out.add(e.build());
        }
        return out;
    }

    /** This broker's own storage status (see admin.proto DescribeStorage); set once the log engine runs. */
    private volatile java.util.function.Supplier<dev.basalt.proto.v1.DescribeStorageResponse> storage = () ->
            dev.basalt.proto.v1.DescribeStorageResponse.newBuilder().setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE)
                    .setErrorMessage("storage not open yet").build();

    public void storage(java.util.function.Supplier<dev.basalt.proto.v1.DescribeStorageResponse> status) {
        this.storage = java.util.Objects.requireNonNull(status);
    }

    public dev.basalt.proto.v1.DescribeStorageResponse describeStorage(dev.basalt.proto.v1.DescribeStorageRequest req) {
        return storage.get();
    }

    public DescribeClusterResponse describeCluster(DescribeClusterRequest req) {
        String waiting = notCaughtUp();
        if (waiting != null) {
            return DescribeClusterResponse.newBuilder().setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE).setErrorMessage(waiting).setClusterId(config.get("cluster.id")).setControllerId(-1).build();
        }
        MetadataImage image = replicas.image();
        DescribeClusterResponse.Builder b = DescribeClusterResponse.newBuilder().setClusterId(config.get("cluster.id"))
                .setControllerId(controllerId.getAsInt());
        for (BrokerRegistration broker : image.cluster().brokers().values()) {
            if (broker.fenced() && !req.getIncludeFencedBrokers()) {
                continue;
            }
            var node = MetadataHandler.brokerNode(broker);
            if (node.isEmpty()) {
                continue;
            }
            var bb = b.addBrokersBuilder().setNode(node.get()).setFenced(broker.fenced()).addRoles("broker")
                    .setDecommissioned(image.cluster().isDecommissioned(broker.brokerId()));
            if (image.quorum().voters().containsKey(broker.brokerId()) || config.voters().containsKey(broker.brokerId())) {
                bb.addRoles("controller");
            }
            for (dev.basalt.metadata.image.ReplicaFault f : broker.offlineReplicas()) {
                // Named by topic; a replica of a topic deleted since it was reported is left out.
                image.topics().topic(f.topicId()).ifPresent(t -> bb.addOfflineReplicas(
                        DescribeClusterResponse.OfflineReplica.newBuilder().setTopic(t.name()).setPartition(f.partition())
                                .setReason(f.reason())));
            }
        }
        return b.build();
    }
}

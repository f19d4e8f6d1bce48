package dev.basalt.broker.server;

import dev.basalt.broker.replica.ReplicaManager;
import dev.basalt.log.TopicPartition;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.BrokerNode;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataRequest;
import dev.basalt.proto.v1.MetadataResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * Serves Metadata from the broker's current metadata image: live (unfenced) brokers with their
 * client endpoints, the active controller, and the requested topics with each partition's leader,
 * leader epoch, replicas and ISR. Never blocks: the image is an immutable snapshot.
 *
 * <p>Thread-safety: stateless; runs on request threads.
 */
public final class MetadataHandler {
    /** The listener name brokers register for clients. */
    public static final String CLIENT_LISTENER = "PLAINTEXT";

    private final ReplicaManager replicas;
    private final String clusterId;
    private final IntSupplier controllerId;

    /** Whether this node has caught up on the metadata log since it started (see MetadataPublisher#publishedCaughtUp). */
    private final java.util.function.BooleanSupplier caughtUpOnce;

    public MetadataHandler(ReplicaManager replicas, String clusterId, IntSupplier controllerId) {
        this(replicas, clusterId, controllerId, () -> true);
    }

    public MetadataHandler(ReplicaManager replicas, String clusterId, IntSupplier controllerId,
                           java.util.function.BooleanSupplier caughtUpOnce) {
        this.replicas = replicas;
        this.clusterId = clusterId;
        this.controllerId = controllerId;
        this.caughtUpOnce = caughtUpOnce;
    }

    public MetadataResponse handle(MetadataRequest req) {
        if (!caughtUpOnce.getAsBoolean()) {
            // A node that has just started holds an old or empty image: it would answer existing
            // topics UNKNOWN_TOPIC, which clients take as final (found probing: a running consumer
            // exited with "topic does not exist" when a broker in its bootstrap list restarted).
            // Retriable: the client asks another address. Once caught up, the image is served even
            // when the quorum is unreachable later (stale, as the data plane keeps working).
            return MetadataResponse.newBuilder().setErrorCode(ErrorCode.BROKER_NOT_AVAILABLE).setClusterId(clusterId)
                    .setControllerId(-1).setErrorMessage("this broker has not caught up on the metadata log since it started;"
                            + " ask another broker").build();
        }
        ReplicaManager.ImageAt at = replicas.imageAt();
        MetadataImage image = at.image();
        MetadataResponse.Builder b = MetadataResponse.newBuilder().setClusterId(clusterId).setControllerId(controllerId.getAsInt())
                .setMetadataOffset(Math.max(0, at.appliedIndex()));
        for (BrokerRegistration broker : image.cluster().brokers().values()) {
            if (!broker.fenced()) {
                brokerNode(broker).ifPresent(b::addBrokers);
            }
        }
        List<String> names = new ArrayList<>();
        if (req.getAllTopics()) {
            for (String name : image.topics().topicsByName().keySet()) {
                if (req.getIncludeInternal() || !dev.basalt.common.TopicNames.isInternal(name)) {
                    names.add(name);
                }
            }
        } else {
            names.addAll(req.getTopicsList());
        }
        for (String name : names) {
            b.addTopics(describe(image, name, replicas));
        }
        return b.build();
    }

    static Optional<BrokerNode> brokerNode(BrokerRegistration broker) {
        for (Endpoint e : broker.endpoints()) {
            if (e.name().equalsIgnoreCase(CLIENT_LISTENER)) {
                return Optional.of(BrokerNode.newBuilder().setId(broker.brokerId()).setHost(e.host()).setPort(e.port())
                        .setRack(broker.rack().orElse("")).build());
            }
        }
        return Optional.empty();
    }

    /**
     * Replicas on brokers that are fenced or unregistered, or that their broker reported it cannot
     * serve (a storage fault): the partition cannot use them now.
     */
    static List<Integer> offlineReplicas(MetadataImage image, java.util.UUID topicId, int partition, PartitionRegistration p) {
        return p.replicas().stream().filter(r -> !image.cluster().isUnfenced(r)
                || image.cluster().broker(r).map(b -> b.isOffline(topicId, partition)).orElse(true)).toList();
    }

    private static MetadataResponse.TopicMetadata describe(MetadataImage image, String name, ReplicaManager replicas) {
        MetadataResponse.TopicMetadata.Builder tb = MetadataResponse.TopicMetadata.newBuilder().setName(name);
        try {
            new TopicPartition(name, 0);
        } catch (IllegalArgumentException e) {
            return tb.setErrorCode(ErrorCode.INVALID_TOPIC).setErrorMessage(e.getMessage()).build();
        }
        Optional<TopicImage> topic = image.topics().topic(name);
        if (topic.isEmpty()) {
            return tb.setErrorCode(ErrorCode.UNKNOWN_TOPIC).setErrorMessage("unknown topic '" + name + "'").build();
        }
        tb.setTopicId(topic.get().id().toString()).setIsInternal(dev.basalt.common.TopicNames.isInternal(name))
                .setMaxMessageBytes(replicas.logConfig(image.configs().configs(ConfigResource.topic(name))).maxMessageBytes());
        for (Map.Entry<Integer, PartitionRegistration> e : topic.get().partitions().entrySet()) {
            PartitionRegistration p = e.getValue();
            MetadataResponse.PartitionMetadata.Builder pb = tb.addPartitionsBuilder().setPartition(e.getKey())
                    .setLeaderId(p.leader()).setLeaderEpoch(p.leaderEpoch()).addAllReplicas(p.replicas()).addAllIsr(p.isr());
            pb.addAllOfflineReplicas(offlineReplicas(image, topic.get().id(), e.getKey(), p));
            if (!p.hasLeader()) {
                pb.setErrorCode(ErrorCode.NOT_LEADER);
            }
        }
        return tb.build();
    }
}

package dev.basalt.broker.replica.sim;

import dev.basalt.metadata.controller.AlterPartitionRequest;
import dev.basalt.metadata.controller.BrokerRegistrationRequest;
import dev.basalt.metadata.controller.BrokerStatus;
import dev.basalt.metadata.controller.ConfigValidator;
import dev.basalt.metadata.controller.ControllerConfig;
import dev.basalt.metadata.controller.ControllerException;
import dev.basalt.metadata.controller.ControllerResult;
import dev.basalt.metadata.controller.CreateTopicRequest;
import dev.basalt.metadata.controller.CreateTopicResponse;
import dev.basalt.metadata.controller.HeartbeatRequest;
import dev.basalt.metadata.controller.MetadataController;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The one simulated active controller: the real, pure {@link MetadataController} deciding, its
 * records applied through {@link MetadataDelta} to the {@link MetadataImage}. The metadata log is
 * modelled as committed the instant a decision is made (the Raft quorum is simulated elsewhere);
 * brokers and producers learn the image only by polling it over the simulated network, so they act
 * on stale metadata as real brokers do. Not thread-safe; one per run.
 */
final class SimController {
    static final int NODE_ID = 0;
    static final String TOPIC = "sim";

    /**
     * The answer to a broker request: the response or the controller's typed refusal, with the
     * metadata offset after the decision (a broker is caught up once its image reaches it).
     */
    record Reply<R>(R response, ControllerException.Reason error, long offset) {
        boolean ok() {
            return error == null;
        }
    }

    private final MetadataController controller;
    private final ReplicationInvariants invariants;
    private final SimStats stats;
    private final BiConsumer<MetadataImage, MetadataImage> onCommit;
    private MetadataImage image = MetadataImage.EMPTY;
    private long offset;
    private UUID topicId;

    SimController(long sessionTimeoutMs, SplittableRandom random, ReplicationInvariants invariants, SimStats stats,
                  BiConsumer<MetadataImage, MetadataImage> onCommit) {
        this.controller = new MetadataController(new ControllerConfig(sessionTimeoutMs, 100, 1_000, 10),
                ConfigValidator.ACCEPT_ALL, random);
        this.invariants = invariants;
        this.stats = stats;
        this.onCommit = onCommit;
    }

    MetadataImage image() {
        return image;
    }

    long offset() {
        return offset;
    }

    UUID topicId() {
        return topicId;
    }

    /** The current leader epoch of a partition (-1 if unknown), for statistics. */
    int leaderEpoch(UUID topic, int partition) {
        return image.topics().topic(topic).flatMap(t -> t.partition(partition)).map(PartitionRegistration::leaderEpoch)
                .orElse(-1);
    }

    Reply<BrokerStatus> register(BrokerRegistrationRequest request, long nowMs) {
        return decide(() -> controller.registerBroker(image, request, nowMs));
    }

    Reply<BrokerStatus> heartbeat(HeartbeatRequest request, long nowMs) {
        return decide(() -> controller.heartbeat(image, request, nowMs));
    }

    Reply<PartitionRegistration> alterPartition(AlterPartitionRequest request) {
        int isrBefore = image.topics().topic(request.topicId()).flatMap(t -> t.partition(request.partition()))
                .map(p -> p.isr().size()).orElse(0);
        Reply<PartitionRegistration> r = decide(() -> controller.alterPartition(image, request));
        if (!r.ok()) {
            stats.alterPartitionRefused++;
        } else if (r.response().isr().size() < isrBefore) {
            stats.isrShrinksCommitted++;
        } else if (r.response().isr().size() > isrBefore) {
            stats.isrExpansionsCommitted++;
        }
        return r;
    }

    /** The controller's periodic session check: fences expired brokers, re-electing their partitions. */
    void fenceExpiredBrokers(long nowMs) {
        Reply<List<Integer>> r = decide(() -> controller.fenceExpiredBrokers(image, nowMs));
        stats.sessionFences += r.ok() ? r.response().size() : 0;
    }

    void electPreferredLeaders() {
        decide(() -> controller.electPreferredLeaders(image));
    }

    /** Creates the simulated topic once enough brokers are live; false while they are not. */
    boolean maybeCreateTopic(int partitions, int replicationFactor, int minInsyncReplicas) {
        if (topicId != null) {
            return true;
        }
        Reply<CreateTopicResponse> r = decide(() -> controller.createTopic(image, new CreateTopicRequest(TOPIC,
                partitions, replicationFactor, Map.of("min.insync.replicas", Integer.toString(minInsyncReplicas)))));
        if (r.ok()) {
            topicId = r.response().topicId();
        }
        return r.ok();
    }

    private <R> Reply<R> decide(Supplier<ControllerResult<R>> decision) {
        ControllerResult<R> result;
        try {
            result = decision.get();
        } catch (ControllerException e) {
            return new Reply<>(null, e.reason(), offset);
        }
        commit(result.records());
        return new Reply<>(result.response(), null, offset);
    }

    private void commit(List<MetadataRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        MetadataDelta delta = new MetadataDelta(image);
        delta.replayAll(records);
        MetadataImage before = image;
        image = delta.apply();
        offset += records.size();
        invariants.checkControllerImage(image);
        onCommit.accept(before, image);
    }
}

package dev.basalt.broker.controller;

import dev.basalt.broker.config.TopicConfigs;
import dev.basalt.log.InvalidConfigException;
import dev.basalt.metadata.MetadataStateMachine;
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
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.AlterConfigsRequest;
import dev.basalt.proto.v1.AlterConfigsResponse;
import dev.basalt.proto.v1.CreatePartitionsRequest;
import dev.basalt.proto.v1.CreatePartitionsResponse;
import dev.basalt.proto.v1.CreateTopicsRequest;
import dev.basalt.proto.v1.CreateTopicsResponse;
import dev.basalt.proto.v1.DeleteTopicsRequest;
import dev.basalt.proto.v1.DeleteTopicsResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.MetadataRecordBatch;
import java.time.Clock;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active controller's event loop: runs the pure {@link MetadataController} decisions on one
 * thread against the latest applied image, turns each decision into one metadata entry proposed to
 * the Raft quorum, and answers only after that entry is committed and applied locally (so success
 * means "the cluster knows"). Requests are decided one at a time, each against the image that
 * includes every earlier decision.
 *
 * <p>When this node is not the active controller every change answers NOT_CONTROLLER (nothing was
 * decided). Broker sessions are soft state kept by the decision logic; a new {@link MetadataController}
 * is built whenever this node becomes leader, as Raft failover requires.
 *
 * <p>Thread-safety: public methods may be called from any thread; all work runs on the single
 * controller thread owned by {@code executor}.
 */
public final class QuorumController implements ControllerChannel {
    private static final Logger log = LoggerFactory.getLogger(QuorumController.class);

    private final MetadataQuorum quorum;
    private final MetadataStateMachine stateMachine;
    private final ScheduledExecutorService executor;
    private final Clock clock;
    private final RandomGenerator random;
    private final ControllerConfig controllerConfig;
    private final ConfigValidator validator;
    private final int defaultPartitions;
    private final int defaultReplicationFactor;
    private final long commitTimeoutMsMax;
    private MetadataController decisions;
    private boolean wasActive;

    public QuorumController(MetadataQuorum quorum, MetadataStateMachine stateMachine, ScheduledExecutorService executor, Clock clock,
                            RandomGenerator random, ControllerConfig controllerConfig, Map<String, String> topicDefaults,
                            int defaultPartitions, int defaultReplicationFactor, long commitTimeoutMsMax) {
        this.quorum = quorum;
        this.stateMachine = stateMachine;
        this.executor = executor;
        this.clock = clock;
        this.random = random;
        this.controllerConfig = controllerConfig;
        this.defaultPartitions = defaultPartitions;
        this.defaultReplicationFactor = defaultReplicationFactor;
        this.commitTimeoutMsMax = commitTimeoutMsMax;
        Map<String, String> defaults = Map.copyOf(topicDefaults);
        this.validator = (resource, key, value) -> {
            if (resource.type() != ConfigResource.Type.TOPIC) {
                return Optional.of("broker configurations are static (set them in the node's properties file)");
            }
            try {
                TopicConfigs.validate(Map.of(key, value), defaults);
                return Optional.empty();
            } catch (InvalidConfigException e) {
                return Optional.of(e.getMessage());
            }
        };
    }

    // ------------------------------------------------------------------ decisions, on the controller thread

    /** The decision logic for this leadership term (fresh after every failover: sessions are soft state). */
    private MetadataController decisions() {
        boolean active = quorum.isActiveController();
        if (!active) {
            wasActive = false;
            throw new MetadataQuorum.NotControllerException("node is not the active controller", quorum.leaderId());
        }
        if (!wasActive || decisions == null) {
            decisions = new MetadataController(controllerConfig, validator, random);
            wasActive = true;
        }
        return decisions;
    }

    /** Proposes a decision's records as one entry and waits until it is applied here. */
    private void commit(List<MetadataRecord> records, long timeoutMs) throws TimeoutException, ExecutionException {
        if (records.isEmpty()) {
            return;
        }
        byte[] entry = MetadataRecordBatch.newBuilder().addAllRecords(records).build().toByteArray();
        try {
            quorum.propose(entry).get(Math.min(Math.max(1, timeoutMs), commitTimeoutMsMax), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ExecutionException(e);
        }
    }

    /** Outcome of one item of an admin request: an error code and message (NONE = success). */
    private record Outcome(ErrorCode code, String message) {
        static final Outcome OK = new Outcome(ErrorCode.NONE, "");
    }

    private interface Decision {
        List<MetadataRecord> decide(MetadataController c, MetadataImage image);
    }

    /** Decides and commits one item; maps every failure to an error code. Runs on the controller thread. */
    private Outcome decideAndCommit(Decision decision, boolean validateOnly, long timeoutMs) {
        try {
            List<MetadataRecord> records = decision.decide(decisions(), stateMachine.image());
            if (!validateOnly) {
                commit(records, timeoutMs);
            }
            return Outcome.OK;
        } catch (ControllerException e) {
            return new Outcome(errorCode(e.reason()), e.getMessage());
        } catch (MetadataQuorum.NotControllerException e) {
            return new Outcome(ErrorCode.NOT_CONTROLLER, e.getMessage() + (e.leaderHint() >= 0 ? " (leader " + e.leaderHint() + ")" : ""));
        } catch (TimeoutException e) {
            return new Outcome(ErrorCode.REQUEST_TIMED_OUT, "not committed within " + timeoutMs + " ms; it may still be");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof MetadataQuorum.NotControllerException nce) {
                return new Outcome(ErrorCode.NOT_CONTROLLER, nce.getMessage());
            }
            log.warn("Metadata change failed with an unknown outcome", cause);
            return new Outcome(ErrorCode.REQUEST_TIMED_OUT, "outcome unknown: " + cause);
        }
    }

    static ErrorCode errorCode(ControllerException.Reason reason) {
        return switch (reason) {
            case INVALID_TOPIC -> ErrorCode.INVALID_TOPIC;
            case TOPIC_ALREADY_EXISTS -> ErrorCode.TOPIC_ALREADY_EXISTS;
            case UNKNOWN_TOPIC -> ErrorCode.UNKNOWN_TOPIC;
            case INVALID_PARTITIONS -> ErrorCode.INVALID_PARTITIONS;
            case INVALID_REPLICATION_FACTOR -> ErrorCode.INVALID_REPLICATION_FACTOR;
            case INVALID_CONFIG -> ErrorCode.INVALID_CONFIG;
            case NOT_LEADER -> ErrorCode.NOT_LEADER;
            case FENCED_LEADER_EPOCH -> ErrorCode.FENCED_LEADER_EPOCH;
            case UNKNOWN_PARTITION -> ErrorCode.INVALID_PARTITION;
            case INVALID_REQUEST, UNKNOWN_BROKER, STALE_BROKER_INCARNATION, DUPLICATE_BROKER_REGISTRATION, BROKER_FENCED,
                    STALE_PARTITION_EPOCH, INELIGIBLE_REPLICA -> ErrorCode.INVALID_REQUEST;
        };
    }

    private <T> CompletableFuture<T> onControllerThread(java.util.function.Supplier<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    f.complete(work.get());
                } catch (RuntimeException e) {
                    f.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            f.completeExceptionally(new MetadataQuorum.NotControllerException("controller is shutting down", -1));
        }
        return f;
    }

    // ------------------------------------------------------------------ the admin API

    private static final String TIMEOUT_REQUIRED = "timeout_ms must be > 0";

    @Override
    public CompletableFuture<CreateTopicsResponse> createTopics(CreateTopicsRequest req) {
        if (req.getTimeoutMs() <= 0) {
            return CompletableFuture.completedFuture(CreateTopicsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        return onControllerThread(() -> {
            CreateTopicsResponse.Builder b = CreateTopicsResponse.newBuilder();
            Set<String> seen = new HashSet<>();
            for (CreateTopicsRequest.NewTopic t : req.getTopicsList()) {
                int partitions = t.getPartitions() <= 0 ? defaultPartitions : t.getPartitions();
                int rf = t.getReplicationFactor() <= 0 ? defaultReplicationFactor : t.getReplicationFactor();
                var rb = b.addTopicsBuilder().setName(t.getName()).setPartitions(partitions).setReplicationFactor(rf);
                if (!seen.add(t.getName())) {
                    rb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage("topic '" + t.getName() + "' appears twice");
                    continue;
                }
                CreateTopicResponse[] created = new CreateTopicResponse[1];
                Outcome o = decideAndCommit((c, image) -> {
                    ControllerResult<CreateTopicResponse> r = c.createTopic(image,
                            new CreateTopicRequest(t.getName(), partitions, rf, t.getConfigsMap()));
                    created[0] = r.response();
                    return r.records();
                }, req.getValidateOnly(), req.getTimeoutMs());
                rb.setErrorCode(o.code()).setErrorMessage(o.message());
                if (created[0] != null && o.code() == ErrorCode.NONE) {
                    rb.setTopicId(created[0].topicId().toString());
                }
            }
            return b.build();
        });
    }

    @Override
    public CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest req) {
        if (req.getTimeoutMs() <= 0) {
            return CompletableFuture.completedFuture(DeleteTopicsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        return onControllerThread(() -> {
            DeleteTopicsResponse.Builder b = DeleteTopicsResponse.newBuilder();
            for (String name : req.getNamesList()) {
                Outcome o = decideAndCommit((c, image) -> c.deleteTopic(image, name).records(), false, req.getTimeoutMs());
                b.addTopicsBuilder().setName(name).setErrorCode(o.code()).setErrorMessage(o.message());
            }
            for (String id : req.getTopicIdsList()) {
                Outcome o = decideAndCommit((c, image) -> {
                    java.util.UUID uuid;
                    try {
                        uuid = java.util.UUID.fromString(id);
                    } catch (IllegalArgumentException e) {
                        throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "'" + id + "' is not a topic id");
                    }
                    String name = image.topics().topic(uuid).map(t -> t.name()).orElseThrow(() ->
                            new ControllerException(ControllerException.Reason.UNKNOWN_TOPIC, "no topic has id " + id));
                    return c.deleteTopic(image, name).records();
                }, false, req.getTimeoutMs());
                b.addTopicsBuilder().setName(id).setErrorCode(o.code()).setErrorMessage(o.message());
            }
            return b.build();
        });
    }

    @Override
    public CompletableFuture<CreatePartitionsResponse> createPartitions(CreatePartitionsRequest req) {
        if (req.getTimeoutMs() <= 0) {
            return CompletableFuture.completedFuture(CreatePartitionsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        return onControllerThread(() -> {
            CreatePartitionsResponse.Builder b = CreatePartitionsResponse.newBuilder();
            for (CreatePartitionsRequest.Increase inc : req.getTopicsList()) {
                Outcome o = decideAndCommit((c, image) -> c.createPartitions(image, inc.getName(), inc.getTotalCount()).records(),
                        req.getValidateOnly(), req.getTimeoutMs());
                b.addTopicsBuilder().setName(inc.getName()).setErrorCode(o.code()).setErrorMessage(o.message());
            }
            return b.build();
        });
    }

    @Override
    public CompletableFuture<AlterConfigsResponse> alterConfigs(AlterConfigsRequest req) {
        if (req.getTimeoutMs() <= 0) {
            return CompletableFuture.completedFuture(AlterConfigsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        return onControllerThread(() -> {
            AlterConfigsResponse.Builder b = AlterConfigsResponse.newBuilder();
            for (AlterConfigsRequest.Change change : req.getResourcesList()) {
                var rb = b.addResourcesBuilder().setResource(change.getResource());
                if (change.getResource().getType() != dev.basalt.proto.v1.ConfigResource.Type.TOPIC) {
                    rb.setErrorCode(ErrorCode.INVALID_CONFIG).setErrorMessage("only topic configurations can be altered;"
                            + " broker configurations are static (set them in the node's properties file)");
                    continue;
                }
                Map<String, Optional<String>> ops = new HashMap<>();
                for (AlterConfigsRequest.Operation op : change.getOperationsList()) {
                    ops.put(op.getName(), op.getOp() == AlterConfigsRequest.Operation.Op.DELETE ? Optional.empty()
                            : Optional.of(op.getValue()));
                }
                ConfigResource resource = ConfigResource.topic(change.getResource().getName());
                Outcome o = decideAndCommit((c, image) -> c.alterConfigs(image, resource, ops).records(),
                        req.getValidateOnly(), req.getTimeoutMs());
                rb.setErrorCode(o.code()).setErrorMessage(o.message());
            }
            return b.build();
        });
    }

    // ------------------------------------------------------------------ broker lifecycle (combined mode)

    /**
     * Registers a broker and unfences it once it reports caught up; returns whether it is fenced.
     * Used by a broker co-located with the active controller.
     */
    public CompletableFuture<BrokerStatus> registerBroker(BrokerRegistrationRequest request) {
        return onControllerThread(() -> decideStatus(c -> c.registerBroker(stateMachine.image(), request, clock.millis())));
    }

    public CompletableFuture<BrokerStatus> heartbeat(HeartbeatRequest request) {
        return onControllerThread(() -> decideStatus(c -> c.heartbeat(stateMachine.image(), request, clock.millis())));
    }

    /** Fences brokers whose sessions expired; scheduled periodically by the node. */
    public void fenceExpiredBrokers() {
        executor.execute(() -> {
            if (!quorum.isActiveController()) {
                return;
            }
            try {
                ControllerResult<List<Integer>> r = decisions().fenceExpiredBrokers(stateMachine.image(), clock.millis());
                if (!r.response().isEmpty()) {
                    log.info("Fencing brokers {}: session timed out", r.response());
                }
                commit(r.records(), commitTimeoutMsMax);
            } catch (RuntimeException | TimeoutException | ExecutionException e) {
                log.warn("Fencing expired brokers failed; will retry", e);
            }
        });
    }

    private BrokerStatus decideStatus(java.util.function.Function<MetadataController, ControllerResult<BrokerStatus>> d) {
        ControllerResult<BrokerStatus> r = d.apply(decisions());
        try {
            commit(r.records(), commitTimeoutMsMax);
        } catch (TimeoutException | ExecutionException e) {
            throw new IllegalStateException("broker status change not committed: " + e, e);
        }
        return r.response();
    }
}

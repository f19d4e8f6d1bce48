package dev.basalt.broker.controller;

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
import dev.basalt.metadata.controller.TopicOutcome;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active controller's event loop: one thread runs the pure {@link MetadataController} against
 * the newest image, proposes each decision's records as ONE metadata entry, and completes the
 * request's future when that entry is committed and published on this node. It never blocks on a
 * commit: while proposals are in flight, the next decision is made against the committed image
 * plus every record already proposed (the "working" image), so a 100-topic request is one
 * decision, one entry, one commit, and concurrent requests pipeline.
 *
 * <p>Leadership: the loop acts only while {@link MetadataQuorum#activeTerm()} is set (a volatile
 * read). A new term gets a fresh {@link MetadataController} (broker sessions are soft state: each
 * broker gets a full session timeout from the new controller before it can be fenced) and a fresh
 * working image. A request reaching a node that is not active fails with NOT_CONTROLLER.
 *
 * <p>A decision with no records still waits for every earlier in-flight proposal before it
 * answers, so an answer never reports state that is not yet committed.
 *
 * <p>Thread-safety: public methods may be called from any thread; every decision runs on the
 * single thread of {@code executor}, which this class owns for its decisions only.
 */
public final class QuorumController implements ControllerChannel {
    private static final Logger log = LoggerFactory.getLogger(QuorumController.class);
    private static final String TIMEOUT_REQUIRED = "timeout_ms must be >= 0 (0 = the default, 30000 ms)";
    /** An admin change's timeout when the request gives none (timeout_ms = 0, e.g. from grpcurl). */
    static final int ADMIN_TIMEOUT_MS_DEFAULT = 30_000;

    /** Settings of the controller's own loop (the pure decisions' limits are in ControllerConfig). */
    /**
     * @param autoRebalanceIntervalMs how often a gradual auto-rebalance step is considered; 0 = never
     *                                ({@code auto.rebalance.enable=false})
     * @param autoRebalanceMovesMax   partitions one step may start moving
     */
    public record Settings(ControllerConfig decisions, int defaultPartitions, int defaultReplicationFactor,
                           long brokerRequestTimeoutMs, long leaderImbalanceCheckIntervalMs, long sessionFailoverGraceMs,
                           long autoRebalanceIntervalMs, int autoRebalanceMovesMax) {
        public Settings(ControllerConfig decisions, int defaultPartitions, int defaultReplicationFactor,
                        long brokerRequestTimeoutMs, long leaderImbalanceCheckIntervalMs, long sessionFailoverGraceMs) {
            this(decisions, defaultPartitions, defaultReplicationFactor, brokerRequestTimeoutMs, leaderImbalanceCheckIntervalMs,
                    sessionFailoverGraceMs, 0, 1);
        }
    }

    /** How often the loop looks for expired sessions and for a new term to start a grace period for. */
    static final long SESSION_CHECK_INTERVAL_MS = 100;

    private final MetadataQuorum quorum;
    private final ScheduledExecutorService executor;
    private final Clock clock;
    private final RandomGenerator random;
    private final Settings settings;
    private final ConfigValidator validator;

    // Owned by the controller thread.
    private MetadataController decisions;
    private long decisionsTerm = -1;
    private MetadataImage working;
    private int inFlight;
    private CompletableFuture<Long> lastProposal = CompletableFuture.completedFuture(0L);
    private long graceTerm = -1;
    /** A BrokerSession stream held by a broker, opened while this node was active in {@code term}. */
    private record Session(UUID incarnationId, long term, Runnable end) {
    }

    /** Brokers holding a BrokerSession stream with this node. Any thread. */
    private final java.util.concurrent.ConcurrentHashMap<Integer, Session> sessionStreams = new java.util.concurrent.ConcurrentHashMap<>();

    public QuorumController(MetadataQuorum quorum, ScheduledExecutorService executor, Clock clock, RandomGenerator random,
                            Settings settings, ConfigValidator validator) {
        this.quorum = quorum;
        this.executor = executor;
        this.clock = clock;
        this.random = random;
        this.settings = settings;
        this.validator = validator;
    }

    /** Whether this node is the active controller now (the Raft leader, caught up with its term). */
    public boolean isActive() {
        return quorum.activeTerm() >= 0;
    }

    /** Starts the periodic work: session expiry, preferred-leader balancing and (when enabled) auto rebalancing. */
    public void start() {
        executor.scheduleWithFixedDelay(this::checkSessions, SESSION_CHECK_INTERVAL_MS, SESSION_CHECK_INTERVAL_MS,
                TimeUnit.MILLISECONDS);
        long balanceMs = settings.leaderImbalanceCheckIntervalMs();
        if (balanceMs > 0) {
            executor.scheduleWithFixedDelay(this::balanceLeaders, balanceMs, balanceMs, TimeUnit.MILLISECONDS);
        }
        long rebalanceMs = settings.autoRebalanceIntervalMs();
        if (rebalanceMs > 0) {
            executor.scheduleWithFixedDelay(this::autoRebalance, rebalanceMs, rebalanceMs, TimeUnit.MILLISECONDS);
        }
    }

    // ------------------------------------------------------------------ the loop

    /** The outcome of one decision: records to commit and the answer to give once they are. */
    private <T> CompletableFuture<T> decide(String what, long timeoutMs, boolean validateOnly,
                                            BiFunction<MetadataController, MetadataImage, ControllerResult<T>> decision) {
        CompletableFuture<T> out = new CompletableFuture<>();
        try {
            executor.execute(() -> decideNow(what, validateOnly, decision, out));
            var timeout = executor.schedule(() -> out.completeExceptionally(new TimeoutException(what + " not committed within "
                    + timeoutMs + " ms; it may still be")), timeoutMs, TimeUnit.MILLISECONDS);
            out.whenComplete((r, e) -> timeout.cancel(false));
        } catch (RejectedExecutionException e) {
            out.completeExceptionally(new MetadataQuorum.NotControllerException("controller is shutting down", -1));
        }
        return out;
    }

    private <T> void decideNow(String what, boolean validateOnly,
                               BiFunction<MetadataController, MetadataImage, ControllerResult<T>> decision,
                               CompletableFuture<T> out) {
        if (out.isDone()) {
            return; // timed out while queued
        }
        long term = quorum.activeTerm();
        if (term < 0) {
            out.completeExceptionally(new MetadataQuorum.NotControllerException("node is not the active controller",
                    quorum.leaderId()));
            return;
        }
        if (term != decisionsTerm) {
            decisions = new MetadataController(settings.decisions(), validator, random);
            decisionsTerm = term;
            working = null;
            inFlight = 0;
            lastProposal = CompletableFuture.completedFuture(0L);
        }
        MetadataImage base = working != null && inFlight > 0 ? working : quorum.committedImage();
        ControllerResult<T> result;
        try {
            result = decision.apply(decisions, base);
        } catch (ControllerException e) {
            // A refusal read the working image, which may hold proposals not yet committed (a topic
            // deleted a moment ago): answer it only once they are, and if one of them fails the
            // refusal rested on a state that never was, so the answer is that failure instead.
            // Answering at once let an alter say UNKNOWN_TOPIC for a delete a failover then lost
            // (the Jepsen-style metadata checker's non-linearizable history, seed 110369373356).
            lastProposal.whenComplete((i, failed) -> out.completeExceptionally(failed != null ? unwrap(failed) : e));
            return;
        } catch (MetadataQuorum.NotControllerException e) {
            out.completeExceptionally(e);
            return;
        } catch (RuntimeException e) {
            log.error("Controller decision {} failed", what, e);
            out.completeExceptionally(e);
            return;
        }
        if (validateOnly || result.records().isEmpty()) {
            // Answer only after everything proposed before it is committed.
            lastProposal.whenComplete((i, e) -> {
                if (e != null) {
                    out.completeExceptionally(unwrap(e));
                } else {
                    out.complete(result.response());
                }
            });
            return;
        }
        MetadataDelta delta = new MetadataDelta(base);
        delta.replayAll(result.records());
        working = delta.apply();
        inFlight++;
        byte[] entry = MetadataRecordBatch.newBuilder().addAllRecords(result.records()).build().toByteArray();
        CompletableFuture<Long> proposal = quorum.propose(entry);
        lastProposal = proposal;
        long proposedTerm = term;
        proposal.whenComplete((index, error) -> {
            try {
                executor.execute(() -> onProposalDone(proposedTerm, error));
            } catch (RejectedExecutionException ignored) {
                // shutting down: the answer below still goes out
            }
            if (error != null) {
                out.completeExceptionally(unwrap(error));
            } else {
                out.complete(result.response());
            }
        });
    }

    private void onProposalDone(long term, Throwable error) {
        if (term != decisionsTerm) {
            return;
        }
        inFlight--;
        if (error != null) {
            // The working image holds records that may never commit: start again from the committed
            // image, with fresh soft state (the failure almost always means leadership was lost).
            log.warn("A metadata proposal failed ({}); the controller restarts from the committed image", unwrap(error).toString());
            working = null;
            decisionsTerm = -1;
        }
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    /** Maps a failed decision to the protocol's error code and message. */
    public static Outcome outcome(Throwable t) {
        Throwable e = unwrap(t);
        if (e instanceof ControllerException ce) {
            return new Outcome(errorCode(ce.reason()), ce.getMessage());
        }
        if (e instanceof MetadataQuorum.NotControllerException nce) {
            return new Outcome(ErrorCode.NOT_CONTROLLER, nce.getMessage()
                    + (nce.leaderHint() >= 0 ? " (active controller: " + nce.leaderHint() + ")" : ""));
        }
        if (e instanceof TimeoutException) {
            return new Outcome(ErrorCode.REQUEST_TIMED_OUT, e.getMessage());
        }
        return new Outcome(ErrorCode.REQUEST_TIMED_OUT, "outcome unknown: " + e);
    }

    /** An error code with its message (NONE = success). */
    public record Outcome(ErrorCode code, String message) {
        static final Outcome OK = new Outcome(ErrorCode.NONE, "");
    }

    public static ErrorCode errorCode(ControllerException.Reason reason) {
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
            case INVALID_REQUEST -> ErrorCode.INVALID_REQUEST;
            case UNKNOWN_BROKER, STALE_BROKER_INCARNATION -> ErrorCode.STALE_BROKER_INCARNATION;
            case DUPLICATE_BROKER_REGISTRATION -> ErrorCode.DUPLICATE_BROKER_REGISTRATION;
            case BROKER_FENCED -> ErrorCode.BROKER_FENCED;
            case STALE_PARTITION_EPOCH -> ErrorCode.STALE_PARTITION_EPOCH;
            case INELIGIBLE_REPLICA -> ErrorCode.INELIGIBLE_REPLICA;
            case INVALID_REPLICA_ASSIGNMENT -> ErrorCode.INVALID_REPLICA_ASSIGNMENT;
            case NO_REASSIGNMENT_IN_PROGRESS -> ErrorCode.NO_REASSIGNMENT_IN_PROGRESS;
            case BROKER_DECOMMISSIONED -> ErrorCode.BROKER_DECOMMISSIONED;
            case REASSIGNMENT_UNSAFE -> ErrorCode.REASSIGNMENT_UNSAFE;
            case INSUFFICIENT_BROKERS -> ErrorCode.INSUFFICIENT_BROKERS;
        };
    }

    // ------------------------------------------------------------------ periodic work

    /** On the controller thread: session expiry, and the failover grace period of a new term. */
    private void checkSessions() {
        long term = quorum.activeTerm();
        // Sessions opened in an earlier term (or while active, now that we are not) are ended, so
        // their brokers reconnect to the controller that is active now.
        sessionStreams.forEach((id, session) -> {
            if (session.term() != term && sessionStreams.remove(id, session)) {
                session.end().run();
            }
        });
        if (term < 0) {
            return;
        }
        if (term != graceTerm) {
            graceTerm = term;
            java.util.Set<Integer> predecessors = quorum.predecessorsOf(term);
            executor.schedule(() -> fenceBrokersWithoutSession(term, predecessors), settings.sessionFailoverGraceMs(),
                    TimeUnit.MILLISECONDS);
        }
        fenceExpiredBrokers();
        // A new controller continues the reassignments its predecessor left (and this catches any
        // completion an ISR change's own check missed, e.g. one refused by a lost proposal).
        maybeCompleteReassignments();
    }

    /** Owned by the controller thread: a completion check is proposed and not answered yet. */
    private boolean completionInFlight;

    /**
     * On the controller thread: completes the reassignments whose new replicas are all in sync (see
     * {@link MetadataController#completeReassignments}). At most one check in flight; the scan for
     * reassigning partitions is one pass over the committed image.
     */
    private void maybeCompleteReassignments() {
        if (completionInFlight || quorum.activeTerm() < 0
                || MetadataController.reassigningPartitions(quorum.committedImage()).isEmpty()) {
            return;
        }
        completionInFlight = true;
        decide("complete reassignments", settings.brokerRequestTimeoutMs(), false, (c, image) -> c.completeReassignments(image))
                .whenComplete((done, e) -> {
                    try {
                        executor.execute(() -> completionInFlight = false);
                    } catch (RejectedExecutionException ignored) {
                        // shutting down
                    }
                    if (e == null && !done.isEmpty()) {
                        log.info("Completed the reassignment of {} partitions", done.size());
                    } else if (e != null && !(unwrap(e) instanceof MetadataQuorum.NotControllerException)) {
                        log.warn("Completing reassignments failed; will retry: {}", unwrap(e).toString());
                    }
                });
    }

    private void fenceExpiredBrokers() {
        CompletableFuture<List<Integer>> f = decide("fence expired brokers", settings.brokerRequestTimeoutMs(), false,
                (c, image) -> c.fenceExpiredBrokers(image, clock.millis()));
        f.whenComplete((fenced, e) -> {
            if (e == null && !fenced.isEmpty()) {
                log.info("Fenced brokers {}: session timed out", fenced);
            } else if (e != null && !(unwrap(e) instanceof MetadataQuorum.NotControllerException)) {
                log.warn("Fencing expired brokers failed; will retry: {}", unwrap(e).toString());
            }
        });
    }

    /** On the controller thread: one gradual auto-rebalance step, when one is due (see MetadataController#autoRebalanceStep). */
    private void autoRebalance() {
        if (quorum.activeTerm() < 0) {
            return;
        }
        decide("auto rebalance", settings.brokerRequestTimeoutMs(), false,
                (c, image) -> c.autoRebalanceStep(image, settings.autoRebalanceMovesMax()))
                .whenComplete((started, e) -> {
                    if (e == null && !started.isEmpty()) {
                        log.info("auto.rebalance.enable: started moving {} partitions toward an even spread of replicas: {}",
                                started.size(), started);
                    } else if (e != null && !(unwrap(e) instanceof MetadataQuorum.NotControllerException)) {
                        log.warn("Auto rebalance step failed; will retry: {}", unwrap(e).toString());
                    }
                });
    }

    private void balanceLeaders() {
        if (quorum.activeTerm() < 0) {
            return;
        }
        decide("preferred leader election", settings.brokerRequestTimeoutMs(), false, (c, image) -> c.electPreferredLeaders(image))
                .whenComplete((moved, e) -> {
                    if (e == null && !moved.isEmpty()) {
                        log.info("Moved leadership back to the preferred replica of {} partitions", moved.size());
                    }
                });
    }

    // ------------------------------------------------------------------ broker sessions (fast failure detection)

    /**
     * A broker opened its BrokerSession stream here. Returns false (NOT_CONTROLLER) when this node
     * is not the active controller.
     */
    public boolean openSession(int brokerId, UUID incarnationId, Runnable end) {
        long term = quorum.activeTerm();
        if (term < 0) {
            return false;
        }
        Session previous = sessionStreams.put(brokerId, new Session(incarnationId, term, end));
        if (previous != null) {
            previous.end().run();
        }
        return true;
    }

    /**
     * A broker's session stream ended. If its process died (the usual reason: kill -9 closes the
     * socket), waiting for the session timeout would keep its partitions leaderless for that long;
     * fencing now moves leadership at once. A live broker that merely lost the connection is
     * unfenced again by its next heartbeat.
     */
    public void closeSession(int brokerId, UUID incarnationId, String why) {
        Session s = sessionStreams.get(brokerId);
        if (s == null || !s.incarnationId().equals(incarnationId) || !sessionStreams.remove(brokerId, s)
                || quorum.activeTerm() != s.term()) {
            return;
        }
        fenceIfUnfenced(brokerId, incarnationId, "its session ended (" + why + ")");
    }

    /**
     * A new controller's grace period is over: the brokers of the nodes it took over from
     * ({@code predecessors}: every other node that led since this one's last term, a short
     * intermediate term included) that have not opened a session with it died with those
     * controllers (a combined node killed) and are fenced now rather than after a session timeout.
     * The other brokers keep their session timeout, counted from this term's start (found probing:
     * on a busy host a leader change with no node down fenced a live broker that opened its session
     * 1.2 s late, moving 17 leaderships twice and shrinking ISRs). None when no other node led in
     * between; with the predecessors unknown (this node saw no other leader since it started), every
     * broker without a session.
     */
    private void fenceBrokersWithoutSession(long term, java.util.Set<Integer> predecessors) {
        if (quorum.activeTerm() != term) {
            return;
        }
        for (var b : quorum.committedImage().cluster().brokers().values()) {
            if (predecessors != null && !predecessors.contains(b.brokerId())) {
                continue;
            }
            Session s = sessionStreams.get(b.brokerId());
            if (!b.fenced() && (s == null || !b.incarnationId().equals(s.incarnationId()))) {
                fenceIfUnfenced(b.brokerId(), b.incarnationId(), "no session with the new controller within "
                        + settings.sessionFailoverGraceMs() + " ms");
            }
        }
        graceEndedTerm = term;
    }

    /** The last term whose failover grace period ended while active (its fencing decisions, if any, are queued). */
    private volatile long graceEndedTerm = -1;

    /** See {@link #graceEndedTerm} (tests: a decision queued after it is answered after its fencing). */
    long graceEndedTerm() {
        return graceEndedTerm;
    }

    private void fenceIfUnfenced(int brokerId, UUID incarnationId, String why) {
        decide("fence broker " + brokerId, settings.brokerRequestTimeoutMs(), false, (c, image) -> {
            var b = image.cluster().broker(brokerId);
            if (b.isEmpty() || !b.get().incarnationId().equals(incarnationId) || b.get().fenced()) {
                return new ControllerResult<>(List.of(), false);
            }
            Session open = sessionStreams.get(brokerId);
            if (open != null && open.incarnationId().equals(incarnationId) && open.term() == quorum.activeTerm()) {
                // the same process opened a session again before this decision ran: it is alive
                return new ControllerResult<>(List.of(), false);
            }
            // The same decision as a controlled shutdown: leadership and ISR places move, the broker is fenced.
            return new ControllerResult<>(c.heartbeat(image, new HeartbeatRequest(brokerId, incarnationId, false, true),
                    clock.millis()).records(), true);
        }).whenComplete((fenced, e) -> {
            if (e == null && fenced) {
                log.info("Fenced broker {}: {}", brokerId, why);
            } else if (e != null && !(unwrap(e) instanceof MetadataQuorum.NotControllerException)) {
                log.warn("Fencing broker {} failed: {}", brokerId, unwrap(e).toString());
            }
        });
    }

    // ------------------------------------------------------------------ brokers (Controller service)

    public CompletableFuture<BrokerStatus> registerBroker(BrokerRegistrationRequest request) {
        return decide("register broker " + request.brokerId(), settings.brokerRequestTimeoutMs(), false,
                (c, image) -> c.registerBroker(image, request, clock.millis()));
    }

    public CompletableFuture<BrokerStatus> heartbeat(HeartbeatRequest request) {
        return decide("heartbeat of broker " + request.brokerId(), settings.brokerRequestTimeoutMs(), false,
                (c, image) -> c.heartbeat(image, request, clock.millis()));
    }

    /** Whether {@code brokerId} leads no partition in the newest image (controlled shutdown may proceed). */
    public boolean leadsNothing(int brokerId) {
        MetadataImage image = quorum.committedImage();
        return image.topics().topicsById().values().stream()
                .flatMap(t -> t.partitions().values().stream())
                .noneMatch(p -> p.leader() == brokerId);
    }

    public CompletableFuture<PartitionRegistration> alterPartition(AlterPartitionRequest request) {
        CompletableFuture<PartitionRegistration> f = decide("alter partition " + request.topicId() + "-"
                + request.partition(), settings.brokerRequestTimeoutMs(), false, (c, image) -> c.alterPartition(image, request));
        // An ISR expansion may be the last step a reassignment waited for.
        f.thenRun(() -> {
            try {
                executor.execute(this::maybeCompleteReassignments);
            } catch (RejectedExecutionException ignored) {
                // shutting down
            }
        });
        return f;
    }

    /** How {@code nodeId} belongs to the metadata quorum (empty: no node of it); see {@link MetadataQuorum#membership}. */
    Optional<MetadataQuorum.Membership> quorumMembership(int nodeId) {
        return quorum.membership(nodeId);
    }

    /**
     * One admin decision on the controller thread, answered once committed: the hook for admin
     * operations implemented beside this class ({@link ControllerReassignments}).
     */

    <T> CompletableFuture<T> decideAdmin(String what, long timeoutMs,
                                         BiFunction<MetadataController, MetadataImage, ControllerResult<T>> decision) {
        return decide(what, timeoutMs, false, decision);
    }

    @Override
    public CompletableFuture<dev.basalt.proto.v1.AlterPartitionReassignmentsResponse> alterPartitionReassignments(
            dev.basalt.proto.v1.AlterPartitionReassignmentsRequest request) {
        return ControllerReassignments.alter(this, request);
    }

    @Override
    public CompletableFuture<dev.basalt.proto.v1.DecommissionBrokerResponse> decommissionBroker(
            dev.basalt.proto.v1.DecommissionBrokerRequest request) {
        return ControllerReassignments.decommission(this, request, true);
    }

    @Override
    public CompletableFuture<dev.basalt.proto.v1.DecommissionBrokerResponse> recommissionBroker(
            dev.basalt.proto.v1.DecommissionBrokerRequest request) {
        return ControllerReassignments.decommission(this, request, false);
    }

    @Override
    public CompletableFuture<dev.basalt.proto.v1.ElectLeadersResponse> electLeaders(
            dev.basalt.proto.v1.ElectLeadersRequest request) {
        return ControllerReassignments.electLeaders(this, request);
    }

    /**
     * Hands a registered, unfenced broker the next block of producer ids. The block is a record in
     * the metadata log: the answer comes only once it is committed, so a block is never handed out
     * twice, whichever controller is active later.
     */
    public CompletableFuture<dev.basalt.metadata.image.ProducerIdsImage.ProducerIdBlock> allocateProducerIds(int brokerId,
                                                                                                          UUID incarnationId) {
        return decide("allocate producer ids for broker " + brokerId, settings.brokerRequestTimeoutMs(), false,
                (c, image) -> c.allocateProducerIds(image, brokerId, incarnationId));
    }

    // ------------------------------------------------------------------ the admin API

    private static int timeoutOrDefault(int timeoutMs) {
        return timeoutMs == 0 ? ADMIN_TIMEOUT_MS_DEFAULT : timeoutMs;
    }

    @Override
    public CompletableFuture<CreateTopicsResponse> createTopics(CreateTopicsRequest req) {
        if (req.getTimeoutMs() < 0) {
            return CompletableFuture.completedFuture(CreateTopicsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        // Duplicates within one request are refused per name before the decision sees the rest.
        List<CreateTopicRequest> requests = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        java.util.Map<Integer, String> refused = new java.util.HashMap<>();
        for (int i = 0; i < req.getTopicsCount(); i++) {
            CreateTopicsRequest.NewTopic t = req.getTopics(i);
            if (!seen.add(t.getName())) {
                refused.put(i, "topic '" + t.getName() + "' appears twice");
                continue;
            }
            String outOfRange = outOfRange(t);
            if (outOfRange != null) {
                refused.put(i, outOfRange);
                continue;
            }
            requests.add(new CreateTopicRequest(t.getName(), partitionsOf(t), replicationOf(t), t.getConfigsMap()));
        }
        CompletableFuture<List<TopicOutcome<CreateTopicResponse>>> f = decide("create topics", timeoutOrDefault(req.getTimeoutMs()),
                req.getValidateOnly(), (c, image) -> c.createTopics(image, requests));
        return f.handle((outcomes, error) -> {
            CreateTopicsResponse.Builder b = CreateTopicsResponse.newBuilder();
            Outcome whole = error == null ? Outcome.OK : outcome(error);
            int next = 0;
            for (int i = 0; i < req.getTopicsCount(); i++) {
                CreateTopicsRequest.NewTopic t = req.getTopics(i);
                var rb = b.addTopicsBuilder().setName(t.getName()).setPartitions(partitionsOf(t)).setReplicationFactor(replicationOf(t));
                if (refused.containsKey(i)) {
                    rb.setErrorCode(ErrorCode.INVALID_REQUEST).setErrorMessage(refused.get(i)).setPartitions(0).setReplicationFactor(0);
                    continue;
                }
                if (error != null) {
                    rb.setErrorCode(whole.code()).setErrorMessage(whole.message());
                    continue;
                }
                TopicOutcome<CreateTopicResponse> o = outcomes.get(next++);
                if (o.error().isPresent()) {
                    Outcome oc = outcome(o.error().get());
                    rb.setErrorCode(oc.code()).setErrorMessage(oc.message());
                } else {
                    rb.setErrorCode(ErrorCode.NONE).setTopicId(o.response().get().topicId().toString());
                }
            }
            return b.build();
        });
    }

    /**
     * A field outside its documented range (admin.proto: 0 and -1 mean "the broker default"; any
     * other value below 1 is a client bug, not a request for the default), or null.
     */
    private static String outOfRange(CreateTopicsRequest.NewTopic t) {
        if (t.getPartitions() < -1) {
            return "partitions " + t.getPartitions() + " out of range: > 0, or 0/-1 for the broker default num.partitions";
        }
        if (t.getReplicationFactor() < -1) {
            return "replication_factor " + t.getReplicationFactor()
                    + " out of range: > 0, or 0/-1 for the broker default default.replication.factor";
        }
        return null;
    }

    private int partitionsOf(CreateTopicsRequest.NewTopic t) {
        return t.getPartitions() <= 0 ? settings.defaultPartitions() : t.getPartitions();
    }

    private int replicationOf(CreateTopicsRequest.NewTopic t) {
        return t.getReplicationFactor() <= 0 ? settings.defaultReplicationFactor() : t.getReplicationFactor();
    }

    @Override
    public CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest req) {
        if (req.getTimeoutMs() < 0) {
            return CompletableFuture.completedFuture(DeleteTopicsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        // Topic ids are resolved to names against the image the decision sees, in the same decision.
        List<String> requested = new ArrayList<>(req.getNamesList());
        requested.addAll(req.getTopicIdsList());
        int names = req.getNamesCount();
        CompletableFuture<List<TopicOutcome<UUID>>> f = decide("delete topics", timeoutOrDefault(req.getTimeoutMs()), false, (c, image) -> {
            List<String> resolved = new ArrayList<>(req.getNamesList());
            for (String id : req.getTopicIdsList()) {
                resolved.add(resolveTopicId(image, id));
            }
            return c.deleteTopics(image, resolved);
        });
        return f.handle((outcomes, error) -> {
            DeleteTopicsResponse.Builder b = DeleteTopicsResponse.newBuilder();
            Outcome whole = error == null ? Outcome.OK : outcome(error);
            for (int i = 0; i < requested.size(); i++) {
                var rb = b.addTopicsBuilder().setName(requested.get(i));
                if (error != null) {
                    rb.setErrorCode(whole.code()).setErrorMessage(whole.message());
                    continue;
                }
                TopicOutcome<UUID> o = outcomes.get(i);
                if (o.error().isPresent()) {
                    Outcome oc = outcome(o.error().get());
                    // An id that resolves to no topic is reported against the id the caller sent.
                    rb.setErrorCode(oc.code()).setErrorMessage(i >= names && oc.code() == ErrorCode.UNKNOWN_TOPIC
                            ? "no topic has id " + requested.get(i) : oc.message());
                }
            }
            return b.build();
        });
    }

    /** A topic id's current name, or a placeholder that no topic can have (so the outcome is UNKNOWN_TOPIC). */
    private static String resolveTopicId(MetadataImage image, String id) {
        try {
            return image.topics().topic(UUID.fromString(id)).map(t -> t.name()).orElse("<unknown topic id " + id + ">");
        } catch (IllegalArgumentException e) {
            throw new ControllerException(ControllerException.Reason.INVALID_REQUEST, "'" + id + "' is not a topic id");
        }
    }

    @Override
    public CompletableFuture<CreatePartitionsResponse> createPartitions(CreatePartitionsRequest req) {
        if (req.getTimeoutMs() < 0) {
            return CompletableFuture.completedFuture(CreatePartitionsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        List<CompletableFuture<Outcome>> parts = new ArrayList<>();
        for (CreatePartitionsRequest.Increase inc : req.getTopicsList()) {
            parts.add(decide("create partitions of " + inc.getName(), timeoutOrDefault(req.getTimeoutMs()), req.getValidateOnly(),
                    (c, image) -> c.createPartitions(image, inc.getName(), inc.getTotalCount()))
                    .handle((r, e) -> e == null ? Outcome.OK : outcome(e)));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
            CreatePartitionsResponse.Builder b = CreatePartitionsResponse.newBuilder();
            for (int i = 0; i < parts.size(); i++) {
                Outcome o = parts.get(i).join();
                b.addTopicsBuilder().setName(req.getTopics(i).getName()).setErrorCode(o.code()).setErrorMessage(o.message());
            }
            return b.build();
        });
    }

    @Override
    public CompletableFuture<AlterConfigsResponse> alterConfigs(AlterConfigsRequest req) {
        if (req.getTimeoutMs() < 0) {
            return CompletableFuture.completedFuture(AlterConfigsResponse.newBuilder().setErrorCode(ErrorCode.INVALID_REQUEST)
                    .setErrorMessage(TIMEOUT_REQUIRED).build());
        }
        List<CompletableFuture<Outcome>> parts = new ArrayList<>();
        for (AlterConfigsRequest.Change change : req.getResourcesList()) {
            boolean broker = change.getResource().getType() == dev.basalt.proto.v1.ConfigResource.Type.BROKER;
            if (!broker && change.getResource().getType() != dev.basalt.proto.v1.ConfigResource.Type.TOPIC) {
                parts.add(CompletableFuture.completedFuture(new Outcome(ErrorCode.INVALID_REQUEST,
                        "unknown resource type " + change.getResource().getType())));
                continue;
            }
            if (broker && !validBrokerResourceName(change.getResource().getName())) {
                parts.add(CompletableFuture.completedFuture(new Outcome(ErrorCode.INVALID_REQUEST, "broker resource name '"
                        + change.getResource().getName() + "' must be a broker id or empty (the cluster-wide default)")));
                continue;
            }
            if (!broker && change.getResource().getName().isEmpty()) {
                parts.add(CompletableFuture.completedFuture(new Outcome(ErrorCode.INVALID_REQUEST,
                        "a topic config resource needs the topic's name")));
                continue;
            }
            Map<String, Optional<String>> ops = new HashMap<>();
            String duplicate = null;
            for (AlterConfigsRequest.Operation op : change.getOperationsList()) {
                Optional<String> value = op.getOp() == AlterConfigsRequest.Operation.Op.DELETE ? Optional.empty()
                        : Optional.of(op.getValue());
                if (ops.putIfAbsent(op.getName(), value) != null && duplicate == null) {
                    duplicate = op.getName();
                }
            }
            if (duplicate != null) {
                // Which of two operations on one key wins is not the caller's to guess: the whole resource is refused.
                parts.add(CompletableFuture.completedFuture(new Outcome(ErrorCode.INVALID_REQUEST, "config " + duplicate
                        + " of " + change.getResource().getType() + " " + change.getResource().getName()
                        + " appears in more than one operation of the request (set and delete, or set twice): nothing was changed")));
                continue;
            }
            // Broker resources take only the dynamic keys the validator accepts (the rest are static).
            ConfigResource resource = broker ? new ConfigResource(ConfigResource.Type.BROKER, change.getResource().getName())
                    : ConfigResource.topic(change.getResource().getName());
            parts.add(decide("alter configs of " + resource, timeoutOrDefault(req.getTimeoutMs()), req.getValidateOnly(),
                    (c, image) -> c.alterConfigs(image, resource, ops))
                    .handle((r, e) -> e == null ? Outcome.OK : outcome(e)));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
            AlterConfigsResponse.Builder b = AlterConfigsResponse.newBuilder();
            for (int i = 0; i < parts.size(); i++) {
                Outcome o = parts.get(i).join();
                b.addResourcesBuilder().setResource(req.getResources(i).getResource()).setErrorCode(o.code())
                        .setErrorMessage(o.message());
            }
            return b.build();
        });
    }

    private static boolean validBrokerResourceName(String name) {
        return name.isEmpty() || (name.length() <= 10 && name.chars().allMatch(Character::isDigit));
    }
}

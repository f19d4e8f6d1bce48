package dev.basalt.broker.lifecycle;

import dev.basalt.broker.controller.ControllerClient;
import dev.basalt.broker.metadata.MetadataPublisher;
import dev.basalt.broker.replica.AlterPartitionSender;
import dev.basalt.metadata.controller.AlterPartitionRequest;
import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.Endpoint;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.AlterPartitionResponse;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerHeartbeatRequest;
import dev.basalt.proto.v1.BrokerHeartbeatResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.RegisterBrokerRequest;
import dev.basalt.proto.v1.RegisterBrokerResponse;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker side of a node's life in the cluster: registration with the active controller,
 * heartbeats, unfencing once caught up, and controlled shutdown — one state machine on one thread,
 * talking to whichever controller is active through the Controller gRPC service (in combined mode
 * too: the local controller is reached the same way, so there is one path).
 *
 * <p>States and legal transitions:
 * <pre>
 *   CATCHING_UP ──(metadata image caught up with the quorum and published)──▶ REGISTERING
 *   REGISTERING ──(RegisterBroker accepted: fenced)──────────────────────────▶ FENCED
 *   FENCED ──(heartbeat with caught_up answered unfenced)────────────────────▶ RUNNING
 *   RUNNING ──(heartbeat answered fenced: session expired)───────────────────▶ FENCED
 *   FENCED, RUNNING ──(STALE_BROKER_INCARNATION: the controller lost us)─────▶ REGISTERING
 *   any but SHUTDOWN ──(beginControlledShutdown)─────────────────────────────▶ CONTROLLED_SHUTDOWN
 *   CONTROLLED_SHUTDOWN ──(controller: leads nothing any more, or deadline)──▶ SHUTDOWN
 * </pre>
 * A heartbeat is sent every {@code heartbeatIntervalMs} (every {@link #FAST_TICK_MS} until
 * RUNNING), and never more than one request is outstanding: nothing here blocks a thread.
 *
 * <p>It is also the {@link AlterPartitionSender} of the replica manager: ISR changes go to the
 * active controller over the same client.
 *
 * <p>Thread-safety: thread-safe; state changes run on the lifecycle thread ({@code executor}).
 */
public final class BrokerLifecycle implements AlterPartitionSender, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BrokerLifecycle.class);
    /** Tick while not yet running, so registration and unfencing take a few ms, not a heartbeat interval. */
    static final long FAST_TICK_MS = 25;
    /** Back-off before reopening a BrokerSession stream that ended. */
    static final long SESSION_RETRY_BACKOFF_MS = 50;
    /**
     * Longest wait for one controller's answer to a heartbeat or registration before the next
     * controller is tried (both are safe to repeat): a paused controller keeps its connections
     * open, and waiting out the whole request deadline on it would get this broker fenced by the
     * controller that replaced it.
     */
    static final long ATTEMPT_TIMEOUT_MS_MIN = 500;

    public enum State { CATCHING_UP, REGISTERING, FENCED, RUNNING, CONTROLLED_SHUTDOWN, SHUTDOWN }

    private final int brokerId;
    private final UUID incarnationId;
    private final List<Endpoint> endpoints;
    private final Optional<String> rack;
    private final ControllerClient controllers;
    private final MetadataPublisher publisher;
    private final ScheduledExecutorService executor;
    private final long heartbeatIntervalMs;
    private final long requestTimeoutMs;
    private final java.util.function.Supplier<PossibleLoss> uncleanShutdown;
    private final CompletableFuture<Void> shutdownDone = new CompletableFuture<>();
    private volatile State state = State.CATCHING_UP;
    private boolean inFlight;
    private long lastHeartbeatNs;
    private long failures;
    /** The open (or opening) BrokerSession stream, null when none. */
    private ControllerClient.OpenSession session;
    /** The controller that granted {@link #session} (its answer arrived), -1 while none has. */
    private int sessionHeldBy = -1;
    /**
     * Sessions being opened with newly named controllers while {@link #session} is held (at most
     * one per controller asked). None is cancelled before some session is granted: one may have
     * been accepted by the active controller, whose grant is on the way, and cancelling it would
     * make that controller fence this broker (found by review).
     */
    private final List<ControllerClient.OpenSession> pendingSessions = new java.util.ArrayList<>();
    /** Bound on {@link #pendingSessions} (one per controller in practice). */
    static final int PENDING_SESSIONS_MAX = 4;
    /** The controller the last "moving the session" line named (logged once per controller, not per attempt). */
    private int lastMoveLoggedTo = -1;
    private long sessionRetryAtNs;
    private final PauseDetector pauses;

    /**
     * What this broker's previous run may have lost of the records it had acknowledged to its
     * leaders: nothing after a clean shutdown or with durable acks; after a crash, the partitions
     * of topics with {@code durable.acks=false}; everything with a new data directory.
     */
    public record PossibleLoss(boolean everything, java.util.Set<UUID> topicIds) {
        public static final PossibleLoss NONE = new PossibleLoss(false, java.util.Set.of());
        public static final PossibleLoss EVERYTHING = new PossibleLoss(true, java.util.Set.of());

        public PossibleLoss {
            topicIds = java.util.Set.copyOf(topicIds);
        }
    }

    public BrokerLifecycle(int brokerId, UUID incarnationId, List<Endpoint> endpoints, Optional<String> rack,
                           ControllerClient controllers, MetadataPublisher publisher, ScheduledExecutorService executor,
                           long heartbeatIntervalMs, long sessionTimeoutMs, long requestTimeoutMs,
                           java.util.function.Supplier<PossibleLoss> uncleanShutdown) {
        this.pauses = new PauseDetector(sessionTimeoutMs);
        this.uncleanShutdown = uncleanShutdown;
        this.brokerId = brokerId;
        this.incarnationId = incarnationId;
        this.endpoints = List.copyOf(endpoints);
        this.rack = rack;
        this.controllers = controllers;
        this.publisher = publisher;
        this.executor = executor;
        this.heartbeatIntervalMs = heartbeatIntervalMs;
        this.requestTimeoutMs = requestTimeoutMs;
    }

    public void start() {
        executor.scheduleWithFixedDelay(this::tick, 0, FAST_TICK_MS, TimeUnit.MILLISECONDS);
    }

    public State state() {
        return state;
    }

    /**
     * Null, or why this broker's image cannot be trusted yet although its state says RUNNING: the
     * process stood still longer than a broker session and no heartbeat sent since was answered.
     */
    public String pausedReason() {
        long ms = pauses.pausedForMs();
        return ms < 0 ? null : "this process stood still for " + ms + " ms (longer than broker.session.timeout.ms); waiting for the"
                + " controller to answer a heartbeat (it may have fenced this broker)";
    }

    public UUID incarnationId() {
        return incarnationId;
    }

    private void tick() {
        if (state == State.SHUTDOWN) {
            return;
        }
        if (pauses.onTick(System.nanoTime())) {
            log.warn("Broker {} stood still for {} ms (longer than a broker session): the controller may have fenced it;"
                    + " not ready until a heartbeat sent now is answered", brokerId, pauses.pausedForMs());
            lastHeartbeatNs = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(heartbeatIntervalMs); // heartbeat at once
        }
        if (state == State.FENCED || state == State.RUNNING) {
            maintainSession();
        }
        if (inFlight) {
            return;
        }
        switch (state) {
            case CATCHING_UP -> {
                if (publisher.publishedCaughtUp()) {
                    transition(State.REGISTERING);
                    register();
                }
            }
            case REGISTERING -> register();
            case FENCED -> heartbeat(false);
            case RUNNING -> {
                if (System.nanoTime() - lastHeartbeatNs >= TimeUnit.MILLISECONDS.toNanos(heartbeatIntervalMs)) {
                    heartbeat(false);
                }
            }
            case CONTROLLED_SHUTDOWN -> heartbeat(true);
            default -> { }
        }
    }

    private void transition(State next) {
        if (state != next) {
            log.info("Broker {} lifecycle: {} -> {}", brokerId, state, next);
            state = next;
        }
    }

    private void register() {
        RegisterBrokerRequest.Builder b = RegisterBrokerRequest.newBuilder().setBrokerId(brokerId)
                .setIncarnationId(ProtoIds.toProto(incarnationId)).setRack(rack.orElse(""));
        PossibleLoss loss = uncleanShutdown.get();
        if (loss.everything()) {
            b.setUncleanShutdown(true);
        } else if (!loss.topicIds().isEmpty()) {
            b.setUncleanShutdown(true).setUncleanTopicsOnly(true);
            loss.topicIds().forEach(t -> b.addUncleanTopicIds(ProtoIds.toProto(t)));
        }
        endpoints.forEach(e -> b.addEndpoints(BrokerEndpoint.newBuilder().setName(e.name()).setHost(e.host()).setPort(e.port())));
        RegisterBrokerRequest req = b.build();
        inFlight = true;
        controllers.call((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).registerBroker(req),
                RegisterBrokerResponse::getErrorCode, RegisterBrokerResponse::getControllerId, requestTimeoutMs, attemptTimeoutMs())
                .whenComplete((r, e) -> onLifecycleThread(() -> {
                    inFlight = false;
                    if (e != null || r.getErrorCode() != ErrorCode.NONE) {
                        noteFailure("registration", e != null ? e.toString() : r.getErrorCode() + " " + r.getErrorMessage());
                        return;
                    }
                    failures = 0;
                    log.info("Broker {} registered (incarnation {}) with controller {}", brokerId, incarnationId, r.getControllerId());
                    if (state == State.REGISTERING) {
                        transition(State.FENCED);
                    }
                }));
    }

    private long attemptTimeoutMs() {
        return Math.max(ATTEMPT_TIMEOUT_MS_MIN, 2 * heartbeatIntervalMs);
    }

    /**
     * Caught up = the published image has caught up with the quorum once, holds our registration,
     * and shows us fenced. The controller reads this flag only while it has us fenced, so an image
     * that shows us unfenced then has not applied the record that fenced us: it is behind (found
     * probing: a broker resumed after a SIGSTOP longer than its session was unfenced by its first
     * heartbeat, and served its pre-pause image as current).
     */
    private boolean caughtUp() {
        Optional<BrokerRegistration> me = publisher.image().cluster().broker(brokerId);
        return publisher.publishedCaughtUp() && me.isPresent() && me.get().incarnationId().equals(incarnationId)
                && me.get().fenced();
    }

    /**
     * Where heartbeats take the replicas this broker can no longer serve (storage faults); each
     * heartbeat reports them all, so the controller moves their leadership (see controller.proto).
     */
    public void offlineReplicas(java.util.function.Supplier<List<dev.basalt.proto.v1.OfflineReplica>> source) {
        this.offlineReplicas = source;
    }

    private volatile java.util.function.Supplier<List<dev.basalt.proto.v1.OfflineReplica>> offlineReplicas = List::of;

    /**
     * Where heartbeats take the leader brokers this broker's followers cannot reach (see
     * controller.proto's unreachable_leaders); each heartbeat reports them all.
     */
    public void unreachableLeaders(java.util.function.Supplier<java.util.Collection<Integer>> source) {
        this.unreachableLeaders = source;
    }

    private volatile java.util.function.Supplier<java.util.Collection<Integer>> unreachableLeaders = List::of;

    private void heartbeat(boolean wantShutdown) {
        BrokerHeartbeatRequest req = BrokerHeartbeatRequest.newBuilder().setBrokerId(brokerId)
                .setIncarnationId(ProtoIds.toProto(incarnationId)).setMetadataAppliedIndex(publisher.publishedIndex())
                .setCaughtUp(!wantShutdown && caughtUp()).setWantShutdown(wantShutdown)
                .addAllOfflineReplicas(offlineReplicas.get())
                .addAllUnreachableLeaders(wantShutdown ? List.of() : unreachableLeaders.get()).build();
        inFlight = true;
        long sentNs = System.nanoTime();
        lastHeartbeatNs = sentNs;
        controllers.call((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).brokerHeartbeat(req),
                BrokerHeartbeatResponse::getErrorCode, BrokerHeartbeatResponse::getControllerId, requestTimeoutMs,
                attemptTimeoutMs())
                .whenComplete((r, e) -> onLifecycleThread(() -> {
                    inFlight = false;
                    if (e != null) {
                        noteFailure("heartbeat", e.toString());
                        return;
                    }
                    onHeartbeatAnswer(r, wantShutdown);
                    if (r.getErrorCode() == ErrorCode.NONE) {
                        pauses.onAnswer(sentNs); // after onHeartbeatAnswer: a fenced answer has moved the state first
                    }
                }));
    }

    private void onHeartbeatAnswer(BrokerHeartbeatResponse r, boolean wantShutdown) {
        if (r.getErrorCode() == ErrorCode.STALE_BROKER_INCARNATION) {
            log.warn("Broker {}: the controller does not know incarnation {} ({}); registering again", brokerId, incarnationId,
                    r.getErrorMessage());
            if (state != State.CONTROLLED_SHUTDOWN) {
                transition(State.REGISTERING);
            } else {
                finishShutdown("the controller no longer knows this broker");
            }
            return;
        }
        if (r.getErrorCode() != ErrorCode.NONE) {
            noteFailure("heartbeat", r.getErrorCode() + " " + r.getErrorMessage());
            return;
        }
        failures = 0;
        if (wantShutdown) {
            if (r.getShutdownMayProceed()) {
                finishShutdown("leadership moved away");
            }
            return;
        }
        if (!r.getFenced() && state == State.FENCED) {
            transition(State.RUNNING);
        } else if (r.getFenced() && state == State.RUNNING) {
            log.warn("Broker {} was fenced by the controller (session expired?); catching up again", brokerId);
            transition(State.FENCED);
        }
    }

    /**
     * Keeps a BrokerSession stream open with the active controller, so that the death of this
     * process fences it at once (see controller.proto). Reopened after a back-off when it ends.
     *
     * <p>When another controller is named active while a session is held, the new session is
     * opened first and the old one closed only once the new one is granted (make before break):
     * the controller that granted a session fences the broker when it ends, and found probing, a
     * stale hint ("controller 2 is active" while 1 had won the term) made a live broker close its
     * session with the real active controller, which fenced it and moved its leaderships. A hint
     * that names a node that is not active is refused by that node; the held session stays.
     */
    private void maintainSession() {
        int active = controllers.preferredTarget();
        long now = System.nanoTime();
        if (session != null && active >= 0 && active != session.controllerId()) {
            // Even a session not known to be granted yet is kept: its grant may be on the way, and
            // closing it would make that controller fence this broker (found by review).
            if (pendingSessions.stream().noneMatch(p -> p.controllerId() == active) && pendingSessions.size() < PENDING_SESSIONS_MAX
                    && now >= sessionRetryAtNs) {
                if (active != lastMoveLoggedTo) {
                    lastMoveLoggedTo = active;
                    log.info("Broker {}: controller {} is active now; asking it for a session before closing the one with"
                            + " controller {}", brokerId, active, sessionHeldBy >= 0 ? sessionHeldBy : session.controllerId());
                }
                pendingSessions.add(openSession());
            }
            return;
        }
        if (session != null || now < sessionRetryAtNs) {
            return;
        }
        session = openSession();
    }

    /** Opens a BrokerSession stream with the controller believed active; see {@link #maintainSession}. */
    private ControllerClient.OpenSession openSession() {
        var req = dev.basalt.proto.v1.BrokerSessionRequest.newBuilder().setBrokerId(brokerId)
                .setIncarnationId(ProtoIds.toProto(incarnationId)).build();
        ControllerClient.OpenSession[] self = new ControllerClient.OpenSession[1];
        self[0] = controllers.openSession(req, new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(dev.basalt.proto.v1.BrokerSessionEvent event) {
                if (event.getErrorCode() != ErrorCode.NONE) {
                    controllers.hint(event.getControllerId());
                    return; // the stream completes next
                }
                onLifecycleThread(() -> granted(self[0], event.getControllerId()));
            }

            @Override
            public void onError(Throwable t) {
                ended();
            }

            @Override
            public void onCompleted() {
                ended();
            }

            private void ended() {
                onLifecycleThread(() -> sessionEnded(self[0]));
            }
        });
        return self[0];
    }

    /** On the lifecycle thread: {@code s} was granted by {@code controllerId}. */
    private void granted(ControllerClient.OpenSession s, int controllerId) {
        if (pendingSessions.remove(s)) {
            // The granting controller is the active one: the held session and the other pending ones
            // are with controllers that are not, and may go now.
            ControllerClient.OpenSession old = session;
            int oldHolder = sessionHeldBy;
            session = s;
            sessionHeldBy = controllerId;
            List<ControllerClient.OpenSession> others = List.copyOf(pendingSessions);
            pendingSessions.clear();
            if (old != null) {
                old.cancel().run();
            }
            others.forEach(o -> o.cancel().run());
            lastMoveLoggedTo = -1;
            log.info("Broker {} holds a session with controller {} (closed the one with controller {})", brokerId, controllerId,
                    oldHolder >= 0 ? oldHolder : "not granted yet");
        } else if (s == session) {
            sessionHeldBy = controllerId;
            log.info("Broker {} holds a session with controller {}", brokerId, controllerId);
        }
    }

    /** On the lifecycle thread: the stream of {@code s} ended (refused, closed by the controller, or the connection lost). */
    private void sessionEnded(ControllerClient.OpenSession s) {
        long retryAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SESSION_RETRY_BACKOFF_MS);
        if (s == session) {
            // the newest session being opened with a newly named controller takes its place
            session = pendingSessions.isEmpty() ? null : pendingSessions.remove(pendingSessions.size() - 1);
            sessionHeldBy = -1;
            if (session == null) {
                sessionRetryAtNs = retryAt;
            }
        } else if (pendingSessions.remove(s)) {
            sessionRetryAtNs = retryAt; // refused (not the active controller) or lost: the held session stays
        }
    }

    private void closeSession() {
        ControllerClient.OpenSession s = session;
        List<ControllerClient.OpenSession> pending = List.copyOf(pendingSessions);
        session = null;
        pendingSessions.clear();
        sessionHeldBy = -1;
        pending.forEach(p -> p.cancel().run());
        if (s != null) {
            s.cancel().run();
        }
    }

    private void noteFailure(String what, String why) {
        failures++;
        // The first failure and then one in 40 (about once a second at the fast tick).
        if (failures == 1 || failures % 40 == 0) {
            log.warn("Broker {} {} failed ({} in a row): {}", brokerId, what, failures, why);
        }
    }

    private void onLifecycleThread(Runnable r) {
        try {
            executor.execute(r);
        } catch (RejectedExecutionException e) {
            // shutting down
        }
    }

    /**
     * Controlled shutdown: asks the controller to move every leadership away from this broker and
     * fence it; completes when the controller says the broker leads nothing, or after
     * {@code timeoutMs} (the node then stops anyway; the session timeout does the rest).
     */
    public CompletableFuture<Void> beginControlledShutdown(long timeoutMs) {
        onLifecycleThread(() -> {
            if (state == State.RUNNING || state == State.FENCED) {
                transition(State.CONTROLLED_SHUTDOWN);
            } else {
                finishShutdown("not registered");
            }
        });
        executor.schedule(() -> finishShutdown("timed out after " + timeoutMs + " ms"), timeoutMs, TimeUnit.MILLISECONDS);
        return shutdownDone;
    }

    private void finishShutdown(String why) {
        if (!shutdownDone.isDone()) {
            log.info("Broker {} controlled shutdown done: {}", brokerId, why);
            state = State.SHUTDOWN;
            onLifecycleThread(this::closeSession);
            shutdownDone.complete(null);
        }
    }

    // ------------------------------------------------------------------ AlterPartitionSender

    @Override
    public CompletableFuture<Result> alterPartition(AlterPartitionRequest request) {
        dev.basalt.proto.v1.AlterPartitionRequest req = dev.basalt.proto.v1.AlterPartitionRequest.newBuilder()
                .setBrokerId(request.brokerId()).setIncarnationId(ProtoIds.toProto(request.incarnationId()))
                .setTopicId(ProtoIds.toProto(request.topicId())).setPartition(request.partition())
                .setLeaderEpoch(request.leaderEpoch()).setPartitionEpoch(request.partitionEpoch())
                .addAllNewIsr(request.newIsr()).build();
        return controllers.call((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).alterPartition(req),
                AlterPartitionResponse::getErrorCode, AlterPartitionResponse::getControllerId, requestTimeoutMs)
                .handle((r, e) -> {
                    if (e != null) {
                        return new Result(ErrorCode.REQUEST_TIMED_OUT, e.toString(), null);
                    }
                    if (r.getErrorCode() != ErrorCode.NONE) {
                        return new Result(r.getErrorCode(), r.getErrorMessage(), null);
                    }
                    PartitionRecord p = r.getPartition();
                    return new Result(ErrorCode.NONE, "", new PartitionRegistration(p.getReplicasList(), p.getIsrList(),
                            p.getLeader(), p.getLeaderEpoch(), p.getPartitionEpoch()));
                });
    }

    // ------------------------------------------------------------------ producer ids

    /**
     * Asks the active controller for this broker's next block of producer ids (committed in the
     * metadata log before the answer). Fails with {@link dev.basalt.broker.producer.ProducerIdManager.BlockUnavailableException}
     * naming the controller's error, or the transport failure.
     */
    public CompletableFuture<dev.basalt.metadata.image.ProducerIdsImage.ProducerIdBlock> allocateProducerIds() {
        dev.basalt.proto.v1.AllocateProducerIdsRequest req = dev.basalt.proto.v1.AllocateProducerIdsRequest.newBuilder()
                .setBrokerId(brokerId).setIncarnationId(ProtoIds.toProto(incarnationId)).build();
        return controllers.call((stub, ms) -> stub.withDeadlineAfter(ms, TimeUnit.MILLISECONDS).allocateProducerIds(req),
                dev.basalt.proto.v1.AllocateProducerIdsResponse::getErrorCode,
                dev.basalt.proto.v1.AllocateProducerIdsResponse::getControllerId, requestTimeoutMs)
                .thenApply(r -> {
                    if (r.getErrorCode() != ErrorCode.NONE) {
                        throw new dev.basalt.broker.producer.ProducerIdManager.BlockUnavailableException(
                                r.getErrorCode() + ": " + r.getErrorMessage());
                    }
                    return new dev.basalt.metadata.image.ProducerIdsImage.ProducerIdBlock(brokerId, r.getFirstProducerId(),
                            r.getSize());
                });
    }

    @Override
    public void close() {
        state = State.SHUTDOWN;
        onLifecycleThread(this::closeSession);
        shutdownDone.complete(null);
    }
}

package dev.basalt.client.internal;

import dev.basalt.client.BasaltException;
import dev.basalt.client.TopicPartition;
import dev.basalt.proto.v1.Assignment;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.basalt.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.basalt.proto.v1.ErrorCode;
import dev.basalt.proto.v1.FindCoordinatorRequest;
import dev.basalt.proto.v1.FindCoordinatorResponse;
import dev.basalt.proto.v1.GroupServiceGrpc;
import dev.basalt.proto.v1.TopicPartitions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer's membership in its group (KIP-848, the member's side): one heartbeat thread keeps the
 * session alive and learns the assignment; the consumer's poll thread reconciles (revokes, assigns,
 * runs the listener) and acknowledges what it owns, which the next heartbeat reports — so the
 * coordinator hands a partition to another member only after this one stopped consuming it.
 *
 * <h2>What a heartbeat reports as owned</h2>
 * The coordinator takes a report that no longer lists a revoked partition as the confirmation that
 * this member stopped consuming it, and gives the partition to its next owner. So a report must
 * list every partition the poll thread may be consuming or may still start consuming: the
 * partitions it acknowledged, the target it is reconciling toward ({@code claimed}, from
 * {@link #poll} until {@link #acknowledge}), and the latest assignment received (which the poll
 * thread may pick up at any moment, even after a heartbeat that omitted it was answered).
 * Reporting only the acknowledged partitions was the double-ownership bug found by
 * GroupWorkloadE2ETest: while the poll thread was taking a newly assigned partition (fetching its
 * committed offset, running onPartitionsAssigned), the target moved it on, and the next heartbeat —
 * still without it — confirmed a revocation that had not happened; the coordinator gave it to
 * another member while this one went on to consume it. A report listing more than the member holds
 * only delays a move until the poll thread catches up.
 *
 * <p>Rules the member enforces on itself (docs/consumer-groups.md): it declares its partitions lost
 * when the coordinator answers FENCED_MEMBER_EPOCH or UNKNOWN_MEMBER_ID, and when no heartbeat was
 * answered for {@code session.timeout.ms} since it was sent (no later than the coordinator's own
 * expiry, with the same timeout; checked by the heartbeat thread and by every {@link #poll}, so a
 * heartbeat blocked in a slow RPC does not delay it); it rejoins with epoch 0 only after the poll
 * thread dropped them.
 *
 * <p>{@code max.poll.interval.ms} (the rebalance timeout; Kafka's poll timer): when the application
 * has not called {@code poll} for that long, the heartbeat thread leaves the group on its own
 * (epoch -1; -2 for a static member, whose partitions then wait for it for the session timeout, as
 * in Kafka), so the coordinator gives the member's partitions to the others at once instead of
 * waiting for a revocation this member's poll thread would not perform. The member is then stale:
 * it sends nothing more; its commits carry its old epoch and are refused (UNKNOWN_MEMBER_ID:
 * {@code CommitFailedException}); its next {@link #poll} declares everything lost and rejoins with
 * epoch 0. Records a poll already returned stay the application's, as with the session rule.
 *
 * <p>Thread-safety: thread-safe; state under this object's monitor, RPCs outside it on the
 * heartbeat thread.
 */
public final class GroupMembership implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupMembership.class);
    /** What the poll thread must do: reach {@code target}, or drop everything when {@code lost}. */
    public record Reconciliation(Set<TopicPartition> target, boolean lost, int memberEpoch) {
    }

    private final String groupId;
    private final String instanceId;
    /** Heartbeat thread only: answered UNRELEASED_INSTANCE_ID since the last successful heartbeat (warned once). */
    private boolean waitingForInstanceId;
    private final String clientId;
    private final String clientHost;
    private final int rebalanceTimeoutMs;
    private final long sessionTimeoutMs;
    private final int requestTimeoutMs;
    private final long retryBackoffMs;
    private final String assignor;
    private final ChannelPool channels;
    private final Supplier<List<HostPort>> brokers;
    private final Time time;
    private final String memberId = UUID.randomUUID().toString();
    private final ScheduledExecutorService thread;

    private List<String> topicNames;
    private String topicRegex;
    private HostPort coordinator;
    private int epoch;
    private Set<TopicPartition> target = Set.of();
    private boolean targetChanged;
    private boolean lost;
    private Set<TopicPartition> owned = Set.of();
    /** The target the poll thread is reconciling toward, until it acknowledges: reported as owned too (see class doc). */
    private Set<TopicPartition> claimed = Set.of();
    /** {@link #requestRebalance()}: sent with the next heartbeat, cleared once one carrying it is answered. */
    private boolean rebalanceRequested;
    private long lastAnsweredSendMs;
    /** When the poll thread last called {@link #poll} (monotonic): the poll timer's start. */
    private long lastPollMs;
    /** Left the group because {@link #poll} was not called within the rebalance timeout; cleared by the rejoin. */
    private boolean leftOnPollTimeout;
    private int heartbeatIntervalMs = 1_000;
    private BasaltException fatal;
    private boolean closed;
    /**
     * A heartbeat is on its way to the coordinator (guarded by this). {@link #leave} waits for it:
     * a leave that overtook a join was refused (UNKNOWN_MEMBER_ID), the join then made a member that
     * no one would ever heartbeat for, and it held every partition for the session timeout (found
     * probing: a consumer closed before its first assignment arrived blocked its group for 45 s).
     */
    private boolean heartbeatInFlight;
    private ScheduledFuture<?> next;

    public GroupMembership(String groupId, String instanceId, String clientId, int rebalanceTimeoutMs, long sessionTimeoutMs,
                           int requestTimeoutMs, long retryBackoffMs, String assignor, ChannelPool channels,
                           Supplier<List<HostPort>> brokers, Time time) {
        this.groupId = groupId;
        this.instanceId = instanceId == null || instanceId.isEmpty() ? null : instanceId;
        this.clientId = clientId;
        this.clientHost = localHost();
        this.rebalanceTimeoutMs = rebalanceTimeoutMs;
        this.sessionTimeoutMs = sessionTimeoutMs;
        this.requestTimeoutMs = requestTimeoutMs;
        this.retryBackoffMs = retryBackoffMs;
        this.assignor = assignor == null ? "" : assignor;
        this.channels = channels;
        this.brokers = brokers;
        this.time = time;
        this.lastPollMs = time.monotonicMs();
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "basalt-consumer-heartbeat-" + groupId);
            th.setDaemon(true);
            return th;
        });
        t.setRemoveOnCancelPolicy(true);
        this.thread = t;
    }

    private static String localHost() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    public String memberId() {
        return memberId;
    }

    public synchronized int memberEpoch() {
        return epoch;
    }

    /** The coordinator to send commits to, found if needed (blocking, bounded by request.timeout.ms). */
    public HostPort coordinator() {
        synchronized (this) {
            if (coordinator != null) {
                return coordinator;
            }
        }
        HostPort found = findCoordinator();
        synchronized (this) {
            coordinator = found;
            return found;
        }
    }

    /** The coordinator last found, or null while none is known (no lookup). */
    public synchronized HostPort knownCoordinator() {
        return coordinator;
    }

    /**
     * Asks the brokers now which one coordinates the group (not the cached answer), and caches
     * it: for a call that waits at the coordinator it knew, to see whether the group has moved.
     */
    public HostPort coordinatorNow() {
        HostPort found = findCoordinator();
        synchronized (this) {
            coordinator = found;
        }
        return found;
    }

    /** The coordinator answered NOT_COORDINATOR (or could not be reached): find it again. */
    public synchronized void coordinatorMoved() {
        coordinator = null;
    }

    /** Starts (or changes) the subscription; heartbeats begin at once. */
    public synchronized void subscribe(List<String> names, String regex) {
        this.topicNames = names == null ? null : List.copyOf(names);
        this.topicRegex = regex;
        lastPollMs = time.monotonicMs(); // the application is active: the poll timer starts now
        schedule(0);
    }

    /**
     * The poll thread's next reconciliation, or null when nothing changed. From here until
     * {@link #acknowledge}, heartbeats report the target as owned (the poll thread may be taking any
     * of it). Throws a fatal group error.
     */
    public synchronized Reconciliation poll() {
        long nowMs = time.monotonicMs();
        boolean wasIdle = nowMs - lastPollMs > rebalanceTimeoutMs;
        lastPollMs = nowMs;
        if (wasIdle && !leftOnPollTimeout && epoch > 0 && !lost) {
            // past the timeout, and the heartbeat thread has not left yet (it was blocked in an RPC):
            // the coordinator is told at once, as if it had
            leaveOnPollTimeout();
        }
        if (fatal != null) {
            BasaltException e = fatal;
            fatal = null;
            throw e;
        }
        if (!lost && sessionExpired(nowMs)) {
            lost = true; // the heartbeat thread may be blocked in an RPC: do not wait for it to notice
        }
        if (lost) {
            return new Reconciliation(Set.of(), true, epoch);
        }
        if (targetChanged) {
            targetChanged = false;
            claimed = target;
            return new Reconciliation(target, false, epoch);
        }
        return null;
    }

    /** The member owes a reconciliation that drops everything (fenced, session expired, or left on the poll timer). */
    public synchronized boolean isLost() {
        return lost;
    }

    /**
     * The poll timer expired: from now on the member is out of the group (its partitions are lost)
     * and a leave heartbeat goes out on the heartbeat thread, at once. Under the monitor.
     */
    private void leaveOnPollTimeout() {
        leftOnPollTimeout = true;
        lost = true;
        ConsumerGroupHeartbeatRequest leave = ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(groupId).setMemberId(memberId)
                .setMemberEpoch(instanceId == null ? -1 : -2).setInstanceId(instanceId == null ? "" : instanceId).build();
        if (closed) {
            return;
        }
        // Queued before any rejoin the poll thread may trigger: the one heartbeat thread sends them in order.
        try {
            thread.execute(() -> sendLeave(leave));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: close() leaves anyway
        }
    }

    /** Sends a leave built earlier (best effort: the session timeout removes the member anyway). */
    private void sendLeave(ConsumerGroupHeartbeatRequest leave) {
        synchronized (this) {
            if (closed) {
                return;
            }
        }
        try {
            GroupServiceGrpc.newBlockingStub(channels.channel(coordinator()))
                    .withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS).consumerGroupHeartbeat(leave);
        } catch (RuntimeException e) {
            coordinatorMoved();
        }
    }

    /** No heartbeat sent within the last session timeout was answered: the coordinator may have expired us. */
    private boolean sessionExpired(long nowMs) {
        return epoch > 0 && nowMs - lastAnsweredSendMs > sessionTimeoutMs;
    }

    /**
     * The poll thread revoked partitions and owns these now, while it goes on taking the rest of its
     * target: the next heartbeat (sent at once) confirms the revocation, so their new owners need not
     * wait for this member's assignment work.
     */
    public synchronized void revoked(Set<TopicPartition> nowOwned) {
        owned = Set.copyOf(nowOwned);
        schedule(0);
    }

    /** The poll thread owns exactly these now (after revoking and assigning); the next heartbeat tells. */
    public synchronized void acknowledge(Set<TopicPartition> nowOwned, boolean wasLost) {
        owned = Set.copyOf(nowOwned);
        claimed = Set.of();
        if (wasLost && lost) {
            lost = false;
            leftOnPollTimeout = false;
            epoch = 0; // rejoin: everything was dropped first
            target = Set.of();
            targetChanged = false;
        }
        schedule(0);
    }

    /** enforceRebalance(): the next heartbeat asks the coordinator to recompute the target assignment. */
    public synchronized void requestRebalance() {
        rebalanceRequested = true;
        schedule(0);
    }

    /** What a heartbeat reports as owned: acknowledged, being taken, or assigned and not yet picked up. */
    private Set<TopicPartition> reported() {
        Set<TopicPartition> all = new LinkedHashSet<>(owned);
        all.addAll(claimed);
        all.addAll(target);
        return all;
    }

    private synchronized void schedule(long delayMs) {
        if (closed || (topicNames == null && topicRegex == null)) {
            return;
        }
        if (next != null) {
            next.cancel(false);
        }
        next = thread.schedule(this::heartbeat, delayMs, TimeUnit.MILLISECONDS);
    }

    private void heartbeat() {
        ConsumerGroupHeartbeatRequest req;
        long sentMs = time.monotonicMs();
        synchronized (this) {
            if (closed) {
                return;
            }
            if (lost) {
                schedule(retryBackoffMs); // waits for the poll thread to drop the partitions
                return;
            }
            if (epoch > 0 && sentMs - lastPollMs > rebalanceTimeoutMs) {
                leaveOnPollTimeout(); // the application stopped polling: give its partitions up
                schedule(retryBackoffMs);
                return;
            }
            if (sessionExpired(sentMs)) {
                lost = true; // the coordinator may have expired us: stop claiming the partitions
                schedule(retryBackoffMs);
                return;
            }
            ConsumerGroupHeartbeatRequest.Builder b = ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(groupId)
                    .setMemberId(memberId).setMemberEpoch(epoch).setInstanceId(instanceId == null ? "" : instanceId)
                    .setRebalanceTimeoutMs(rebalanceTimeoutMs).setServerAssignor(assignor).setClientId(clientId)
                    .setClientHost(clientHost).setOwned(toProto(reported())).setRebalanceRequested(rebalanceRequested);
            ConsumerGroupHeartbeatRequest.Subscription.Builder sub = ConsumerGroupHeartbeatRequest.Subscription.newBuilder();
            if (topicNames != null) {
                sub.addAllTopicNames(topicNames);
            }
            sub.setTopicRegex(topicRegex == null ? "" : topicRegex);
            b.setSubscription(sub);
            req = b.build();
            if (epoch == 0) {
                lastAnsweredSendMs = sentMs;
            }
            heartbeatInFlight = true;
        }
        long delay;
        try {
            HostPort c = coordinator();
            ConsumerGroupHeartbeatResponse r = GroupServiceGrpc.newBlockingStub(channels.channel(c))
                    .withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS).consumerGroupHeartbeat(req);
            delay = onResponse(req, r, sentMs);
        } catch (RuntimeException e) {
            coordinatorMoved();
            delay = retryBackoffMs;
        } finally {
            synchronized (this) {
                heartbeatInFlight = false;
                notifyAll();
            }
        }
        synchronized (this) {
            if (epoch > 0) {
                // wake up when the poll timer expires, not up to a heartbeat interval later
                delay = Math.min(delay, Math.max(0, lastPollMs + rebalanceTimeoutMs + 1 - time.monotonicMs()));
            }
        }
        schedule(delay);
    }

    private synchronized long onResponse(ConsumerGroupHeartbeatRequest req, ConsumerGroupHeartbeatResponse r, long sentMs) {
        if (req.getMemberEpoch() != epoch) {
            return 0; // the poll thread reset the epoch meanwhile (a loss): this answer is stale
        }
        long delay = decide(req, r, sentMs);
        if (!req.getOwned().equals(toProto(reported())) || (rebalanceRequested && !req.getRebalanceRequested())) {
            return 0; // the poll thread acknowledged (or asked for a rebalance) while this one was in flight: tell now
        }
        return delay;
    }

    private long decide(ConsumerGroupHeartbeatRequest req, ConsumerGroupHeartbeatResponse r, long sentMs) {
        switch (r.getErrorCode()) {
            case NONE -> {
                if (waitingForInstanceId) {
                    waitingForInstanceId = false;
                    LOG.info("Group {}: group.instance.id {} was released; this consumer joined", groupId, instanceId);
                }
                lastAnsweredSendMs = sentMs;
                if (req.getRebalanceRequested()) {
                    rebalanceRequested = false;
                }
                epoch = r.getMemberEpoch();
                heartbeatIntervalMs = Math.max(1, r.getHeartbeatIntervalMs());
                Set<TopicPartition> a = fromProto(r.getAssignment());
                if (!a.equals(target)) {
                    target = a;
                    targetChanged = true;
                }
                return heartbeatIntervalMs;
            }
            case FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID -> {
                lost = true;
                return retryBackoffMs;
            }
            case NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, REQUEST_TIMED_OUT -> {
                coordinator = null;
                return retryBackoffMs;
            }
            case UNRELEASED_INSTANCE_ID -> {
                // Kept trying: a consumer restarted after a crash takes its instance id over once the
                // old incarnation's session ends. But a second consumer started with the same id
                // would wait for ever with no partitions: say so (found probing: it sat silent).
                if (!waitingForInstanceId) {
                    waitingForInstanceId = true;
                    LOG.warn("Group {}: group.instance.id {} is held by another member that has not left the group ({});"
                            + " this consumer gets no partitions until that member leaves or its session times out"
                            + " (session.timeout.ms), and asks again every {} ms. Is another consumer running with the same"
                            + " group.instance.id?", groupId, instanceId, r.getErrorMessage(), heartbeatIntervalMs);
                }
                return heartbeatIntervalMs;
            }
            default -> {
                dev.basalt.client.BasaltException e = Errors.forCode(r.getErrorCode(), r.getErrorMessage(), "heartbeat of group "
                        + groupId);
                if (e.retriable() || e instanceof dev.basalt.client.IndeterminateException) {
                    // a transient state of the coordinator's own log (found probing: an older broker passed
                    // NOT_ENOUGH_REPLICAS on, and poll() threw it): asked again, as COORDINATOR_NOT_AVAILABLE is
                    LOG.debug("Group {}: heartbeat answered {}; asking again", groupId, e.getMessage());
                    coordinator = null;
                    return retryBackoffMs;
                }
                fatal = e;
                return heartbeatIntervalMs;
            }
        }
    }

    /**
     * Asks the known brokers which one coordinates the group ({@link HedgedRead}: a broker that
     * does not answer holds the lookup for {@link MetadataManager#HEDGE_AFTER_MS}, not for
     * request.timeout.ms).
     */
    private HostPort findCoordinator() {
        List<HostPort> known = brokers.get();
        if (known.isEmpty()) {
            throw new IllegalStateException("no broker known");
        }
        HostPort found = findCoordinator(groupId, known, channels, requestTimeoutMs, (b, call) -> { });
        LOG.debug("Group {}: coordinator is {} (asked {})", groupId, found, known);
        return found;
    }

    /**
     * Which broker coordinates {@code groupId}, asked of {@code brokers} in order as a
     * {@link HedgedRead} (a broker that does not answer holds the lookup for
     * {@link MetadataManager#HEDGE_AFTER_MS}, not for the request timeout). {@code onSend} sees
     * each request as it goes out (the group admin keeps track of brokers that do not answer).
     *
     * @throws dev.basalt.client.BasaltException the last refusal or failure when no broker answered
     */
    public static HostPort findCoordinator(String groupId, List<HostPort> brokers, ChannelPool channels, int requestTimeoutMs,
                                           java.util.function.BiConsumer<HostPort,
                                                   com.google.common.util.concurrent.ListenableFuture<FindCoordinatorResponse>> onSend) {
        String what = "find coordinator of group " + groupId;
        FindCoordinatorRequest req = FindCoordinatorRequest.newBuilder().setGroupId(groupId).build();
        FindCoordinatorResponse r = HedgedRead.ask(brokers, 0, MetadataManager.HEDGE_AFTER_MS,
                b -> {
                    com.google.common.util.concurrent.ListenableFuture<FindCoordinatorResponse> f = GroupServiceGrpc.newFutureStub(
                            channels.channel(b)).withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS).findCoordinator(req);
                    onSend.accept(b, f);
                    return f;
                },
                a -> a.getErrorCode() == ErrorCode.NONE ? null : Errors.forCode(a.getErrorCode(), a.getErrorMessage(), what),
                (b, e) -> Errors.forTransport(e, false, what + " at " + b),
                e -> true).value();
        return new HostPort(r.getHost(), r.getPort());
    }

    /**
     * Leaves the group at once (epoch -1; -2 for a static member, whose partitions then wait for it
     * for the session timeout). The caller revoked (and committed) first. Best effort, bounded.
     */
    public void leave() {
        ConsumerGroupHeartbeatRequest req;
        long deadlineMs;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (next != null) {
                next.cancel(false);
            }
            if (topicNames == null && topicRegex == null) {
                return;
            }
            // A heartbeat on its way (a join, most likely) is answered first: the leave must reach the
            // coordinator after it, or the member it creates would stay (see heartbeatInFlight).
            deadlineMs = time.monotonicMs() + requestTimeoutMs;
            while (heartbeatInFlight) {
                long leftMs = deadlineMs - time.monotonicMs();
                if (leftMs <= 0) {
                    break;
                }
                try {
                    wait(leftMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            req = ConsumerGroupHeartbeatRequest.newBuilder().setGroupId(groupId).setMemberId(memberId)
                    .setMemberEpoch(instanceId == null ? -1 : -2).setInstanceId(instanceId == null ? "" : instanceId).build();
        }
        // Retried while the coordinator moves or loads, within the same request.timeout.ms as the
        // wait above: a leave lost here leaves a member holding its partitions for the session timeout.
        for (int attempt = 0; ; attempt++) {
            long leftMs = deadlineMs - time.monotonicMs();
            if (attempt == 0) {
                leftMs = Math.max(leftMs, Math.min(requestTimeoutMs, 5_000)); // one attempt, even after a long wait
            } else if (leftMs <= 0) {
                return; // the session timeout removes us anyway
            }
            ErrorCode code;
            try {
                code = GroupServiceGrpc.newBlockingStub(channels.channel(coordinator()))
                        .withDeadlineAfter(leftMs, TimeUnit.MILLISECONDS).consumerGroupHeartbeat(req).getErrorCode();
            } catch (RuntimeException e) {
                code = ErrorCode.COORDINATOR_NOT_AVAILABLE;
            }
            if (code != ErrorCode.NOT_COORDINATOR && code != ErrorCode.COORDINATOR_NOT_AVAILABLE
                    && code != ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
                return; // left, or nothing to leave (UNKNOWN_MEMBER_ID: the session already ended)
            }
            coordinatorMoved();
            try {
                Thread.sleep(Math.min(retryBackoffMs, Math.max(1, deadlineMs - time.monotonicMs())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        leave();
        thread.shutdownNow();
    }

    static Assignment toProto(Collection<TopicPartition> partitions) {
        TreeMap<String, TreeSet<Integer>> byTopic = new TreeMap<>();
        partitions.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), t -> new TreeSet<>()).add(tp.partition()));
        Assignment.Builder b = Assignment.newBuilder();
        byTopic.forEach((t, ps) -> b.addTopics(TopicPartitions.newBuilder().setTopic(t).addAllPartitions(ps)));
        return b.build();
    }

    static Set<TopicPartition> fromProto(Assignment a) {
        Set<TopicPartition> out = new LinkedHashSet<>();
        for (TopicPartitions t : a.getTopicsList()) {
            for (int p : t.getPartitionsList()) {
                out.add(new TopicPartition(t.getTopic(), p));
            }
        }
        return out;
    }

    static List<TopicPartition> sorted(Collection<TopicPartition> c) {
        List<TopicPartition> out = new ArrayList<>(c);
        out.sort((a, b) -> a.topic().equals(b.topic()) ? Integer.compare(a.partition(), b.partition()) : a.topic().compareTo(b.topic()));
        return out;
    }
}

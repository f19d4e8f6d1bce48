package dev.basalt.broker.controller;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.broker.metadata.MetadataPublisher;
import dev.basalt.broker.metrics.RpcMetrics;
import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import dev.basalt.raft.core.RaftConfig;
import dev.basalt.raft.driver.FatalFaultHandler;
import dev.basalt.raft.driver.NotLeaderException;
import dev.basalt.raft.driver.RaftNode;
import dev.basalt.raft.driver.RaftNodeConfig;
import dev.basalt.raft.driver.StateMachine;
import dev.basalt.raft.log.FileRaftStore;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.transport.GrpcTransport;
import io.grpc.ServerServiceDefinition;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The metadata quorum on a controller node: a {@link RaftNode} with its durable store in
 * {@code <data.dir>/raft} and its gRPC transport on the CONTROLLER listener (which also serves the
 * node's Controller and Admin services), feeding committed entries to the
 * {@link MetadataStateMachine} and to the window of {@link RecentMetadataEntries} observers read.
 *
 * <p>Activation without blocking: when the Raft driver reports this node leader in term T, an
 * asynchronous ReadIndex round proves which index was committed before T (Raft §8: a new leader
 * knows what is committed only after committing its own no-op); once the publisher has handed an
 * image holding that index to the subscribers, {@link #activeTerm()} becomes T. Nothing waits:
 * callers read a volatile. Losing leadership clears it at once.
 *
 * <p>Caught up: a voter's image has caught up with the quorum once it is active (leader) or, as a
 * follower, has applied the commit index the leader sent. Until then nothing may be deleted on the
 * image's account (see MetadataUpdate).
 *
 * <p>Thread-safety: thread-safe.
 */
public final class RaftMetadataQuorum implements MetadataQuorum, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RaftMetadataQuorum.class);
    /** Retry delay of a failed activation ReadIndex (the leader may still be committing its no-op). */
    private static final long ACTIVATION_RETRY_MS = 50;
    /** How often a node not yet caught up re-checks (see {@link #pollCaughtUp()}). */
    private static final long CAUGHT_UP_POLL_MS = 50;
    /** How often the active controller looks for configured voters that are no member at all (see {@link #readmitConfiguredVoters}). */
    static final long READMIT_CHECK_MS = 1_000;
    static final int OBSERVER_WINDOW_ENTRIES_MAX = 20_000;
    static final long OBSERVER_WINDOW_BYTES_MAX = 64L << 20;

    private final RaftNode node;
    private final MetadataStateMachine stateMachine;
    private final MetadataPublisher publisher;
    private final RecentMetadataEntries recent;
    private final Map<Integer, NodeConfig.HostPort> voters;
    /**
     * A Raft member that has not answered this leader for longer is not reporting (its lag in
     * DescribeQuorum is unknown): twice the longest election timeout, a dozen or more heartbeats.
     */
    private final long memberSilenceMaxMs;
    /** Observers (broker-only nodes) by id: {applied index they fetched from, when (ms)}. */
    private final java.util.concurrent.ConcurrentSkipListMap<Integer, long[]> observers = new java.util.concurrent.ConcurrentSkipListMap<>();
    private volatile long activeTerm = -1;
    private volatile boolean caughtUp;
    private volatile boolean closed;
    /** An operator's voter change is under way (it makes its own observer step; the readmission check waits). */
    private final java.util.concurrent.atomic.AtomicInteger voterChangesInFlight = new java.util.concurrent.atomic.AtomicInteger();
    /** The term whose readmission check runs (one loop per term, however often activation ran in it). */
    private final java.util.concurrent.atomic.AtomicLong readmitLoopTerm = new java.util.concurrent.atomic.AtomicLong(-1);

    private RaftMetadataQuorum(RaftNode node, MetadataStateMachine stateMachine, MetadataPublisher publisher,
                               RecentMetadataEntries recent, Map<Integer, NodeConfig.HostPort> voters, long memberSilenceMaxMs) {
        this.node = node;
        this.memberSilenceMaxMs = memberSilenceMaxMs;
        this.stateMachine = stateMachine;
        this.publisher = publisher;
        this.recent = recent;
        this.voters = voters;
        this.leaders = new LeaderHistory(node.nodeId(), TimeUnit.MILLISECONDS.toNanos(PREDECESSOR_WINDOW_MS));
    }

    /** A holder the state machine adapter writes to before the quorum object exists. */
    private static final class Late {
        volatile RaftMetadataQuorum quorum;
    }

    /**
     * Opens the store, starts the transport (serving {@code services} beside Raft) and the driver;
     * the state machine replays the metadata log.
     */
    public static RaftMetadataQuorum start(NodeConfig config, Path raftDir, MetadataStateMachine stateMachine,
                                           MetadataPublisher publisher, List<ServerServiceDefinition> services)
            throws IOException {
        return start(config, raftDir, stateMachine, publisher, services, false, null);
    }

    /**
     * As above; {@code rejoining}: this voter lost its metadata log and was formatted to rejoin
     * (its directory has a new id). It starts as an observer of the configured voters, grants no
     * vote and never campaigns until a voter change adds it back (see RaftCore). {@code requests}:
     * the CONTROLLER listener's request metrics (every call on the port, Raft included), or null.
     */
    public static RaftMetadataQuorum start(NodeConfig config, Path raftDir, MetadataStateMachine stateMachine,
                                           MetadataPublisher publisher, List<ServerServiceDefinition> services,
                                           boolean rejoining, RpcMetrics requests) throws IOException {
        Map<Integer, NodeConfig.HostPort> voters = config.voters();
        Map<Integer, InetSocketAddress> peers = new TreeMap<>();
        voters.forEach((id, hp) -> peers.put(id, new InetSocketAddress(hp.host(), hp.port())));
        NodeConfig.HostPort listen = config.controllerListener();
        GrpcTransport transport = new GrpcTransport(config.nodeId(), new InetSocketAddress(listen.host(), listen.port()), peers,
                GrpcTransport.Options.DEFAULT);
        services.forEach(transport::addService);
        if (requests != null) {
            transport.instrument(requests.tracerFactory(), requests.interceptor());
        }
        FileRaftStore store = FileRaftStore.open(raftDir, FileRaftStore.Config.DEFAULT,
                dev.basalt.broker.testsupport.TestHooks.raftStorageIo()); // StorageIo.nio() unless a test hook is on
        int electionMs = config.getInt("raft.election.timeout.ms");
        RaftConfig defaults = RaftConfig.DEFAULT;
        RaftConfig raft = new RaftConfig(electionMs, electionMs * 2, config.getInt("raft.heartbeat.interval.ms"),
                defaults.appendBytesMax(), defaults.inflightAppendsMax(), defaults.snapshotChunkBytes(), defaults.pendingReadsMax());
        Configuration bootstrap;
        if (rejoining) {
            java.util.Set<Integer> others = new java.util.TreeSet<>(voters.keySet());
            others.remove(config.nodeId());
            bootstrap = Configuration.of(others, List.of(config.nodeId()));
            log.warn("Voter {} rejoins the metadata quorum with an empty log (new directory): it will not vote until a voter"
                    + " change re-adds it (remove-voter {} then add-voter {} on the active controller)", config.nodeId(),
                    config.nodeId(), config.nodeId());
        } else {
            bootstrap = Configuration.of(voters.keySet(), List.of());
        }
        RaftNodeConfig c = RaftNodeConfig.defaults(config.nodeId(), bootstrap);
        RaftNodeConfig nodeConfig = new RaftNodeConfig(c.nodeId(), c.bootstrap(), raft, c.proposeTimeoutMs(), c.readTimeoutMs(),
                c.proposalBytesMax(), c.pendingRequestsMax(), c.eventQueueMax(), c.batchEventsMax(), c.snapshotEveryEntries(),
                c.closeTimeoutMs());
        RecentMetadataEntries recent = new RecentMetadataEntries(OBSERVER_WINDOW_ENTRIES_MAX, OBSERVER_WINDOW_BYTES_MAX);
        Late late = new Late();
        StateMachine adapter = new StateMachine() {
            @Override
            public void apply(LogEntry entry) {
                stateMachine.apply(entry);
                recent.append(entry.index(), entry.type() == LogEntry.EntryType.DATA ? entry.data() : new byte[0]);
                RaftMetadataQuorum q = late.quorum;
                if (q != null) {
                    q.maybeMarkCaughtUp();
                }
            }

            @Override
            public byte[] snapshot() {
                return stateMachine.snapshot();
            }

            @Override
            public void restore(SnapshotMeta meta, byte[] data) {
                stateMachine.restore(data);
                recent.reset(stateMachine.appliedIndex());
            }
        };
        RaftNode node;
        try {
            node = RaftNode.start(nodeConfig, store, adapter, transport, FatalFaultHandler.HALT);
        } catch (IOException | RuntimeException e) {
            store.close();
            transport.close();
            throw new IOException("cannot start the metadata quorum on " + listen + ": " + e.getMessage(), e);
        }
        RaftMetadataQuorum q = new RaftMetadataQuorum(node, stateMachine, publisher, recent, voters,
                2L * raft.electionTimeoutMaxMs());
        late.quorum = q;
        node.addLeaderListener(q::onLeaderChange);
        q.onLeaderChange(node.term(), node.leaderId());
        q.pollCaughtUp();
        return q;
    }

    // ------------------------------------------------------------------ activation (never blocks)

    /** The term and the other leaders before it: see {@link #predecessorsOf}. */
    private record Predecessors(long term, java.util.Set<Integer> ids) {
    }

    /**
     * How recently a leader's term must have ended, at this node's activation, for its broker to be
     * suspected of having died with it. A leader replaced longer ago had its live broker's session
     * moved long since, or its dead broker fenced by a controller in between; found by review: a
     * node that had not led since it started suspected every leader it had ever seen (a rolling
     * restart's), and a live broker slow to move its session was fenced again.
     */
    static final long PREDECESSOR_WINDOW_MS = 10_000;

    /** Guards {@link #leaders}. */
    private final Object leadersLock = new Object();
    private final LeaderHistory leaders;
    /** Set before {@link #activeTerm}, so a reader that sees the term active sees its predecessors. */
    private volatile Predecessors predecessors = new Predecessors(-1, null);

    @Override
    public java.util.Set<Integer> predecessorsOf(long term) {
        Predecessors p = predecessors;
        return p.term() == term ? p.ids() : null;
    }

    private void onLeaderChange(long term, int leaderId) {
        synchronized (leadersLock) {
            leaders.onLeaderChange(term, leaderId, System.nanoTime());
        }
        if (activeTerm >= 0 && (activeTerm != term || leaderId != node.nodeId())) {
            log.info("No longer the active controller (term {}, leader {})", term, leaderId);
            activeTerm = -1;
        }
        if (leaderId == node.nodeId() && !closed) {
            activate(term);
        }
        maybeMarkCaughtUp();
    }

    /** ReadIndex, then wait (asynchronously) until the publisher has handed out an image holding it. */
    private void activate(long term) {
        node.readIndex().thenCompose(publisher::whenPublished).whenComplete((index, error) -> {
            if (closed || node.term() != term || !node.isLeader()) {
                return;
            }
            if (error != null) {
                CompletableFuture.delayedExecutor(ACTIVATION_RETRY_MS, TimeUnit.MILLISECONDS).execute(() -> {
                    if (!closed && node.term() == term && node.isLeader() && activeTerm != term) {
                        activate(term);
                    }
                });
                return;
            }
            java.util.Set<Integer> before;
            synchronized (leadersLock) {
                if (predecessors.term() == term) {
                    before = predecessors.ids(); // activated twice for one term: the first answer stands
                } else {
                    before = leaders.predecessorsOf(term, System.nanoTime());
                    predecessors = new Predecessors(term, before);
                }
            }
            activeTerm = term;
            log.info("Active controller in term {} (image at index {}{})", term, index,
                    before == null ? "" : before.isEmpty() ? "; no other leader since its last term" : "; taking over from " + before);
            maybeMarkCaughtUp();
            if (readmitLoopTerm.getAndSet(term) != term) {
                readmitConfiguredVoters(term);
            }
        });
    }

    /**
     * While active: a node of {@code controller.quorum.voters} that is neither a voter nor an
     * observer of the quorum is added back as an observer, so it receives the metadata log again
     * (a voter change can promote it). That is the state a voter removal leaves when its second
     * step, keeping the node as an observer, failed: the active controller removing itself is no
     * longer the leader when that step is proposed, and until this check its broker got no
     * metadata at all and it could not even tell who the controller was (found writing
     * VoterRemovalE2ETest). One change at a time, none started while an operator's voter change
     * made on this node is in flight (one that arrives while a readmission is proposed may be
     * answered 409, as any change beside another is), checked every {@link #READMIT_CHECK_MS} ms
     * while this node stays active in {@code term}.
     */
    private void readmitConfiguredVoters(long term) {
        if (closed || activeTerm != term || !node.isLeader()) {
            return;
        }
        CompletableFuture<?> step = CompletableFuture.completedFuture(null);
        if (voterChangesInFlight.get() == 0) {
            dev.basalt.raft.quorum.Configuration c = node.configuration();
            for (int id : voters.keySet()) {
                if (!c.isVoter(id) && !c.observers().contains(id)) {
                    log.info("Configured voter {} is no member of the metadata quorum ({}): adding it back as an observer", id, c);
                    step = node.addObserver(id).handle((index, error) -> {
                        if (error != null) {
                            log.info("Adding configured voter {} back as an observer did not happen now: {}", id, error.getMessage());
                        } else {
                            log.info("Configured voter {} is an observer of the metadata quorum again (index {})", id, index);
                        }
                        return null;
                    });
                    break;
                }
            }
        }
        step.whenComplete((ok, error) -> CompletableFuture.delayedExecutor(READMIT_CHECK_MS, TimeUnit.MILLISECONDS)
                .execute(() -> readmitConfiguredVoters(term)));
    }

    /**
     * A restarted follower may have applied everything during replay, before it learned the leader's
     * commit index, so no later apply or leader change re-checks: poll until caught up.
     */
    private void pollCaughtUp() {
        maybeMarkCaughtUp();
        if (!caughtUp && !closed) {
            CompletableFuture.delayedExecutor(CAUGHT_UP_POLL_MS, TimeUnit.MILLISECONDS).execute(this::pollCaughtUp);
        }
    }

    private void maybeMarkCaughtUp() {
        if (caughtUp) {
            return;
        }
        // A follower: against the commit index the leader sent, not its own. A restarted node's own
        // is the one it persisted, reached by replaying its log before the leader's first message;
        // judged by it, the node said caught up with the image it had when it went down, and could
        // answer the ISR it last knew, with itself in it, while it was still out (a CI failure
        // pointed there). Back within a moment, its first messages may still carry an older commit
        // index (sent just after it went down): that bound needs a question to the leader.
        long leaderCommit = node.leaderCommitSeen();
        boolean ok = activeTerm >= 0
                || (node.leaderId() >= 0 && !node.isLeader() && leaderCommit > 0
                && stateMachine.appliedIndex() >= leaderCommit);
        if (ok) {
            caughtUp = true;
            log.info("Metadata image caught up with the quorum at index {}", stateMachine.appliedIndex());
            publisher.wake();
        }
    }

    /** Whether this node's image has caught up with what the quorum committed (see MetadataUpdate). */
    /** Whether this node's latest known configuration makes it a voter (false while rejoining). */
    public boolean isVoter() {
        return node.isVoter();
    }

    /**
     * Why this node's metadata log stands aside (its disk is full: it neither votes nor leads nor
     * follows until there is room again, then rejoins by itself), or null.
     */
    public String suspendedReason() {
        return node.suspendedReason();
    }

    /**
     * One single-server voter change on this node, which must lead (dissertation §4.1): how an
     * operator re-admits a voter that rejoined with a new directory (remove it, then add it).
     * Completes once the configuration entry is committed.
     *
     * <p>A removed voter is demoted to an observer (a second change, once the removal committed),
     * as KIP-853 does: a node that keeps running, a combined node's broker above all, still needs
     * the metadata log, and the leader only replicates to members. Without it the removed node
     * never even learned of its removal and its image froze (found by the Jepsen-style
     * voter-change nemesis; VoterRemovalE2ETest).
     */
    public CompletableFuture<Long> changeVoter(boolean add, int nodeId) {
        if (add) {
            if (!node.configuration().observers().contains(nodeId) && !voters.containsKey(nodeId)) {
                // A voter must be a node of this quorum: one it keeps as an observer (a removed voter
                // that still runs) or one of the configured controller.quorum.voters (a removed voter
                // whose demotion to observer failed, e.g. the active controller removing itself,
                // must still be addable). Found probing: add-voter?id=9, a node that never existed,
                // was accepted and counted toward every majority from then on.
                return CompletableFuture.failedFuture(new IllegalArgumentException(notAQuorumNode(nodeId,
                        new java.util.TreeSet<>(voters.keySet()), node.configuration(), observers.keySet())));
            }
            return tracked(() -> node.addVoter(nodeId));
        }
        return tracked(() -> node.removeVoter(nodeId).thenCompose(index -> node.addObserver(nodeId).handle((observerIndex, error) -> {
            if (error != null) {
                Throwable why = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                throw new java.util.concurrent.CompletionException(new ObserverStepFailed(nodeId, index,
                        why.getMessage() == null ? why.getClass().getSimpleName() : why.getMessage()));
            }
            return observerIndex;
        })));
    }

    /**
     * Why add-voter of {@code nodeId} is refused: it is neither one of controller.quorum.voters
     * nor a Raft observer (a member that does not vote). A broker-only node reads the metadata log
     * as a broker, outside the Raft quorum: that is said, and the Raft observers are named as
     * such, "none" when there are none. Found probing: add-voter of a broker-only node listed
     * "observers []" though `basalt cluster` showed it as an observer.
     *
     * @param brokerReaders broker-only nodes that have fetched the metadata log from this node
     */
    static String notAQuorumNode(int nodeId, java.util.SortedSet<Integer> configuredVoters, Configuration latest,
                                 java.util.Set<Integer> brokerReaders) {
        String why = brokerReaders.contains(nodeId)
                ? "node " + nodeId + " is a broker-only node: it reads the metadata log as a broker (an observer in `basalt cluster`),"
                        + " not as a member of the Raft quorum, and only a node of controller.quorum.voters " + configuredVoters
                        + " (one running as a controller) can be made a voter"
                : "node " + nodeId + " is not a node of this quorum: neither one of controller.quorum.voters " + configuredVoters
                        + " nor a Raft observer of it (a removed voter still running)";
        return why + "; voters now " + latest.voters() + ", Raft observers "
                + (latest.observers().isEmpty() ? "none" : latest.observers().toString())
                + ", brokers reading the metadata log from this node " + (brokerReaders.isEmpty() ? "none"
                : new java.util.TreeSet<>(brokerReaders).toString());
    }

    /** Counts an operator's voter change as in flight until it completes (the readmission check waits meanwhile). */
    private CompletableFuture<Long> tracked(java.util.function.Supplier<CompletableFuture<Long>> proposal) {
        voterChangesInFlight.incrementAndGet();
        CompletableFuture<Long> change = proposal.get();
        change.whenComplete((index, error) -> voterChangesInFlight.decrementAndGet());
        return change;
    }

    /**
     * A voter removal that committed whose second step, keeping the node as an observer, failed
     * (typically the active controller removing itself: it is no longer the leader when the
     * second change is proposed). The removal stands; the node is no longer a member.
     */
    public static final class ObserverStepFailed extends RuntimeException {
        private final long removedAtIndex;

        ObserverStepFailed(int nodeId, long removedAtIndex, String reason) {
            super("removed voter " + nodeId + " at index " + removedAtIndex + ", but keeping it as an observer failed ("
                    + reason + ", or its outcome is unknown); the active controller adds a node of controller.quorum.voters back as an observer "
                    + "within seconds, and POST /quorum/add-voter?id=" + nodeId + " there makes it a voter again", null, false, false);
            this.removedAtIndex = removedAtIndex;
        }

        public long removedAtIndex() {
            return removedAtIndex;
        }
    }

    public boolean isCaughtUp() {
        return caughtUp;
    }

    @Override
    public long activeTerm() {
        long t = activeTerm;
        return t >= 0 && node.isLeader() && node.term() == t ? t : -1;
    }

    @Override
    public MetadataImage committedImage() {
        return stateMachine.image();
    }

    public long appliedIndex() {
        return stateMachine.appliedIndex();
    }

    public RecentMetadataEntries recentEntries() {
        return recent;
    }

    /** The current image as snapshot bytes, for an observer too far behind the window. */
    public byte[] snapshotBytes() {
        return stateMachine.snapshot();
    }

    @Override
    public CompletableFuture<Long> propose(byte[] recordBatch) {
        CompletableFuture<Long> out = new CompletableFuture<>();
        CompletableFuture<Long> proposed;
        try {
            proposed = node.propose(recordBatch);
        } catch (IllegalArgumentException e) {
            out.completeExceptionally(e);
            return out;
        }
        proposed.thenCompose(publisher::whenPublished).whenComplete((index, error) -> {
            if (error == null) {
                out.complete(index);
                return;
            }
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (cause instanceof NotLeaderException nle) {
                out.completeExceptionally(new NotControllerException(nle.getMessage(), node.leaderId()));
            } else {
                out.completeExceptionally(cause);
            }
        });
        return out;
    }

    @Override
    public int leaderId() {
        return node.leaderId();
    }

    public int nodeId() {
        return node.nodeId();
    }

    /** The Raft commit index of the metadata log as this voter knows it. */
    public long commitIndex() {
        return node.commitIndex();
    }

    /** {@code listener} hears every leader or term change, on Raft's driver thread (it must not block). */
    public void addLeaderListener(dev.basalt.raft.driver.LeaderListener listener) {
        node.addLeaderListener(listener);
    }

    /** Moves Raft leadership to another voter (graceful shutdown of the active controller). */
    public CompletableFuture<Void> transferLeadership(int targetId) {
        return node.transferLeadership(targetId);
    }

    /**
     * An observer fetched metadata after {@code appliedIndex} (for DescribeQuorum): its position, the
     * time, and the last time a fetch of it found it caught up with this node's applied index (kept
     * as the log moves on: found probing, a broker killed while caught up showed "never" as soon as
     * the record fencing it was applied).
     */
    public void observerFetched(int nodeId, long appliedIndex) {
        long now = dev.basalt.broker.testsupport.TestHooks.wallMillis();
        boolean caughtUp = appliedIndex >= stateMachine.appliedIndex();
        observers.compute(nodeId, (id, old) -> new long[] {appliedIndex, now, caughtUp ? now : old == null ? -1 : old[2]});
    }

    /**
     * A Raft member's row of DescribeQuorum: this node's own applied position, or another member's
     * replication as this leader last saw it. Known on the leader only; elsewhere -1. "Fetch" is the
     * member's last answer to the leader's appends or heartbeats (Raft pushes to its members). A
     * member that has not answered this leader (down since before it was elected) has Raft's
     * initial match index 0, not a position: shown as unknown.
     */
    private void fillProgress(DescribeQuorumResponse.ReplicaState.Builder r, int id,
                              java.util.Map<Integer, dev.basalt.raft.driver.VoterProgress> progress, long now) {
        r.setReplicaId(id);
        if (id == node.nodeId()) {
            r.setLogEndOffset(node.appliedIndex()).setLag(Math.max(0, node.commitIndex() - node.appliedIndex()))
                    .setLastFetchTimestampMs(now).setLastCaughtUpTimestampMs(now);
            return;
        }
        memberRow(r, progress.get(id), node.commitIndex(), now, memberSilenceMaxMs);
    }

    /**
     * Another member's row from its progress as this leader saw it ({@code p} null: none). Its lag
     * is known only while it answers: one silent for more than {@code silenceMaxMs} is not
     * reporting, and its lag is -1 (unknown) beside its last reported log end offset and last
     * answer time. Found probing: a voter down for minutes read lag 0, its match index equal to
     * a commit index that had not moved since (a controller-only node's death writes no record).
     */
    static void memberRow(DescribeQuorumResponse.ReplicaState.Builder r, dev.basalt.raft.driver.VoterProgress p,
                          long commitIndex, long now, long silenceMaxMs) {
        if (p != null && p.matchIndex() >= 0 && p.millisSinceContact() >= 0) {
            r.setLogEndOffset(p.matchIndex())
                    .setLag(p.millisSinceContact() > silenceMaxMs ? -1 : Math.max(0, commitIndex - p.matchIndex()));
        } else {
            r.setLogEndOffset(-1).setLag(-1);
        }
        r.setLastFetchTimestampMs(p == null || p.millisSinceContact() < 0 ? -1 : now - p.millisSinceContact())
                .setLastCaughtUpTimestampMs(p == null || p.millisSinceCaughtUp() < 0 ? -1 : now - p.millisSinceCaughtUp());
    }

    @Override
    public java.util.Optional<Membership> membership(int nodeId) {
        Configuration latest = node.configuration();
        java.util.Set<Integer> currentVoters = latest.voters().isEmpty() ? voters.keySet() : latest.voters();
        if (currentVoters.contains(nodeId)) {
            return java.util.Optional.of(Membership.VOTER);
        }
        return latest.observers().contains(nodeId) || voters.containsKey(nodeId)
                ? java.util.Optional.of(Membership.CONTROLLER_NOT_VOTING) : java.util.Optional.empty();
    }

    @Override
    public DescribeQuorumResponse describe() {
        DescribeQuorumResponse.Builder b = DescribeQuorumResponse.newBuilder().setLeaderId(node.leaderId()).setTerm(node.term())
                .setHighWatermark(node.commitIndex());
        // The latest configuration, not the configured list: a voter removed at run time (POST
        // /quorum/remove-voter) stays a member as a Raft observer and is shown as one (found
        // probing: `basalt cluster` still listed it as a voter, with no progress).
        dev.basalt.raft.quorum.Configuration latest = node.configuration();
        java.util.Set<Integer> currentVoters = latest.voters().isEmpty() ? voters.keySet() : latest.voters();
        java.util.Map<Integer, dev.basalt.raft.driver.VoterProgress> progress = node.voterProgress();
        long now = dev.basalt.broker.testsupport.TestHooks.wallMillis();
        for (int member : latest.observers()) {
            if (!observers.containsKey(member)) {
                fillProgress(b.addObserversBuilder(), member, progress, now);
            }
        }
        for (int voter : currentVoters) {
            fillProgress(b.addVotersBuilder(), voter, progress, now);
        }
        long applied = stateMachine.appliedIndex();
        observers.forEach((id, seen) -> b.addObserversBuilder().setReplicaId(id).setLogEndOffset(seen[0])
                .setLag(Math.max(0, applied - seen[0])).setLastFetchTimestampMs(seen[1])
                .setLastCaughtUpTimestampMs(seen[0] >= applied ? seen[1] : seen[2]));
        return b.build();
    }

    @Override
    public void close() {
        closed = true;
        activeTerm = -1;
        node.close();
    }
}

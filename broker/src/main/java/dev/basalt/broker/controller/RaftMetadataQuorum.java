package dev.basalt.broker.controller;

import dev.basalt.broker.config.NodeConfig;
import dev.basalt.metadata.MetadataStateMachine;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.proto.v1.DescribeQuorumResponse;
import dev.basalt.raft.driver.FatalFaultHandler;
import dev.basalt.raft.driver.NotLeaderException;
import dev.basalt.raft.driver.RaftNode;
import dev.basalt.raft.driver.RaftNodeConfig;
import dev.basalt.raft.driver.StateMachine;
import dev.basalt.raft.log.FileRaftStore;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.core.RaftConfig;
import dev.basalt.raft.transport.GrpcTransport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's metadata quorum over the Raft driver: a {@link RaftNode} with its durable store in
 * {@code <data.dir>/raft} and its gRPC transport on the CONTROLLER listener, feeding committed
 * entries to the {@link MetadataStateMachine}.
 *
 * <p>Images reach the broker through one publisher thread (so a slow replica-manager update never
 * stalls the Raft driver); it always applies the newest image, skipping intermediate ones. A
 * proposal completes only once the image holding it has reached the broker, so an admin call
 * that succeeded is immediately visible to produce and fetch on this node.
 *
 * <p>Before the controller decides anything in a new term it confirms, through a ReadIndex
 * round, that its image holds every entry committed before the term (Raft §8: a new leader knows
 * what is committed only after committing its own no-op); {@link #isActiveController()} is false
 * until then.
 *
 * <p>Thread-safety: thread-safe.
 */
public final class RaftMetadataQuorum implements MetadataQuorum, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RaftMetadataQuorum.class);
    private static final long CATCH_UP_TIMEOUT_MS = 10_000;

    private final RaftNode node;
    private final MetadataStateMachine stateMachine;
    private final Thread publisher;
    private final Object publishLock = new Object();
    private final ConcurrentSkipListMap<Long, CompletableFuture<Long>> waiters = new ConcurrentSkipListMap<>();
    private final Map<Integer, NodeConfig.HostPort> voters;
    private volatile ImageListener imageListener = (image, caughtUp) -> { };
    private volatile boolean caughtUp;
    private volatile MetadataStateMachine.Published pending;
    private volatile long brokerAppliedIndex;
    private volatile long caughtUpTerm = -1;
    private volatile boolean closed;

    private RaftMetadataQuorum(RaftNode node, MetadataStateMachine stateMachine, Map<Integer, NodeConfig.HostPort> voters) {
        this.node = node;
        this.stateMachine = stateMachine;
        this.voters = voters;
        this.publisher = new Thread(this::publishLoop, "basalt-metadata-publisher");
        this.publisher.setDaemon(true);
    }

    /** Opens the store, starts transport and driver; the state machine replays the metadata log. */
    public static RaftMetadataQuorum start(NodeConfig config, Path raftDir, MetadataStateMachine stateMachine, Clock clock)
            throws IOException {
        Map<Integer, NodeConfig.HostPort> voters = config.voters();
        Map<Integer, InetSocketAddress> peers = new TreeMap<>();
        voters.forEach((id, hp) -> peers.put(id, new InetSocketAddress(hp.host(), hp.port())));
        NodeConfig.HostPort listen = config.isController() ? config.controllerListener() : null;
        if (listen == null) {
            throw new IOException("a broker-only node follows the quorum as an observer: not supported yet (use combined mode)");
        }
        GrpcTransport transport = new GrpcTransport(config.nodeId(), new InetSocketAddress(listen.host(), listen.port()), peers,
                GrpcTransport.Options.DEFAULT);
        FileRaftStore store = FileRaftStore.open(raftDir, FileRaftStore.Config.DEFAULT);
        int electionMs = config.getInt("raft.election.timeout.ms");
        RaftConfig defaults = RaftConfig.DEFAULT;
        RaftConfig raft = new RaftConfig(electionMs, electionMs * 2, config.getInt("raft.heartbeat.interval.ms"),
                defaults.appendBytesMax(), defaults.inflightAppendsMax(), defaults.snapshotChunkBytes(), defaults.pendingReadsMax());
        RaftNodeConfig nodeConfig = withRaft(RaftNodeConfig.defaults(config.nodeId(), Configuration.of(voters.keySet(), java.util.List.of())), raft);
        StateMachine adapter = new StateMachine() {
            @Override
            public void apply(LogEntry entry) {
                stateMachine.apply(entry);
            }

            @Override
            public byte[] snapshot() {
                return stateMachine.snapshot();
            }

            @Override
            public void restore(SnapshotMeta meta, byte[] data) {
                stateMachine.restore(data);
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
        RaftMetadataQuorum q = new RaftMetadataQuorum(node, stateMachine, voters);
        stateMachine.addListener(q::offer);
        q.offer(stateMachine.latest());
        q.publisher.start();
        return q;
    }

    private static RaftNodeConfig withRaft(RaftNodeConfig c, RaftConfig raft) {
        return new RaftNodeConfig(c.nodeId(), c.bootstrap(), raft, c.proposeTimeoutMs(), c.readTimeoutMs(), c.proposalBytesMax(),
                c.pendingRequestsMax(), c.eventQueueMax(), c.batchEventsMax(), c.snapshotEveryEntries(), c.closeTimeoutMs());
    }

    /** Receives each new image, and whether this node's image has caught up with the quorum. */
    @FunctionalInterface
    public interface ImageListener {
        /**
         * @param caughtUp true once the image holds everything the quorum had committed when this
         *                 node started; before that, a topic missing from the image may simply not
         *                 have been replayed yet, so nothing may be deleted on its account
         */
        void onImage(MetadataImage image, boolean caughtUp);
    }

    /** Sets who receives each new image (the replica manager); call before proposals. */
    public void onImage(ImageListener listener) {
        imageListener = listener;
        synchronized (publishLock) {
            if (pending == null) {
                pending = stateMachine.latest();
            }
            publishLock.notifyAll();
        }
    }

    private void offer(MetadataStateMachine.Published published) {
        synchronized (publishLock) {
            pending = published;
            publishLock.notifyAll();
        }
    }

    private void publishLoop() {
        while (!closed) {
            MetadataStateMachine.Published next;
            synchronized (publishLock) {
                while (pending == null && !closed) {
                    try {
                        publishLock.wait(1_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                next = pending;
                pending = null;
            }
            if (next == null) {
                continue;
            }
            boolean current = caughtUp;
            try {
                imageListener.onImage(next.image(), current);
            } catch (RuntimeException e) {
                // The broker could not follow the image (e.g. a disk error creating a log): keep the
                // previous applied index so proposals waiting on it time out rather than lie.
                log.error("Applying metadata image at index {} to the broker failed", next.appliedIndex(), e);
                continue;
            }
            brokerAppliedIndex = Math.max(brokerAppliedIndex, next.appliedIndex());
            var done = waiters.headMap(brokerAppliedIndex, true);
            done.forEach((index, f) -> f.complete(index));
            done.clear();
        }
    }

    public long brokerAppliedIndex() {
        return brokerAppliedIndex;
    }

    /** Whether this node's image has caught up with what the quorum committed (see {@link ImageListener}). */
    public boolean isCaughtUp() {
        return caughtUp;
    }

    /**
     * Checks once whether the metadata image has caught up: as leader, a ReadIndex round proves
     * the applied image holds every committed entry; as a follower, the applied index must reach
     * the commit index the leader sent. On the first success the latest image is published again
     * with {@code caughtUp = true}. Called periodically by the node until it returns true.
     */
    public boolean maybeMarkCaughtUp() {
        if (caughtUp) {
            return true;
        }
        if (node.leaderId() < 0) {
            return false;
        }
        boolean ok;
        if (node.isLeader()) {
            ok = isActiveController();
        } else {
            ok = node.commitIndex() > 0 && stateMachine.appliedIndex() >= node.commitIndex();
        }
        if (ok) {
            caughtUp = true;
            log.info("Metadata image caught up with the quorum at index {}", stateMachine.appliedIndex());
            offer(stateMachine.latest());
        }
        return ok;
    }

    @Override
    public CompletableFuture<Long> propose(byte[] recordBatch) {
        CompletableFuture<Long> out = new CompletableFuture<>();
        node.propose(recordBatch).whenComplete((index, error) -> {
            if (error != null) {
                Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                if (cause instanceof NotLeaderException nle) {
                    out.completeExceptionally(new NotControllerException(nle.getMessage(), node.leaderId()));
                } else {
                    out.completeExceptionally(cause);
                }
                return;
            }
            waiters.put(index, out);
            if (brokerAppliedIndex >= index && waiters.remove(index, out)) {
                out.complete(index);
            }
        });
        return out;
    }

    @Override
    public boolean isActiveController() {
        if (!node.isLeader()) {
            return false;
        }
        long term = node.term();
        if (caughtUpTerm == term) {
            return true;
        }
        return catchUp(term);
    }

    /** ReadIndex, then wait until the broker's image holds it: the image is now current for this term. */
    private boolean catchUp(long term) {
        try {
            long readIndex = node.readIndex().get(CATCH_UP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CATCH_UP_TIMEOUT_MS);
            while (brokerAppliedIndex < readIndex && stateMachine.appliedIndex() < readIndex) {
                if (System.nanoTime() > deadline) {
                    return false;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            if (node.isLeader() && node.term() == term) {
                caughtUpTerm = term;
                return true;
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    @Override
    public int leaderId() {
        return node.leaderId();
    }

    @Override
    public DescribeQuorumResponse describe() {
        DescribeQuorumResponse.Builder b = DescribeQuorumResponse.newBuilder().setLeaderId(node.leaderId()).setTerm(node.term())
                .setHighWatermark(node.commitIndex());
        for (int voter : voters.keySet()) {
            var r = b.addVotersBuilder().setReplicaId(voter);
            if (voter == node.nodeId()) {
                long now = System.currentTimeMillis();
                r.setLogEndOffset(node.appliedIndex()).setLag(Math.max(0, node.commitIndex() - node.appliedIndex()))
                        .setLastFetchTimestampMs(now).setLastCaughtUpTimestampMs(now);
            } else {
                // Per-follower progress is known only to the leader's core; not exported yet.
                r.setLogEndOffset(-1).setLag(-1).setLastFetchTimestampMs(-1).setLastCaughtUpTimestampMs(-1);
            }
        }
        return b.build();
    }

    @Override
    public void close() {
        closed = true;
        synchronized (publishLock) {
            publishLock.notifyAll();
        }
        node.close();
        waiters.values().forEach(f -> f.completeExceptionally(new NotControllerException("node shut down", -1)));
        waiters.clear();
        try {
            publisher.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package dev.basalt.raft.driver;

import dev.basalt.raft.core.ConfigChange;
import dev.basalt.raft.core.RaftCore;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.RaftStore;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.transport.Transport;
import dev.basalt.util.SuppressForbidden;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * A running member of the metadata quorum: the public face of a {@link RaftCore} driven by its own
 * thread ({@link RaftDriver}) over a {@link RaftStore}, a {@link Transport} and a
 * {@link StateMachine}. Thread-safe: every method may be called from any thread; requests are
 * queued to the driver thread and answered through futures.
 *
 * <p>Failure classification (STYLE.md §6): a future fails with {@link NotLeaderException} when the
 * request definitely did not take effect (retry at the leader hint), with
 * {@link IndeterminateException} when it may or may not have (timeout, leadership loss, shutdown),
 * and with {@link RaftException} when refused for overload.
 *
 * <p>Lifetime: {@link #start} restores the state machine from the store's snapshot, rebuilds the
 * core from the store, starts the transport and the driver thread. {@link #close()} hands
 * leadership to another voter if this node leads (waiting up to
 * {@link RaftNodeConfig#closeTimeoutMs()}), then stops the thread and closes transport and store.
 */
public final class RaftNode implements AutoCloseable {
    private final RaftNodeConfig config;
    private final RaftDriver driver;
    private final Thread thread;
    private final Transport transport;

    private RaftNode(RaftNodeConfig config, RaftDriver driver, Transport transport) {
        this.config = config;
        this.driver = driver;
        this.transport = transport;
        this.thread = new Thread(driver, "raft-driver-" + config.nodeId());
    }

    /** Starts a node with production defaults: the monotonic clock and a freshly seeded generator. */
    @SuppressForbidden(reason = "production defaults: the driver owns the real clock")
    public static RaftNode start(RaftNodeConfig config, RaftStore store, StateMachine stateMachine, Transport transport,
                                 FatalFaultHandler faultHandler) throws IOException {
        long origin = System.nanoTime();
        return start(config, store, stateMachine, transport, faultHandler,
                () -> (System.nanoTime() - origin) / 1_000_000, new SplittableRandom());
    }

    /** Starts a node with an explicit clock (milliseconds, monotonic) and election-jitter generator. */
    public static RaftNode start(RaftNodeConfig config, RaftStore store, StateMachine stateMachine, Transport transport,
                                 FatalFaultHandler faultHandler, LongSupplier clockMs, RandomGenerator random)
            throws IOException {
        Objects.requireNonNull(faultHandler, "faultHandler");
        SnapshotMeta snapshot = store.snapshot();
        byte[] snapshotData = store.snapshotData();
        if (snapshot.lastIndex() > 0) {
            stateMachine.restore(snapshot, snapshotData);
        }
        RaftCore core = RaftCore.restore(config.nodeId(), config.raft(), random, config.bootstrap(), store.hardState(),
                snapshot, snapshotData, readLog(store), clockMs.getAsLong());
        RaftDriver driver = new RaftDriver(config, core, store, stateMachine, transport, faultHandler, clockMs, random);
        RaftNode node = new RaftNode(config, driver, transport);
        transport.start(driver::offerInbound);
        node.thread.start();
        return node;
    }

    static List<LogEntry> readLog(RaftStore store) {
        List<LogEntry> all = new ArrayList<>();
        long next = store.firstIndex();
        while (next <= store.lastIndex()) {
            List<LogEntry> chunk = store.entries(next, store.lastIndex() + 1, 64L << 20);
            if (chunk.isEmpty()) {
                throw new IllegalStateException("store returned no entries from " + next);
            }
            all.addAll(chunk);
            next = chunk.get(chunk.size() - 1).index() + 1;
        }
        return all;
    }

    public int nodeId() {
        return config.nodeId();
    }

    /**
     * Proposes {@code data} as a new entry. Completes with the entry's index once it is committed
     * and applied on this node.
     */
    public CompletableFuture<Long> propose(byte[] data) {
        Objects.requireNonNull(data, "data");
        if (data.length > config.proposalBytesMax()) {
            throw new IllegalArgumentException("proposal of " + data.length + " bytes exceeds proposalBytesMax "
                    + config.proposalBytesMax());
        }
        CompletableFuture<Long> f = new CompletableFuture<>();
        submit(new RaftDriver.Propose(data.clone(), f), f);
        return f;
    }

    /**
     * A linearizable read barrier (ReadIndex, dissertation §6.4): completes with a read index once
     * this node, as leader, confirmed its leadership and has applied at least that index, so that
     * reading the state machine now observes every write committed before the call.
     */
    public CompletableFuture<Long> readIndex() {
        CompletableFuture<Long> f = new CompletableFuture<>();
        submit(new RaftDriver.Read(f), f);
        return f;
    }

    /** Hands leadership to {@code targetId} (dissertation §3.10); completes when it leads. */
    public CompletableFuture<Void> transferLeadership(int targetId) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        submit(new RaftDriver.Transfer(targetId, f), f);
        return f;
    }

    /** Adds one voter (dissertation §4.1); completes with the configuration entry's index once committed. */
    public CompletableFuture<Long> addVoter(int nodeId) {
        return change(new ConfigChange(ConfigChange.Kind.ADD_VOTER, nodeId));
    }

    public CompletableFuture<Long> removeVoter(int nodeId) {
        return change(new ConfigChange(ConfigChange.Kind.REMOVE_VOTER, nodeId));
    }

    /** Adds a non-voting member that receives committed entries (a broker). */
    public CompletableFuture<Long> addObserver(int nodeId) {
        return change(new ConfigChange(ConfigChange.Kind.ADD_OBSERVER, nodeId));
    }

    public CompletableFuture<Long> removeObserver(int nodeId) {
        return change(new ConfigChange(ConfigChange.Kind.REMOVE_OBSERVER, nodeId));
    }

    private CompletableFuture<Long> change(ConfigChange change) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        submit(new RaftDriver.Change(change, f), f);
        return f;
    }

    private void submit(RaftDriver.Event e, CompletableFuture<?> f) {
        if (!driver.submit(e)) {
            f.completeExceptionally(driver.stopped
                    ? new NotLeaderException("node " + config.nodeId() + " is stopped", -1)
                    : new RaftException("node " + config.nodeId() + " is overloaded: event queue full"));
        }
    }

    public void addLeaderListener(LeaderListener listener) {
        driver.listeners.add(listener);
    }

    public boolean isLeader() {
        return driver.leaderId == config.nodeId() && !driver.stopped;
    }

    /**
     * Whether the latest configuration this node knows lists it as a voter (a node rejoining with
     * a new directory is not, until a voter change adds it again).
     */
    public boolean isVoter() {
        return driver.localVoter;
    }

    /** The latest voter configuration this node knows (its voters and Raft observers). */
    public dev.basalt.raft.quorum.Configuration configuration() {
        return driver.configuration;
    }

    /** The leader this node knows of, or -1. */
    public int leaderId() {
        return driver.leaderId;
    }

    public long term() {
        return driver.term;
    }

    /**
     * As leader, each other member's replication as last seen (voters and Raft observers: match
     * index, and how long ago it last answered and last answered caught up with this leader's log);
     * empty when not leading.
     */
    public java.util.Map<Integer, VoterProgress> voterProgress() {
        java.util.Map<Integer, RaftDriver.PeerProgress> seen = driver.peerProgress;
        if (seen.isEmpty()) {
            return java.util.Map.of();
        }
        long now = driver.nowMs();
        java.util.Map<Integer, VoterProgress> out = new java.util.TreeMap<>();
        seen.forEach((id, p) -> out.put(id, new VoterProgress(p.matchIndex(), since(now, p.lastContactMs()),
                since(now, p.lastCaughtUpMs()))));
        return java.util.Collections.unmodifiableMap(out);
    }

    private static long since(long nowMs, long thenMs) {
        return thenMs < 0 ? -1 : Math.max(0, nowMs - thenMs);
    }

    public long commitIndex() {
        return driver.commitIndex;
    }

    /**
     * The highest commit index a leader has told this node, whether or not this log agrees with
     * the leader's yet (0 before any): what a restarted follower must apply to have caught up.
     */
    public long leaderCommitSeen() {
        return driver.leaderCommitSeen;
    }

    public long appliedIndex() {
        return driver.lastApplied;
    }

    /** Whether the node stopped (closed, or after a fatal fault: see {@link #fatalFault()}). */
    public boolean isStopped() {
        return driver.stopped;
    }

    /**
     * Why the node stands aside (its metadata store ran out of space: it neither votes, leads nor
     * applies until there is room again, then rejoins by itself), or null while it takes part.
     */
    public String suspendedReason() {
        return driver.suspendedReason;
    }

    /** While standing aside for a full disk: how often the free space is checked (tests). */
    long spaceCheckIntervalMs() {
        return driver.spaceCheckIntervalMs;
    }

    /** The fault that stopped the node, or null. */
    public Throwable fatalFault() {
        return driver.fatal;
    }

    /** Graceful shutdown: leadership transfer first if leading, then stop; waits for the thread. */
    @Override
    public void close() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (driver.submit(new RaftDriver.Close(f))) {
            try {
                f.get(config.closeTimeoutMs() + 5_000, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                thread.interrupt();
            }
        } else {
            thread.interrupt();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        transport.close();
        driver.store().close();
    }
}

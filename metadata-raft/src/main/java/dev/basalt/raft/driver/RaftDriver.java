package dev.basalt.raft.driver;

import dev.basalt.raft.core.ConfigChange;
import dev.basalt.raft.core.Output;
import dev.basalt.raft.core.RaftCore;
import dev.basalt.raft.core.RaftMessage;
import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.RaftStorageException;
import dev.basalt.raft.log.RaftStore;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.transport.Transport;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that runs a {@link RaftCore} (STYLE.md §2): it takes a batch of events (inbound
 * messages and client requests) from a bounded queue, feeds them to the core, and then for the
 * whole batch <b>persists</b> (snapshot, entries, hard state, with one fsync for all entries),
 * <b>sends</b> the messages, and <b>applies</b> committed entries to the {@link StateMachine},
 * completing client futures last. Batching is the group commit: every proposal and every append
 * that arrived while the previous fsync ran shares the next one.
 *
 * <p>Thread-safety: everything here except {@link #submit}, {@link #offerInbound} and the
 * volatile status fields is confined to the driver thread. A storage error or broken invariant
 * stops the loop for good (the node stops voting and leading, its transport is closed) and calls
 * the {@link FatalFaultHandler}.
 */
final class RaftDriver implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftDriver.class);
    /** Free bytes on the store's file system before a node that ran out of space rejoins. */
    static final long RESUME_FREE_BYTES_MIN = 16L << 20;
    /** Longest the persisted commit hint lags the commit index while entries commit (see maybePersistCommitHint). */
    static final long COMMIT_HINT_INTERVAL_MS = 1_000;
    /** Driver thread only: when the hard state was last written (driver clock). */
    private long commitHintWrittenMs = Long.MIN_VALUE / 2;

    /** How often a node standing aside for a full disk checks the free space. */
    static final long SPACE_CHECK_INTERVAL_MS = 500;
    /**
     * The longest wait between checks: a node that stands aside again soon after rejoining (free
     * bytes are not what is short: inodes, a quota) doubles its wait each time up to this.
     */
    static final long SPACE_CHECK_INTERVAL_MAX_MS = 30_000;
    /** A suspension this soon after a rejoin counts as the same shortage (the wait doubles). */
    static final long SUSPEND_AGAIN_WINDOW_MS = 10_000;

    sealed interface Event permits Inbound, Propose, Read, Transfer, Change, Close {
    }

    record Inbound(RaftMessage message) implements Event {
    }

    record Propose(byte[] data, CompletableFuture<Long> future) implements Event {
    }

    record Read(CompletableFuture<Long> future) implements Event {
    }

    record Transfer(int targetId, CompletableFuture<Void> future) implements Event {
    }

    record Change(ConfigChange change, CompletableFuture<Long> future) implements Event {
    }

    record Close(CompletableFuture<Void> future) implements Event {
    }

    private record PendingEntry(long term, CompletableFuture<Long> future, long deadlineMs) {
    }

    private static final class PendingRead {
        final CompletableFuture<Long> future;
        final long deadlineMs;
        long readIndex = -1;

        PendingRead(CompletableFuture<Long> future, long deadlineMs) {
            this.future = future;
            this.deadlineMs = deadlineMs;
        }
    }

    private final RaftNodeConfig config;
    /** Replaced when the node rejoins after a full disk (a restart inside the process). */
    private RaftCore core;
    private RaftStore store;
    private final RandomGenerator random;
    private final StateMachine stateMachine;
    private final Transport transport;
    private final FatalFaultHandler faultHandler;
    private final LongSupplier clockMs;
    private final BlockingQueue<Event> queue;
    final List<LeaderListener> listeners = new CopyOnWriteArrayList<>();

    private final TreeMap<Long, PendingEntry> pendingEntries = new TreeMap<>();
    private final TreeMap<Long, PendingRead> pendingReads = new TreeMap<>();
    private long nextReadId;
    private CompletableFuture<Void> pendingTransfer;
    private int pendingTransferTarget = -1;
    private long pendingTransferDeadlineMs;
    private CompletableFuture<Void> closing;
    private long closeDeadlineMs;
    private long nextDeadlineMs;
    private long appliedIndex;

    volatile boolean stopped;
    volatile long term;
    volatile int leaderId = -1;
    volatile long commitIndex;
    volatile long leaderCommitSeen;
    volatile long lastApplied;
    volatile Throwable fatal;
    /** As leader: each other voter's replication (for DescribeQuorum); empty otherwise. */
    volatile java.util.Map<Integer, PeerProgress> peerProgress = java.util.Map.of();
    /** As leader, driver thread only: when each peer last answered, and last answered caught up. */
    private final java.util.Map<Integer, Long> lastContactMs = new java.util.HashMap<>();
    private final java.util.Map<Integer, Long> lastCaughtUpMs = new java.util.HashMap<>();
    /** As leader, driver thread only: this leader's last index when each peer last answered. */
    private final java.util.Map<Integer, Long> lastIndexAtContact = new java.util.HashMap<>();
    /** Whether the latest configuration this node knows makes it a voter. */
    volatile boolean localVoter;
    /** The latest configuration this node knows (voters and observers; immutable). */
    volatile dev.basalt.raft.quorum.Configuration configuration = dev.basalt.raft.quorum.Configuration.EMPTY;
    /**
     * Why the node is standing aside after its store ran out of space (null while it takes part):
     * it neither votes, leads, applies nor answers until there is room again.
     */
    volatile String suspendedReason;
    /** While suspended, driver thread only: when the free space is checked next, and how often. */
    private long nextSpaceCheckMs;
    volatile long spaceCheckIntervalMs = SPACE_CHECK_INTERVAL_MS;
    /** Driver thread only: when the node last rejoined after a full disk (-1 = never). */
    private long lastResumeMs = -1;

    RaftDriver(RaftNodeConfig config, RaftCore core, RaftStore store, StateMachine stateMachine, Transport transport,
               FatalFaultHandler faultHandler, LongSupplier clockMs, RandomGenerator random) {
        this.config = config;
        this.core = core;
        this.store = store;
        this.random = random;
        this.stateMachine = stateMachine;
        this.transport = transport;
        this.faultHandler = faultHandler;
        this.clockMs = clockMs;
        this.queue = new ArrayBlockingQueue<>(config.eventQueueMax());
        this.appliedIndex = store.snapshot().lastIndex();
        // what the restored core already knows, before the first step publishes it (found probing:
        // a voter restarted as usual read as not a voter until then, and its /ready said it had
        // rejoined with a new directory)
        this.term = core.term();
        this.localVoter = core.configuration().isVoter(config.nodeId());
        this.configuration = core.configuration();
    }

    /** From transport threads: a full queue drops the message (Raft retransmits). */
    void offerInbound(RaftMessage m) {
        if (!stopped && !queue.offer(new Inbound(m))) {
            LOG.debug("node {}: event queue full, dropping {}", config.nodeId(), m.getClass().getSimpleName());
        }
    }

    /** The store in use now (a full disk replaces it with a reopened one). */
    RaftStore store() {
        return store;
    }

    /** From client threads: returns false when the queue is full or the node stopped. */
    boolean submit(Event e) {
        return !stopped && queue.offer(e);
    }

    @Override
    public void run() {
        try {
            try {
                long commitAtStart = core.commitIndex();
                process(List.of(core.tick(clockMs.getAsLong())), commitAtStart);
            } catch (RaftStorageException e) {
                suspendOrRethrow(e);
            }
            List<Event> batch = new ArrayList<>();
            while (!stopped) {
                long waitMs = Math.max(0, Math.min(nextDeadlineMs, clockMs.getAsLong() + 50) - clockMs.getAsLong());
                Event first = queue.poll(waitMs, TimeUnit.MILLISECONDS);
                batch.clear();
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, config.batchEventsMax() - 1);
                }
                try {
                    if (suspendedReason != null) {
                        whileSuspended(batch);
                    } else {
                        iterate(batch);
                    }
                } catch (RaftStorageException e) {
                    suspendOrRethrow(e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop(new IndeterminateException("driver interrupted"));
        } catch (Throwable t) {
            fatal = t;
            stop(new IndeterminateException("node " + config.nodeId() + " stopped after a fatal fault", t));
            faultHandler.onFatalFault(config.nodeId(), t);
        }
    }

    private void iterate(List<Event> batch) {
        long nowMs = clockMs.getAsLong();
        long commitAtStart = core.commitIndex();
        List<Output> outputs = new ArrayList<>();
        List<Propose> proposals = new ArrayList<>();
        for (Event e : batch) {
            if (e instanceof Propose p) {
                proposals.add(p);
            } else {
                dispatch(e, nowMs, outputs);
            }
        }
        if (!proposals.isEmpty()) {
            outputs.add(proposeBatch(proposals, nowMs));
        }
        if (nowMs >= nextDeadlineMs) {
            outputs.add(core.tick(nowMs));
        }
        process(outputs, commitAtStart);
        expire(nowMs);
        maybeSnapshot();
        maybeFinishClose(nowMs);
    }

    private void dispatch(Event e, long nowMs, List<Output> outputs) {
        if (e instanceof Inbound in) {
            try {
                outputs.add(core.step(in.message(), nowMs));
                notePeerContact(in.message().from(), nowMs);
            } catch (IllegalArgumentException bad) {
                LOG.warn("node {}: rejected malformed message from {}: {}", config.nodeId(), in.message().from(),
                        bad.getMessage());
            }
        } else if (e instanceof Read r) {
            long id = nextReadId++;
            pendingReads.put(id, new PendingRead(r.future(), nowMs + config.readTimeoutMs()));
            outputs.add(core.readIndex(id, nowMs));
        } else if (e instanceof Change c) {
            handleChange(c, nowMs, outputs);
        } else if (e instanceof Transfer t) {
            handleTransfer(t, nowMs, outputs);
        } else if (e instanceof Close c) {
            handleClose(c, nowMs, outputs);
        }
    }

    private Output proposeBatch(List<Propose> proposals, long nowMs) {
        List<byte[]> payloads = new ArrayList<>(proposals.size());
        for (Propose p : proposals) {
            payloads.add(p.data());
        }
        Output o = core.propose(payloads, nowMs);
        Output.ProposalResult r = o.proposal();
        for (int i = 0; i < proposals.size(); i++) {
            if (r.accepted()) {
                pendingEntries.put(r.firstIndex() + i,
                        new PendingEntry(r.term(), proposals.get(i).future(), nowMs + config.proposeTimeoutMs()));
            } else {
                proposals.get(i).future().completeExceptionally(refusal("proposal", r.refusal(), r.leaderHint()));
            }
        }
        return o;
    }

    private void handleChange(Change c, long nowMs, List<Output> outputs) {
        Output o;
        try {
            o = core.changeConfiguration(c.change(), nowMs);
        } catch (IllegalArgumentException bad) {
            c.future().completeExceptionally(bad);
            return;
        }
        Output.ProposalResult r = o.proposal();
        if (r.accepted()) {
            pendingEntries.put(r.firstIndex(), new PendingEntry(r.term(), c.future(), nowMs + config.proposeTimeoutMs()));
        } else {
            c.future().completeExceptionally(refusal("configuration change", r.refusal(), r.leaderHint()));
        }
        outputs.add(o);
    }

    private void handleTransfer(Transfer t, long nowMs, List<Output> outputs) {
        if (pendingTransfer != null) {
            t.future().completeExceptionally(new RaftException("a leadership transfer is already in progress"));
            return;
        }
        Output o;
        try {
            o = core.transferLeadership(t.targetId(), nowMs);
        } catch (IllegalArgumentException bad) {
            t.future().completeExceptionally(bad);
            return;
        }
        if (o.proposal() != null && !o.proposal().accepted()) {
            t.future().completeExceptionally(new NotLeaderException("not the leader", o.proposal().leaderHint()));
        } else {
            pendingTransfer = t.future();
            pendingTransferTarget = t.targetId();
            pendingTransferDeadlineMs = nowMs + 2L * config.raft().electionTimeoutMaxMs();
        }
        outputs.add(o);
    }

    /** Graceful close: a leader first hands leadership to the most up-to-date voter (§3.10). */
    private void handleClose(Close c, long nowMs, List<Output> outputs) {
        closing = c.future();
        closeDeadlineMs = nowMs + config.closeTimeoutMs();
        if (core.isLeader()) {
            int best = -1;
            long bestMatch = -1;
            for (Integer v : core.configuration().voters()) {
                if (v != config.nodeId() && core.peerMatchIndex(v) > bestMatch) {
                    best = v;
                    bestMatch = core.peerMatchIndex(v);
                }
            }
            if (best >= 0) {
                outputs.add(core.transferLeadership(best, nowMs));
                return;
            }
        }
        closeDeadlineMs = nowMs;
    }

    private void maybeFinishClose(long nowMs) {
        if (closing != null && (!core.isLeader() || nowMs >= closeDeadlineMs)) {
            try {
                // entries up to the commit index were flushed by this round's process() or an earlier one
                maybePersistCommitHint(core.commitIndex(), true);
            } catch (RaftStorageException e) {
                // best effort: the hint is a check for the next start, and a close must not turn into a halt
                LOG.warn("node {}: could not record the commit index {} at close: {}", config.nodeId(), core.commitIndex(),
                        e.getMessage());
            }
            stop(new IndeterminateException("node " + config.nodeId() + " closed"));
        }
    }

    // ------------------------------------------------------------------ persist, send, apply

    private void process(List<Output> outputs, long commitAtStart) {
        logRoleChanges();
        persist(outputs, commitAtStart);
        for (Output o : outputs) {
            for (RaftMessage m : o.messages()) {
                transport.send(m);
            }
        }
        for (Output o : outputs) {
            apply(o);
        }
        if (!outputs.isEmpty()) {
            nextDeadlineMs = outputs.get(outputs.size() - 1).nextDeadlineMs();
        }
        term = core.term();
        leaderCommitSeen = core.leaderCommitSeen(); // before leaderId: whoever sees a leader sees its commit
        leaderId = core.leaderId();
        commitIndex = core.commitIndex();
        localVoter = core.configuration().isVoter(config.nodeId());
        configuration = core.configuration();
        lastApplied = appliedIndex;
        if (core.isLeader()) {
            java.util.Map<Integer, PeerProgress> m = new java.util.TreeMap<>();
            for (int voter : core.configuration().members()) { // observers too: DescribeQuorum shows theirs
                if (voter != config.nodeId()) {
                    m.put(voter, new PeerProgress(core.peerMatchIndex(voter), lastContactMs.getOrDefault(voter, -1L),
                            lastCaughtUpMs.getOrDefault(voter, -1L)));
                }
            }
            peerProgress = java.util.Collections.unmodifiableMap(m);
        } else if (!peerProgress.isEmpty() || !lastContactMs.isEmpty()) {
            peerProgress = java.util.Map.of();
            lastContactMs.clear();
            lastCaughtUpMs.clear();
            lastIndexAtContact.clear();
        }
    }

    /**
     * As leader: a message from {@code peerId} (an answer to our appends or heartbeats) is contact;
     * one whose match index reaches our log end as of this answer, or as of its previous one, is
     * caught up (then or at that previous answer: Kafka's last caught-up time).
     */
    private void notePeerContact(int peerId, long nowMs) {
        if (!core.isLeader() || peerId == config.nodeId()) {
            return;
        }
        long match = core.peerMatchIndex(peerId);
        Long previousContact = lastContactMs.get(peerId);
        Long previousEnd = lastIndexAtContact.get(peerId);
        if (match >= core.lastIndex()) {
            lastCaughtUpMs.put(peerId, nowMs);
        } else if (previousContact != null && previousEnd != null && match >= previousEnd) {
            // Behind only what was appended since its previous answer (pipelined appends keep a busy
            // voter just behind): it had caught up with the leader as of that answer.
            lastCaughtUpMs.merge(peerId, previousContact, Math::max);
        }
        lastContactMs.put(peerId, nowMs);
        lastIndexAtContact.put(peerId, core.lastIndex());
    }

    long nowMs() {
        return clockMs.getAsLong();
    }

    /** A voter's replication as the leader saw it; times on the driver's clock, -1 = not this leadership. */
    record PeerProgress(long matchIndex, long lastContactMs, long lastCaughtUpMs) {
    }

    /**
     * Hard state, snapshot, entries (the Output contract), merging the batch's entries into one
     * fsync. The hard state goes first, so its commit hint is capped at the commit index from
     * before the batch: everything up to there is durable and committed, while entries and
     * snapshots of this batch are not durable yet when the hint is written.
     */
    private void persist(List<Output> outputs, long commitAtStart) {
        HardState hardState = null;
        for (Output o : outputs) {
            if (o.hardState() != null) {
                hardState = o.hardState();
            }
        }
        if (hardState != null) {
            long hint = Math.min(hardState.commitIndex(), commitAtStart);
            store.persistAndFlushHardState(new HardState(hardState.term(), hardState.votedFor(), hint));
            commitHintWrittenMs = clockMs.getAsLong();
        } else {
            maybePersistCommitHint(commitAtStart, false);
        }
        List<LogEntry> merged = new ArrayList<>();
        for (Output o : outputs) {
            if (o.snapshot() != null) {
                flushEntries(merged);
                store.installSnapshot(o.snapshot().meta(), o.snapshot().data());
            }
            if (!o.entries().isEmpty()) {
                long first = o.entries().get(0).index();
                merged.removeIf(e -> e.index() >= first);
                merged.addAll(o.entries());
            }
        }
        flushEntries(merged);
    }

    /**
     * Writes the hard state again with a newer commit hint ({@code commit}: durable and committed)
     * when it lags and {@link #COMMIT_HINT_INTERVAL_MS} has passed since the last write, or at once
     * when {@code now}. The core asks for the hard state only on a term or vote change, so without
     * this the hint stayed at the commit index of the last election and recovery's check "the log
     * ends below the persisted commit index" missed a log that lost committed entries (found
     * probing: a metadata log cut before a topic's creation record started without a word, and the
     * node deleted the topic's data as unclaimed). At most once a second: a 28-byte file written
     * beside the log, fsynced and renamed into place.
     */
    private void maybePersistCommitHint(long commit, boolean now) {
        HardState persisted = store.hardState();
        long nowMs = clockMs.getAsLong();
        if (commit <= persisted.commitIndex() || commit > store.lastIndex()
                || (!now && nowMs - commitHintWrittenMs < COMMIT_HINT_INTERVAL_MS)) {
            return;
        }
        store.persistAndFlushHardState(new HardState(persisted.term(), persisted.votedFor(), commit));
        commitHintWrittenMs = nowMs;
    }

    private void flushEntries(List<LogEntry> merged) {
        if (!merged.isEmpty()) {
            store.appendAndFlush(List.copyOf(merged));
            merged.clear();
        }
    }

    private void apply(Output o) {
        if (o.snapshot() != null) {
            SnapshotMeta meta = o.snapshot().meta();
            stateMachine.restore(meta, o.snapshot().data());
            appliedIndex = meta.lastIndex();
            while (!pendingEntries.isEmpty() && pendingEntries.firstKey() <= meta.lastIndex()) {
                pendingEntries.pollFirstEntry().getValue().future().completeExceptionally(
                        new IndeterminateException("outcome hidden by a snapshot from the leader"));
            }
        }
        for (LogEntry e : o.committed()) {
            if (e.index() <= appliedIndex) {
                continue; // applied before the node stood aside for a full disk and was restored
            }
            stateMachine.apply(e);
            appliedIndex = e.index();
            PendingEntry p = pendingEntries.remove(e.index());
            if (p != null) {
                if (p.term() == e.term()) {
                    p.future().complete(e.index());
                } else {
                    p.future().completeExceptionally(new NotLeaderException(
                            "entry " + e.index() + " was replaced by another leader's", core.leaderId()));
                }
            }
        }
        for (Output.ReadResult r : o.reads()) {
            PendingRead p = pendingReads.get(r.readId());
            if (p == null) {
                continue;
            }
            if (r.ok()) {
                p.readIndex = r.readIndex();
            } else {
                pendingReads.remove(r.readId());
                p.future.completeExceptionally(refusal("read", r.refusal(), r.leaderHint()));
            }
        }
        completeReads();
        if (o.leaderChange() != null) {
            onLeaderChange(o.leaderChange());
        }
    }

    /** Says why this node's role changed: an operator reading one node's log sees why it elected, stood or stepped down. */
    private void logRoleChanges() {
        for (RaftCore.RoleChange c : core.takeRoleChanges()) {
            if (c.repeat()) {
                LOG.debug("node {}: {} in term {}: {}", config.nodeId(), c.role(), c.term(), c.reason());
            } else {
                LOG.info("node {}: {} in term {}: {}", config.nodeId(), c.role(), c.term(), c.reason());
            }
        }
    }

    private void completeReads() {
        for (Iterator<PendingRead> it = pendingReads.values().iterator(); it.hasNext(); ) {
            PendingRead p = it.next();
            if (p.readIndex >= 0 && p.readIndex <= appliedIndex) {
                it.remove();
                p.future.complete(p.readIndex);
            }
        }
    }

    private void onLeaderChange(Output.LeaderChange change) {
        if (pendingTransfer != null && change.leaderId() == pendingTransferTarget) {
            pendingTransfer.complete(null);
            pendingTransfer = null;
        }
        for (LeaderListener l : listeners) {
            l.onLeaderChange(change.term(), change.leaderId());
        }
    }

    private void expire(long nowMs) {
        for (Iterator<PendingEntry> it = pendingEntries.values().iterator(); it.hasNext(); ) {
            PendingEntry p = it.next();
            if (p.deadlineMs() > nowMs) {
                break; // deadlines grow with the index
            }
            it.remove();
            p.future().completeExceptionally(new IndeterminateException(
                    "no outcome within " + config.proposeTimeoutMs() + " ms"));
        }
        for (Iterator<PendingRead> it = pendingReads.values().iterator(); it.hasNext(); ) {
            PendingRead p = it.next();
            if (p.deadlineMs > nowMs) {
                break;
            }
            it.remove();
            p.future.completeExceptionally(new IndeterminateException(
                    "read not confirmed within " + config.readTimeoutMs() + " ms"));
        }
        if (pendingTransfer != null && nowMs >= pendingTransferDeadlineMs) {
            pendingTransfer.completeExceptionally(new RaftException("leadership transfer to "
                    + pendingTransferTarget + " did not complete"));
            pendingTransfer = null;
        }
    }

    private void maybeSnapshot() {
        if (appliedIndex - store.snapshot().lastIndex() < config.snapshotEveryEntries() || core.appliedIndex() < appliedIndex) {
            return; // (a core restored after a full disk vouches for the state machine's index only once it got there)
        }
        SnapshotMeta meta = core.snapshotMetaAt(appliedIndex);
        byte[] data = stateMachine.snapshot();
        store.installSnapshot(meta, data);
        core.compact(meta, data);
    }

    // ------------------------------------------------------------------ a full disk

    /**
     * A store that failed only for lack of space suspends the node instead of stopping it; any
     * other storage failure is fatal (rethrown to {@link #run}).
     */
    private void suspendOrRethrow(RaftStorageException e) {
        if (!e.outOfSpace() || !store.canReopen()) {
            throw e;
        }
        suspend(e);
    }

    /**
     * Stands aside like a crashed node that keeps its process: the core's state that did not reach
     * the disk is dropped with the core, the store is closed, and nothing is answered (inbound
     * messages are dropped, requests refused) until {@link #resume} reopens the store. Callers
     * waiting on entries learn their outcome is unknown: entries this node sent earlier may still
     * commit under another leader.
     */
    private void suspend(RaftStorageException cause) {
        long nowMs = clockMs.getAsLong();
        String reason = "metadata log out of space: " + cause.getMessage();
        boolean again = lastResumeMs >= 0 && nowMs - lastResumeMs < SUSPEND_AGAIN_WINDOW_MS;
        spaceCheckIntervalMs = again ? Math.min(spaceCheckIntervalMs * 2, SPACE_CHECK_INTERVAL_MAX_MS) : SPACE_CHECK_INTERVAL_MS;
        LOG.error("node {}: {}; it stops voting, leading and applying until {} bytes are free (checked every {} ms), "
                        + "the other voters carry on without it", config.nodeId(), reason, RESUME_FREE_BYTES_MIN,
                spaceCheckIntervalMs);
        RaftException unknown = new IndeterminateException("node " + config.nodeId() + " stood aside: " + reason);
        for (PendingEntry p : pendingEntries.values()) {
            p.future().completeExceptionally(unknown);
        }
        pendingEntries.clear();
        for (PendingRead p : pendingReads.values()) {
            p.future.completeExceptionally(unknown);
        }
        pendingReads.clear();
        if (pendingTransfer != null) {
            pendingTransfer.completeExceptionally(unknown);
            pendingTransfer = null;
        }
        try {
            store.close();
        } catch (RuntimeException e) {
            LOG.warn("node {}: closing the metadata store failed", config.nodeId(), e);
        }
        int wasLeader = leaderId;
        leaderId = -1;
        peerProgress = java.util.Map.of();
        lastContactMs.clear();
        lastCaughtUpMs.clear();
        lastIndexAtContact.clear();
        if (wasLeader != -1) {
            for (LeaderListener l : listeners) {
                l.onLeaderChange(term, -1);
            }
        }
        nextSpaceCheckMs = nowMs + spaceCheckIntervalMs;
        suspendedReason = reason; // last: whoever sees it sees the node no longer leading
        if (closing != null) {
            stop(new IndeterminateException("node " + config.nodeId() + " closed"));
        }
    }

    /** One round while suspended: refuse requests, drop messages, and rejoin once there is room. */
    private void whileSuspended(List<Event> batch) {
        RaftException refused = new NotLeaderException("node " + config.nodeId() + " is not taking part: "
                + suspendedReason, -1);
        Close close = null;
        for (Event e : batch) {
            if (e instanceof Close c) {
                close = c;
            } else if (!(e instanceof Inbound)) {
                failEvent(e, refused);
            }
        }
        if (close != null) {
            closing = close.future();
            stop(new IndeterminateException("node " + config.nodeId() + " closed"));
            return;
        }
        long nowMs = clockMs.getAsLong();
        if (nowMs < nextSpaceCheckMs) {
            nextDeadlineMs = nextSpaceCheckMs;
            return;
        }
        nextSpaceCheckMs = nowMs + spaceCheckIntervalMs;
        nextDeadlineMs = nextSpaceCheckMs;
        long free = store.usableBytes();
        if (free >= RESUME_FREE_BYTES_MIN) {
            resume(free, nowMs);
        }
    }

    /**
     * Rejoins as a restarted node would: the store reopened from disk, a core restored from it
     * (a follower at the stored term and vote), and the state machine kept, since everything it
     * applied was durable; only a snapshot installed beyond it replaces it.
     */
    private void resume(long freeBytes, long nowMs) {
        RaftStore reopened = store.reopen(); // a full disk again throws back to suspend(); anything else is fatal
        store = reopened;
        SnapshotMeta snapshot = store.snapshot();
        byte[] snapshotData = store.snapshotData();
        if (snapshot.lastIndex() > appliedIndex) {
            stateMachine.restore(snapshot, snapshotData);
            appliedIndex = snapshot.lastIndex();
        }
        core = RaftCore.restore(config.nodeId(), config.raft(), random, config.bootstrap(), store.hardState(), snapshot,
                snapshotData, RaftNode.readLog(store), nowMs);
        LOG.warn("node {}: {} bytes free again; rejoining from the stored state (term {}, log up to {}, applied {})",
                config.nodeId(), freeBytes, store.hardState().term(), store.lastIndex(), appliedIndex);
        suspendedReason = null;
        lastResumeMs = nowMs;
        process(List.of(core.tick(nowMs)), core.commitIndex());
    }

    /** Ends the loop: no more voting or leading; every waiting caller learns it. */
    private void stop(RaftException reason) {
        stopped = true;
        transport.close();
        for (PendingEntry p : pendingEntries.values()) {
            p.future().completeExceptionally(reason);
        }
        pendingEntries.clear();
        for (PendingRead p : pendingReads.values()) {
            p.future.completeExceptionally(reason);
        }
        pendingReads.clear();
        if (pendingTransfer != null) {
            pendingTransfer.completeExceptionally(reason);
        }
        List<Event> left = new ArrayList<>();
        queue.drainTo(left);
        for (Event e : left) {
            failEvent(e, reason);
        }
        if (closing != null) {
            closing.complete(null);
        }
    }

    /** Maps the core's refusal to the typed, definite exception callers act on. */
    static RaftException refusal(String what, Output.Refusal refusal, int leaderHint) {
        return switch (refusal) {
            case NOT_LEADER, TRANSFER_IN_PROGRESS -> new NotLeaderException(what + " refused: " + refusal, leaderHint);
            case CONFIGURATION_CHANGE_IN_PROGRESS, TOO_MANY_PENDING -> new RefusedException(what + " refused: " + refusal);
        };
    }

    static void failEvent(Event e, RaftException reason) {
        if (e instanceof Propose p) {
            p.future().completeExceptionally(reason);
        } else if (e instanceof Read r) {
            r.future().completeExceptionally(reason);
        } else if (e instanceof Change c) {
            c.future().completeExceptionally(reason);
        } else if (e instanceof Transfer t) {
            t.future().completeExceptionally(reason);
        } else if (e instanceof Close c) {
            c.future().complete(null);
        }
    }

    Map<String, Long> status() {
        return Map.of("term", term, "leader", (long) leaderId, "commit", commitIndex, "applied", lastApplied);
    }
}

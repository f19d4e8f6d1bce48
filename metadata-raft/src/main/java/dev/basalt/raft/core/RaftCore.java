package dev.basalt.raft.core;

import dev.basalt.raft.core.Output.LeaderChange;
import dev.basalt.raft.core.Output.ProposalResult;
import dev.basalt.raft.core.Output.ReadResult;
import dev.basalt.raft.core.Output.Refusal;
import dev.basalt.raft.core.Output.SnapshotInstall;
import dev.basalt.raft.core.RaftMessage.AppendRequest;
import dev.basalt.raft.core.RaftMessage.AppendResponse;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotRequest;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotResponse;
import dev.basalt.raft.core.RaftMessage.TimeoutNowRequest;
import dev.basalt.raft.core.RaftMessage.VoteRequest;
import dev.basalt.raft.core.RaftMessage.VoteResponse;
import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.LogEntry.EntryType;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.quorum.ConfigurationHistory;
import dev.basalt.raft.quorum.Majority;
import dev.basalt.raft.quorum.Progress;
import dev.basalt.raft.quorum.ProgressTracker;
import dev.basalt.raft.state.CandidateState;
import dev.basalt.raft.state.EpochState;
import dev.basalt.raft.state.FollowerState;
import dev.basalt.raft.state.LeaderState;
import dev.basalt.raft.state.LeaderState.PendingRead;
import dev.basalt.raft.state.ProspectiveState;
import dev.basalt.raft.state.QuorumState;
import dev.basalt.raft.state.UnattachedState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The Raft consensus core of one node as a deterministic step function. Every public call takes an
 * input (a message, a tick, a proposal, a read, a membership change) and the current time
 * {@code nowMs}, and returns an immutable {@link Output}; see its ordering contract. No threads,
 * I/O, clocks or ambient randomness: election jitter comes from the injected generator. Not
 * thread-safe: one driver thread owns an instance.
 *
 * <p>Implements: leader election with randomized timeouts (Raft paper §5.2), pre-vote
 * (dissertation §9.6), check-quorum and the leader lease against disruptive votes (§6.2, §4.2.3),
 * a no-op entry per term (§8), log replication with conflict truncation (§5.3), commitment only of
 * current-term entries by counting (§5.4.2), ReadIndex reads (§6.4), snapshots streamed in chunks
 * with log compaction (§7), leadership transfer (§3.10), single-server membership changes
 * (§4.1), and observers: members that receive the log but never vote or count.
 *
 * <p>Role state lives in {@code dev.basalt.raft.state} (one class per role, transitions only
 * through {@link QuorumState}); majority math and per-follower progress in
 * {@code dev.basalt.raft.quorum}.
 */
public final class RaftCore {
    private final int localId;
    private final RaftConfig config;
    private final QuorumState quorum;
    private final RaftLog log;
    private final ConfigurationHistory configurations;
    private long commitIndex;
    /**
     * The highest commit index a leader has told this node (0 before any AppendEntries, and on a
     * leader: it learns its own). Unlike {@link #commitIndex} it is known before this log agrees
     * with the leader's: a restarted follower whose commit index is the one it persisted has
     * caught up only once it has applied this far.
     */
    private long leaderCommitSeen;
    /** Highest index handed to the driver for applying (or covered by an installed snapshot). */
    private long appliedIndex;
    private SnapshotReceiver receiving;
    private OutputBuilder out;
    private long reportedTerm = -1;
    private int reportedLeader = EpochState.NO_LEADER;
    /**
     * This node rejoins the quorum after losing its log (its bootstrap configuration lists it as an
     * observer, not a voter): it may have voted in terms it no longer remembers, so it grants no
     * vote until a configuration entry makes it a voter again (a voter change, one at a time).
     */
    private final boolean rejoining;
    /** Role changes not yet taken by the driver, oldest first, at most {@link #ROLE_CHANGES_KEPT_MAX}. */
    private final java.util.ArrayDeque<RoleChange> roleChanges = new java.util.ArrayDeque<>();

    /** How many untaken role changes are kept; older ones are dropped (a core driven without a driver). */
    public static final int ROLE_CHANGES_KEPT_MAX = 64;

    /**
     * A change of this node's role, with why, for the driver to log: the core does no I/O. A
     * {@code repeat} is another round of the same attempt (a pre-vote started again after one that
     * did not win), which an operator needs only once.
     */
    public record RoleChange(long term, String role, String reason, boolean repeat) {
    }

    private RaftCore(int localId, RaftConfig config, QuorumState quorum, RaftLog log,
                     ConfigurationHistory configurations, long commitIndex, boolean rejoining) {
        this.localId = localId;
        this.rejoining = rejoining;
        this.config = config;
        this.quorum = quorum;
        this.log = log;
        this.configurations = configurations;
        this.commitIndex = commitIndex;
        this.appliedIndex = log.snapshot().lastIndex();
    }

    /**
     * Rebuilds a node from what its store holds. {@code bootstrap} is the initial voter set, used
     * only while neither the snapshot nor the log carries a configuration. A bootstrap that lists
     * this node as an observer marks it as rejoining after a lost log: it grants no vote until a
     * configuration makes it a voter. The driver must have
     * restored {@code snapshotData} into the state machine; committed entries after the snapshot
     * are emitted by the first call.
     */
    public static RaftCore restore(int localId, RaftConfig config, RandomGenerator random, Configuration bootstrap,
                                   HardState hardState, SnapshotMeta snapshot, byte[] snapshotData,
                                   List<LogEntry> entries, long nowMs) {
        RaftLog log = new RaftLog(snapshot, snapshotData, entries);
        Configuration base = snapshot.lastIndex() > 0
                ? Configuration.of(snapshot.voters(), snapshot.observers()) : bootstrap;
        ConfigurationHistory history = new ConfigurationHistory(snapshot.lastIndex(), base);
        for (LogEntry e : entries) {
            if (e.type() == EntryType.CONFIGURATION) {
                history.add(e.index(), Configuration.decode(e.data()));
            }
        }
        long commit = Math.max(snapshot.lastIndex(), Math.min(hardState.commitIndex(), log.lastIndex()));
        QuorumState quorum = new QuorumState(localId, random, config.electionTimeoutMinMs(),
                config.electionTimeoutMaxMs(), hardState, nowMs);
        return new RaftCore(localId, config, quorum, log, history, commit, bootstrap.observers().contains(localId));
    }

    // ---------------------------------------------------------------- inputs

    /** Handles one message from another node. Malformed messages throw before any state changes. */
    public Output step(RaftMessage m, long nowMs) {
        MessageValidator.validate(m, localId);
        return call(() -> m.getClass().getSimpleName() + " from node " + m.from(), () -> stepValid(m, nowMs));
    }

    private Output stepValid(RaftMessage m, long nowMs) {
        if (m.term() > quorum.term() && !handleHigherTerm(m, nowMs)) {
            return finish();
        }
        if (m instanceof VoteRequest r) {
            handleVoteRequest(r, nowMs);
        } else if (m instanceof VoteResponse r) {
            handleVoteResponse(r, nowMs);
        } else if (m instanceof AppendRequest r) {
            handleAppendRequest(r, nowMs);
        } else if (m instanceof AppendResponse r) {
            handleAppendResponse(r, nowMs);
        } else if (m instanceof InstallSnapshotRequest r) {
            handleInstallSnapshotRequest(r, nowMs);
        } else if (m instanceof InstallSnapshotResponse r) {
            handleInstallSnapshotResponse(r);
        } else if (m instanceof TimeoutNowRequest r) {
            handleTimeoutNowRequest(r, nowMs);
        }
        return finish();
    }

    /** Advances timers: elections (§5.2), heartbeats, check-quorum (§6.2), transfer timeout (§3.10). */
    public Output tick(long nowMs) {
        return call(() -> "tick", () -> {
            EpochState s = quorum.state();
            if (s instanceof LeaderState l) {
                tickLeader(l, nowMs);
            } else if (nowMs >= s.electionDeadlineMs()) {
                campaign(nowMs, electionTimeoutReason(s, nowMs));
            }
            return finish();
        });
    }

    /** Appends client payloads as DATA entries (§5.3) if this node leads and is not transferring. */
    public Output propose(List<byte[]> payloads, long nowMs) {
        if (payloads.isEmpty()) {
            throw new IllegalArgumentException("nothing to propose");
        }
        return call(() -> "proposal", () -> {
            ProposalResult refusal = proposalRefusal();
            if (refusal != null) {
                out.proposal = refusal;
                return finish();
            }
            LeaderState l = (LeaderState) quorum.state();
            long first = log.lastIndex() + 1;
            List<LogEntry> entries = new ArrayList<>(payloads.size());
            for (byte[] p : payloads) {
                entries.add(new LogEntry(l.term(), first + entries.size(), EntryType.DATA, p));
            }
            appendLocal(entries);
            out.proposal = ProposalResult.accepted(l.term(), first, log.lastIndex());
            broadcastAppend(l);
            maybeCommit(l, nowMs);
            return finish();
        });
    }

    /**
     * Appends a membership change (dissertation §4.1). It takes effect as soon as it is in the log;
     * a new one is refused until the previous one committed and this leader committed an entry of
     * its own term (the fix of §4.1's single-server bug).
     */
    public Output changeConfiguration(ConfigChange change, long nowMs) {
        // Checked before the call begins: an invalid change (removing a node that is not a voter)
        // throws with the core untouched. Thrown after begin(), it left the call open, and the next
        // tick failed as a re-entrant call, halting the node (found probing: one mistyped
        // remove-voter took down the active controller).
        Configuration next = applyChange(configurations.latest(), change);
        return call(() -> "configuration change", () -> {
            ProposalResult refusal = proposalRefusal();
            if (refusal == null && (configurations.latestIndex() > commitIndex || log.termAt(commitIndex) != quorum.term())) {
                refusal = ProposalResult.refused(Refusal.CONFIGURATION_CHANGE_IN_PROGRESS, localId);
            }
            if (refusal != null) {
                out.proposal = refusal;
                return finish();
            }
            LeaderState l = (LeaderState) quorum.state();
            long index = log.lastIndex() + 1;
            appendLocal(List.of(new LogEntry(l.term(), index, EntryType.CONFIGURATION, next.encode())));
            out.proposal = ProposalResult.accepted(l.term(), index, index);
            broadcastAppend(l);
            maybeCommit(l, nowMs);
            return finish();
        });
    }

    /**
     * Registers a linearizable read (ReadIndex, dissertation §6.4): once this leader has committed
     * an entry of its term and a majority has acknowledged a heartbeat sent after the request, the
     * read may be served at the commit index recorded on arrival.
     */
    public Output readIndex(long readId, long nowMs) {
        return call(() -> "read", () -> {
            if (!(quorum.state() instanceof LeaderState l)) {
                out.reads.add(new ReadResult(readId, false, 0, Refusal.NOT_LEADER, quorum.leaderId()));
            } else if (l.pendingReadCount() >= config.pendingReadsMax()) {
                out.reads.add(new ReadResult(readId, false, 0, Refusal.TOO_MANY_PENDING, localId));
            } else if (log.termAt(commitIndex) != l.term()) {
                l.readsAwaitingCommit().add(readId);
            } else {
                registerReads(l, List.of(readId));
            }
            return finish();
        });
    }

    /** Starts handing leadership to {@code targetId} (§3.10); proposals are refused meanwhile. */
    public Output transferLeadership(int targetId, long nowMs) {
        if (quorum.state() instanceof LeaderState && (!configurations.latest().isVoter(targetId) || targetId == localId)) {
            // before the call begins, as for changeConfiguration
            throw new IllegalArgumentException("cannot transfer leadership to " + targetId + " in "
                    + configurations.latest());
        }
        return call(() -> "leadership transfer", () -> {
            if (!(quorum.state() instanceof LeaderState l)) {
                out.proposal = ProposalResult.refused(Refusal.NOT_LEADER, quorum.leaderId());
                return finish();
            }
            l.startTransfer(targetId, nowMs + config.electionTimeoutMaxMs());
            Progress pr = l.progress().get(targetId);
            if (pr.matchIndex() == log.lastIndex()) {
                send(new TimeoutNowRequest(localId, targetId, l.term()));
            } else {
                sendAppend(l, pr, false);
            }
            return finish();
        });
    }

    /** A leader gives up leadership in its term without a successor (shutdown fallback). */
    public Output resign(long nowMs) {
        return call(() -> "resignation", () -> {
            if (quorum.state() instanceof LeaderState l) {
                failReads(l);
                quorum.transitionToResigned();
                noteRole("gave up leadership of term " + l.term() + " without a successor (shutting down)", false);
            }
            return finish();
        });
    }

    /**
     * The metadata of a snapshot of the state machine taken at applied index {@code index}: its
     * term and the configuration in force there.
     */
    public SnapshotMeta snapshotMetaAt(long index) {
        if (index < log.snapshot().lastIndex() || index > appliedIndex) {
            throw new IllegalArgumentException("snapshot index " + index + " outside ["
                    + log.snapshot().lastIndex() + ", " + appliedIndex + "]");
        }
        Configuration c = configurations.at(index);
        return new SnapshotMeta(index, log.termAt(index), c.voters(), c.observers());
    }

    /** Log compaction (§7): the driver persisted a snapshot; entries it covers are dropped. */
    public void compact(SnapshotMeta meta, byte[] data) {
        if (meta.lastIndex() > appliedIndex) {
            throw new IllegalArgumentException("cannot compact past applied index " + appliedIndex);
        }
        if (meta.lastIndex() <= log.snapshot().lastIndex()) {
            return;
        }
        Configuration at = configurations.at(meta.lastIndex());
        log.compact(meta, data);
        configurations.compactTo(meta.lastIndex(), at);
    }

    // ---------------------------------------------------------------- read-only view

    public int localId() {
        return localId;
    }

    public long term() {
        return quorum.term();
    }

    public int leaderId() {
        return quorum.leaderId();
    }

    public boolean isLeader() {
        return quorum.isLeader();
    }

    public EpochState role() {
        return quorum.state();
    }

    public long commitIndex() {
        return commitIndex;
    }

    /** See {@link #leaderCommitSeen}: the highest commit index a leader's AppendEntries carried. */
    public long leaderCommitSeen() {
        return leaderCommitSeen;
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    public long firstIndex() {
        return log.firstIndex();
    }

    public long lastIndex() {
        return log.lastIndex();
    }

    /** Term at {@code index}, or -1 when compacted or beyond the end. */
    public long termAt(long index) {
        return log.termAt(index);
    }

    public LogEntry entry(long index) {
        return log.entry(index);
    }

    public SnapshotMeta snapshot() {
        return log.snapshot();
    }

    public Configuration configuration() {
        return configurations.latest();
    }

    /** The role changes since the last call, oldest first, each with its reason; clears them. */
    public List<RoleChange> takeRoleChanges() {
        List<RoleChange> taken = List.copyOf(roleChanges);
        roleChanges.clear();
        return taken;
    }

    private void noteRole(String reason, boolean repeat) {
        if (roleChanges.size() == ROLE_CHANGES_KEPT_MAX) {
            roleChanges.removeFirst();
        }
        roleChanges.addLast(new RoleChange(quorum.term(), quorum.state().name(), reason, repeat));
    }

    /** Match index of {@code peerId} as seen by this leader, or -1 when not leading / unknown peer. */
    public long peerMatchIndex(int peerId) {
        if (quorum.state() instanceof LeaderState l && l.progress().get(peerId) != null) {
            return l.progress().get(peerId).matchIndex();
        }
        return -1;
    }

    // ---------------------------------------------------------------- terms

    /** §5.1: a newer term makes this node step down, except for pre-votes and leased leaders. */
    private boolean handleHigherTerm(RaftMessage m, long nowMs) {
        if (m instanceof VoteRequest r) {
            if (!r.preVote() && (r.transfer() || !leaseActive(nowMs))) {
                String was = describeRole();
                becomeUnattached(r.term(), nowMs);
                noteRole("node " + r.from() + " stands for election in term " + r.term()
                        + (r.transfer() ? " (leadership handed over to it)" : "") + "; was " + was, false);
            }
            return true;
        }
        if (m instanceof VoteResponse r && r.preVote() && r.granted()) {
            return true;
        }
        if (m instanceof AppendRequest || m instanceof InstallSnapshotRequest || m instanceof TimeoutNowRequest) {
            String was = describeRole();
            becomeFollower(m.term(), m.from(), nowMs);
            noteRole("leader " + m.from() + " of term " + m.term() + " heard from (" + m.getClass().getSimpleName()
                    + "); was " + was, false);
            return true;
        }
        String was = describeRole();
        becomeUnattached(m.term(), nowMs);
        noteRole("saw term " + m.term() + " in a " + m.getClass().getSimpleName() + " from node " + m.from() + "; was " + was,
                false);
        return false;
    }

    /** Whether a leader is known to be alive: then votes are refused (§4.2.3 disruptive servers). */
    private boolean leaseActive(long nowMs) {
        EpochState s = quorum.state();
        if (s instanceof LeaderState) {
            return true;
        }
        return s instanceof FollowerState f && f.leaderLeaseValid(nowMs, config.electionTimeoutMinMs());
    }

    /** This node's role and term, as a reason names what it changed from. */
    private String describeRole() {
        EpochState s = quorum.state();
        return s.name().toLowerCase(java.util.Locale.ROOT) + " in term " + s.term()
                + (s instanceof FollowerState f ? " (leader " + f.leaderId() + ")" : "");
    }

    private void becomeUnattached(long term, long nowMs) {
        if (quorum.state() instanceof LeaderState l) {
            failReads(l);
        }
        receiving = null;
        quorum.transitionToUnattached(term, nowMs);
    }

    private void becomeFollower(long term, int leaderId, long nowMs) {
        if (quorum.state() instanceof LeaderState l) {
            failReads(l);
        }
        if (quorum.term() != term) {
            receiving = null;
        }
        quorum.transitionToFollower(term, leaderId, nowMs);
    }

    // ---------------------------------------------------------------- elections (§5.2, §9.6)

    /** Why the election timer fired, in the words an operator reads in the log. */
    private static String electionTimeoutReason(EpochState s, long nowMs) {
        if (s instanceof FollowerState f) {
            return "nothing heard from leader " + f.leaderId() + " of term " + f.term() + " for "
                    + (nowMs - f.lastLeaderContactMs()) + " ms (election timeout)";
        }
        if (s instanceof ProspectiveState p) {
            return "the pre-vote for term " + p.campaignTerm() + " was not granted by a majority in time (granted by "
                    + p.granted() + ")";
        }
        if (s instanceof CandidateState c) {
            return "the election of term " + c.term() + " was not won in time (votes from " + c.granted() + ")";
        }
        return "no leader known in term " + s.term() + " within the election timeout";
    }

    /**
     * Election timeout: a voter starts a pre-vote; anyone else just waits for a leader. A node
     * removed by a configuration not known to be committed still campaigns (dissertation §4.2.2:
     * it may be needed until the removal commits; a restarted node's commit index is only a lower
     * bound), but counts its own vote only where it is a voter. The simulation found both the
     * deadlock this avoids and the one of the narrower rule "voter at the commit index".
     */
    private void campaign(long nowMs, String reason) {
        Configuration c = configurations.latest();
        if (!configurations.isVoterSince(commitIndex, localId)) {
            quorum.postponeElection(nowMs);
            return;
        }
        boolean again = quorum.state() instanceof ProspectiveState;
        ProspectiveState p = quorum.transitionToProspective(nowMs);
        noteRole("pre-vote for term " + p.campaignTerm() + ": " + reason, again);
        if (Majority.isMajority(p.granted(), c.voters())) {
            becomeCandidate(nowMs, false);
            return;
        }
        for (Integer v : c.voters()) {
            if (v != localId) {
                send(new VoteRequest(localId, v, p.campaignTerm(), log.lastIndex(), log.lastTerm(), true, false));
            }
        }
    }

    private void becomeCandidate(long nowMs, boolean transfer) {
        EpochState before = quorum.state();
        CandidateState c = quorum.transitionToCandidate(nowMs, transfer);
        Configuration cfg = configurations.latest();
        noteRole(transfer ? "leader " + before.leaderId() + " handed leadership over (TimeoutNow); standing at once"
                : before instanceof ProspectiveState p ? "pre-vote granted by " + p.granted() + " of voters " + cfg.voters()
                : "standing for election", false);
        if (Majority.isMajority(c.granted(), cfg.voters())) {
            becomeLeader(nowMs);
            return;
        }
        for (Integer v : cfg.voters()) {
            if (v != localId) {
                send(new VoteRequest(localId, v, c.term(), log.lastIndex(), log.lastTerm(), false, transfer));
            }
        }
    }

    /** §5.2 + §8: the winner appends a no-op of its term and starts replicating. */
    private void becomeLeader(long nowMs) {
        ProgressTracker tracker = new ProgressTracker(localId);
        long noopIndex = log.lastIndex() + 1;
        tracker.sync(configurations.latest(), noopIndex);
        java.util.Set<Integer> votes = quorum.state() instanceof CandidateState c ? c.granted() : java.util.Set.of(localId);
        LeaderState l = quorum.transitionToLeader(tracker, noopIndex, nowMs, config.heartbeatIntervalMs());
        noteRole("elected with votes from " + votes + " of voters " + configurations.latest().voters(), false);
        appendLocal(List.of(new LogEntry(l.term(), noopIndex, EntryType.NOOP, new byte[0])));
        broadcastAppend(l);
        maybeCommit(l, nowMs);
    }

    /** RequestVote receiver (§5.2, §5.4.1 up-to-date check) and pre-vote receiver (§9.6). */
    private void handleVoteRequest(VoteRequest m, long nowMs) {
        if (rejoining && !configurations.latest().isVoter(localId)) {
            send(new VoteResponse(localId, m.from(), quorum.term(), false, m.preVote()));
            return;
        }
        boolean upToDate = m.lastLogTerm() > log.lastTerm()
                || (m.lastLogTerm() == log.lastTerm() && m.lastLogIndex() >= log.lastIndex());
        // No membership check on the candidate: a voter may not have the configuration entry that
        // made the candidate a voter yet (dissertation §4.2.2). The lease keeps removed servers
        // from disrupting a live leader.
        boolean eligible = m.transfer() || !leaseActive(nowMs);
        if (m.preVote()) {
            boolean grant = eligible && upToDate && m.term() > quorum.term();
            send(new VoteResponse(localId, m.from(), grant ? m.term() : quorum.term(), grant, true));
            return;
        }
        boolean grant = false;
        if (eligible && upToDate && m.term() == quorum.term()) {
            EpochState s = quorum.state();
            if (s.votedFor() == m.from()) {
                grant = true;
            } else if (s instanceof UnattachedState && s.votedFor() == HardState.NO_VOTE) {
                quorum.recordVote(m.from(), nowMs);
                grant = true;
            }
        }
        send(new VoteResponse(localId, m.from(), quorum.term(), grant, false));
    }

    private void handleVoteResponse(VoteResponse m, long nowMs) {
        EpochState s = quorum.state();
        Configuration c = configurations.latest();
        if (m.preVote()) {
            if (s instanceof ProspectiveState p && (!m.granted() || m.term() == p.campaignTerm())) {
                p.recordPreVote(m.from(), m.granted());
                if (Majority.isMajority(p.granted(), c.voters())) {
                    becomeCandidate(nowMs, false);
                }
            }
            return;
        }
        if (s instanceof CandidateState cs && m.term() == cs.term()) {
            cs.recordVote(m.from(), m.granted());
            if (Majority.isMajority(cs.granted(), c.voters())) {
                becomeLeader(nowMs);
            }
        }
    }

    /** Leadership transfer target (§3.10): campaign at once, skipping pre-vote. */
    private void handleTimeoutNowRequest(TimeoutNowRequest m, long nowMs) {
        if (m.term() == quorum.term() && quorum.state() instanceof FollowerState f && f.leaderId() == m.from()
                && configurations.latest().isVoter(localId)) {
            becomeCandidate(nowMs, true);
        }
    }

    // ---------------------------------------------------------------- replication, follower side (§5.3)

    /** AppendEntries receiver (§5.3): consistency check, conflict truncation, commit advance. */
    private void handleAppendRequest(AppendRequest m, long nowMs) {
        if (m.term() < quorum.term()) {
            send(new AppendResponse(localId, m.from(), quorum.term(), false, 0, m.prevLogIndex(), 0, m.readSeq()));
            return;
        }
        followLeader(m.from(), m.term(), nowMs);
        leaderCommitSeen = Math.max(leaderCommitSeen, m.leaderCommit());
        long prev = m.prevLogIndex();
        long prevTerm = m.prevLogTerm();
        List<LogEntry> entries = m.entries();
        if (prev < commitIndex) {
            // Entries up to commitIndex are committed, hence identical to the leader's (§5.4.3):
            // skip them, which also handles prefixes compacted into our snapshot.
            int skip = (int) Math.min(entries.size(), commitIndex - prev);
            entries = entries.subList(skip, entries.size());
            prev = commitIndex;
            prevTerm = log.termAt(commitIndex);
        }
        if (log.termAt(prev) != prevTerm) {
            send(new AppendResponse(localId, m.from(), quorum.term(), false, 0, m.prevLogIndex(),
                    rejectHint(prev), m.readSeq()));
            return;
        }
        if (!entries.isEmpty() && entries.get(0).term() < prevTerm) {
            // No leader sends this: its log's terms never decrease, and its entries up to our commit
            // index are ours. Found by the message fuzz: an injected append whose skipped committed
            // prefix hid a term below our committed entry's broke the core ("term goes backwards").
            // The log matches through prev: the hint says so.
            send(new AppendResponse(localId, m.from(), quorum.term(), false, 0, m.prevLogIndex(), prev, m.readSeq()));
            return;
        }
        appendNew(entries);
        long lastNew = prev + entries.size();
        if (m.leaderCommit() > commitIndex) {
            commitIndex = Math.max(commitIndex, Math.min(m.leaderCommit(), lastNew));
        }
        send(new AppendResponse(localId, m.from(), quorum.term(), true, lastNew, m.prevLogIndex(), 0, m.readSeq()));
    }

    /** Same-term leader message: follow it (or confirm it) and postpone the election. */
    private void followLeader(int leaderId, long term, long nowMs) {
        if (!(quorum.state() instanceof FollowerState f) || f.leaderId() != leaderId) {
            String was = describeRole();
            becomeFollower(term, leaderId, nowMs);
            noteRole("leader " + leaderId + " of term " + term + " heard from; was " + was, false);
        }
        ((FollowerState) quorum.state()).leaderContact(nowMs, quorum.randomDeadline(nowMs));
    }

    /** The last index that may agree with the leader: skip the whole conflicting term at once. */
    private long rejectHint(long prev) {
        if (prev > log.lastIndex()) {
            return log.lastIndex();
        }
        long conflictTerm = log.termAt(prev);
        long i = prev - 1;
        while (i > commitIndex && log.termAt(i) == conflictTerm) {
            i--;
        }
        return i;
    }

    /** Appends what is new; truncates only on a real conflict, so stale or duplicated requests are harmless. */
    private void appendNew(List<LogEntry> entries) {
        for (int i = 0; i < entries.size(); i++) {
            LogEntry e = entries.get(i);
            if (e.index() > log.lastIndex() || log.termAt(e.index()) != e.term()) {
                if (e.index() <= commitIndex) {
                    throw new IllegalStateException("conflict at committed index " + e.index() + " (commit "
                            + commitIndex + "): leader sent term " + e.term() + ", log has " + log.termAt(e.index()));
                }
                appendLocal(entries.subList(i, entries.size()));
                return;
            }
        }
    }

    /** Appends to the in-memory log, emits the entries for persistence and tracks configurations. */
    private void appendLocal(List<LogEntry> entries) {
        if (entries.isEmpty()) {
            return;
        }
        configurations.truncateFrom(entries.get(0).index());
        log.append(entries);
        out.persist(entries);
        for (LogEntry e : entries) {
            if (e.type() == EntryType.CONFIGURATION) {
                configurations.add(e.index(), Configuration.decode(e.data()));
                if (quorum.state() instanceof LeaderState l) {
                    l.progress().sync(configurations.latest(), log.lastIndex() + 1);
                }
            }
        }
    }

    /** InstallSnapshot receiver (§7): chunks are accepted in order; the last one installs. */
    private void handleInstallSnapshotRequest(InstallSnapshotRequest m, long nowMs) {
        if (m.term() < quorum.term()) {
            send(new InstallSnapshotResponse(localId, m.from(), quorum.term(), m.lastIndex(), 0, false));
            return;
        }
        followLeader(m.from(), m.term(), nowMs);
        if (m.lastIndex() <= commitIndex) {
            receiving = null;
            send(new InstallSnapshotResponse(localId, m.from(), quorum.term(), m.lastIndex(), 0, true));
            return;
        }
        if (receiving == null || !receiving.matches(m.lastIndex(), m.lastTerm())) {
            if (m.offset() != 0) {
                send(new InstallSnapshotResponse(localId, m.from(), quorum.term(), m.lastIndex(), 0, false));
                return;
            }
            receiving = new SnapshotReceiver(m.lastIndex(), m.lastTerm(),
                    Configuration.of(m.voters(), m.observers()));
        }
        if (m.offset() != receiving.sizeBytes()) {
            send(new InstallSnapshotResponse(localId, m.from(), quorum.term(), m.lastIndex(), receiving.sizeBytes(), false));
            return;
        }
        receiving.append(m.data());
        if (m.done()) {
            installReceivedSnapshot();
        }
        int next = receiving == null ? 0 : receiving.sizeBytes();
        send(new InstallSnapshotResponse(localId, m.from(), quorum.term(), m.lastIndex(), next, m.done()));
    }

    private void installReceivedSnapshot() {
        Configuration c = receiving.configuration();
        SnapshotMeta meta = new SnapshotMeta(receiving.lastIndex(), receiving.lastTerm(), c.voters(), c.observers());
        byte[] data = receiving.bytes();
        receiving = null;
        log.installSnapshot(meta, data);
        configurations.reset(meta.lastIndex(), c);
        for (long i = log.firstIndex(); i <= log.lastIndex(); i++) {
            LogEntry e = log.entry(i);
            if (e.type() == EntryType.CONFIGURATION) {
                configurations.add(i, Configuration.decode(e.data()));
            }
        }
        commitIndex = Math.max(commitIndex, meta.lastIndex());
        appliedIndex = meta.lastIndex();
        out.snapshot = new SnapshotInstall(meta, data);
    }

    // ---------------------------------------------------------------- replication, leader side (§5.3, §7)

    private void tickLeader(LeaderState l, long nowMs) {
        if (nowMs >= l.transferDeadlineMs()) {
            l.abortTransfer();
        }
        if (nowMs >= l.checkQuorumDeadlineMs()) {
            java.util.Set<Integer> heard = l.progress().recentlyActiveVoters(configurations.latest());
            if (!l.progress().takeQuorumActive(configurations.latest())) {
                // check-quorum (§6.2): a leader cut off from its majority stops serving
                becomeUnattached(l.term(), nowMs);
                noteRole("stepped down as leader (check-quorum): heard from only " + heard + " of voters "
                        + configurations.latest().voters() + " in the last " + config.electionTimeoutMinMs() + " ms", false);
                return;
            }
            l.setCheckQuorumDeadlineMs(nowMs + config.electionTimeoutMinMs());
        }
        if (nowMs >= l.heartbeatDeadlineMs()) {
            l.setHeartbeatDeadlineMs(nowMs + config.heartbeatIntervalMs());
            for (Progress pr : l.progress().all()) {
                int stalledRounds = pr.heartbeatRound();
                if (pr.mode() == Progress.Mode.REPLICATE && stalledRounds >= 2) {
                    // pipelined appends were lost: fall back to probing from the last known match
                    pr.becomeProbe(pr.matchIndex() + 1);
                }
                sendAppend(l, pr, true);
            }
        }
    }

    private void broadcastAppend(LeaderState l) {
        for (Progress pr : l.progress().all()) {
            sendAppend(l, pr, false);
        }
    }

    /**
     * Sends what {@code pr} needs: new entries if flow control allows, a snapshot chunk if the
     * entries are compacted, or (on {@code heartbeat}) an empty append that carries the commit
     * index and the read round.
     */
    private void sendAppend(LeaderState l, Progress pr, boolean heartbeat) {
        switch (pr.mode()) {
            case SNAPSHOT -> maybeSendSnapshotChunk(l, pr);
            case PROBE -> {
                if (pr.probeSent() && !heartbeat) {
                    return;
                }
                pr.markProbeSent();
                sendEntries(l, pr, pr.nextIndex() - 1, false);
            }
            case REPLICATE -> {
                if (pr.nextIndex() <= log.lastIndex() && !pr.inflightFull(config.inflightAppendsMax())) {
                    sendEntries(l, pr, pr.nextIndex() - 1, true);
                } else if (heartbeat) {
                    sendEmptyAppend(l, pr, pr.matchIndex());
                }
            }
        }
    }

    private void sendEntries(LeaderState l, Progress pr, long prev, boolean pipelined) {
        long prevTerm = log.termAt(prev);
        if (prevTerm < 0) {
            pr.becomeSnapshot(log.snapshot().lastIndex());
            maybeSendSnapshotChunk(l, pr);
            return;
        }
        List<LogEntry> entries = prev < log.lastIndex()
                ? log.slice(prev + 1, log.lastIndex(), config.appendBytesMax(), config.appendEntriesMax()) : List.of();
        send(new AppendRequest(localId, pr.nodeId(), l.term(), prev, prevTerm, entries, commitIndex, l.readSeq()));
        if (pipelined && !entries.isEmpty()) {
            pr.sentEntries(entries.get(entries.size() - 1).index());
        }
    }

    private void sendEmptyAppend(LeaderState l, Progress pr, long prev) {
        long prevTerm = log.termAt(prev);
        if (prevTerm < 0) {
            pr.becomeSnapshot(log.snapshot().lastIndex());
            maybeSendSnapshotChunk(l, pr);
            return;
        }
        send(new AppendRequest(localId, pr.nodeId(), l.term(), prev, prevTerm, List.of(), commitIndex, l.readSeq()));
    }

    private void maybeSendSnapshotChunk(LeaderState l, Progress pr) {
        SnapshotMeta snap = log.snapshot();
        byte[] data = log.snapshotData();
        if (pr.snapshotIndex() != snap.lastIndex() || pr.snapshotOffset() > data.length) {
            pr.becomeSnapshot(snap.lastIndex());
        }
        if (pr.snapshotChunkInflight()) {
            return;
        }
        int offset = pr.snapshotOffset();
        int length = Math.min(config.snapshotChunkBytes(), data.length - offset);
        boolean done = offset + length == data.length;
        Configuration c = configurations.at(snap.lastIndex());
        send(new InstallSnapshotRequest(localId, pr.nodeId(), l.term(), snap.lastIndex(), snap.lastTerm(),
                List.copyOf(c.voters()), List.copyOf(c.observers()), offset,
                Arrays.copyOfRange(data, offset, offset + length), done));
        pr.snapshotChunkSent();
    }

    private void handleAppendResponse(AppendResponse m, long nowMs) {
        if (!(quorum.state() instanceof LeaderState l) || m.term() != l.term()) {
            return; // stale: from an older term of ours
        }
        if (m.matchIndex() > log.lastIndex() || m.rejectedIndex() > log.lastIndex()) {
            // Names entries this leader never had, so never sent (its log does not shrink within
            // its term): not an answer to any append of ours. Found by RaftMessageFuzzProperties:
            // taken as the follower's match it counted toward commits, and either index sent the
            // follower an empty snapshot of index 0.
            return;
        }
        Progress pr = l.progress().get(m.from());
        if (pr == null) {
            return; // not (any more) a member
        }
        pr.markActive();
        pr.ackRead(m.readSeq());
        if (m.success()) {
            onAppendAccepted(l, pr, m, nowMs);
        } else if (pr.mode() != Progress.Mode.SNAPSHOT && m.rejectedIndex() <= pr.matchIndex() && m.hintIndex() < pr.matchIndex()) {
            // A rejection at or below what it acknowledged, naming a shorter log: the follower lost
            // its log (a replaced disk, a voter rejoining with a new directory). Probing from the
            // acknowledged index would never reach it; a stale answer to an older probe only costs
            // a needless re-probe.
            pr.resetAfterLostLog(m.hintIndex());
            sendAppend(l, pr, false);
        } else if (isFreshRejection(pr, m)) {
            pr.becomeProbe(Math.min(m.rejectedIndex(), m.hintIndex() + 1));
            sendAppend(l, pr, false);
        }
        if (quorum.state() == l) {
            maybeServeReads(l);
        }
    }

    private void onAppendAccepted(LeaderState l, Progress pr, AppendResponse m, long nowMs) {
        if (pr.mode() == Progress.Mode.SNAPSHOT) {
            return; // an answer to an append sent before we switched to streaming the snapshot
        }
        boolean advanced = pr.maybeUpdate(m.matchIndex());
        if (pr.mode() == Progress.Mode.PROBE) {
            pr.becomeReplicate();
        }
        if (advanced) {
            maybeCommit(l, nowMs);
            if (quorum.state() != l) {
                return;
            }
        }
        if (l.transferTarget() == pr.nodeId() && pr.matchIndex() == log.lastIndex()) {
            send(new TimeoutNowRequest(localId, pr.nodeId(), l.term()));
        }
        sendAppend(l, pr, false);
    }

    /** A rejection matters only if it answers the append we are waiting for (etcd's stale check). */
    private static boolean isFreshRejection(Progress pr, AppendResponse m) {
        return switch (pr.mode()) {
            case REPLICATE -> m.rejectedIndex() > pr.matchIndex();
            case PROBE -> m.rejectedIndex() == pr.nextIndex() - 1;
            case SNAPSHOT -> false;
        };
    }

    private void handleInstallSnapshotResponse(InstallSnapshotResponse m) {
        if (!(quorum.state() instanceof LeaderState l) || m.term() != l.term()) {
            return;
        }
        Progress pr = l.progress().get(m.from());
        if (pr == null) {
            return;
        }
        pr.markActive();
        if (pr.mode() != Progress.Mode.SNAPSHOT || m.lastIndex() != pr.snapshotIndex()) {
            return;
        }
        if (m.done()) {
            pr.maybeUpdate(m.lastIndex());
            pr.becomeProbe(m.lastIndex() + 1);
            sendAppend(l, pr, false);
        } else {
            pr.snapshotChunkAcked(m.nextOffset());
            maybeSendSnapshotChunk(l, pr);
        }
    }

    /** §5.4.2: commit by counting replicas only for an entry of the current term. */
    private void maybeCommit(LeaderState l, long nowMs) {
        long n = l.progress().majorityMatchIndex(configurations.latest(), log.lastIndex());
        if (n <= commitIndex || log.termAt(n) != l.term()) {
            return;
        }
        commitIndex = n;
        if (!l.readsAwaitingCommit().isEmpty()) {
            registerReads(l, new ArrayList<>(l.readsAwaitingCommit()));
            l.readsAwaitingCommit().clear();
        }
        if (configurations.latestIndex() <= commitIndex && !configurations.latest().isVoter(localId)) {
            // §4.2.2: a leader removed from the voters steps down once the removal is committed;
            // one last round tells the others the commit index.
            for (Progress pr : l.progress().all()) {
                sendEmptyAppend(l, pr, pr.matchIndex());
            }
            failReads(l);
            quorum.transitionToResigned();
            noteRole("removed from the voters (configuration at index " + configurations.latestIndex()
                    + " committed): gave up leadership", false);
        }
    }

    // ---------------------------------------------------------------- reads (§6.4)

    private void registerReads(LeaderState l, List<Long> readIds) {
        long seq = l.nextReadSeq();
        for (Long id : readIds) {
            l.reads().add(new PendingRead(id, commitIndex, seq));
        }
        maybeServeReads(l);
        if (!l.reads().isEmpty()) {
            for (Progress pr : l.progress().all()) {
                if (pr.mode() != Progress.Mode.SNAPSHOT) {
                    sendEmptyAppend(l, pr, pr.mode() == Progress.Mode.PROBE ? pr.nextIndex() - 1 : pr.matchIndex());
                }
            }
        }
    }

    private void maybeServeReads(LeaderState l) {
        Configuration c = configurations.latest();
        while (!l.reads().isEmpty() && l.progress().readQuorum(c, l.reads().peekFirst().seq())) {
            PendingRead r = l.reads().pollFirst();
            out.reads.add(new ReadResult(r.readId(), true, r.readIndex(), null, localId));
        }
    }

    private void failReads(LeaderState l) {
        for (Long id : l.readsAwaitingCommit()) {
            out.reads.add(new ReadResult(id, false, 0, Refusal.NOT_LEADER, EpochState.NO_LEADER));
        }
        for (PendingRead r : l.reads()) {
            out.reads.add(new ReadResult(r.readId(), false, 0, Refusal.NOT_LEADER, EpochState.NO_LEADER));
        }
        l.readsAwaitingCommit().clear();
        l.reads().clear();
    }

    // ---------------------------------------------------------------- helpers

    private ProposalResult proposalRefusal() {
        if (!(quorum.state() instanceof LeaderState l)) {
            return ProposalResult.refused(Refusal.NOT_LEADER, quorum.leaderId());
        }
        if (l.transferTarget() != EpochState.NO_LEADER) {
            return ProposalResult.refused(Refusal.TRANSFER_IN_PROGRESS, l.transferTarget());
        }
        return null;
    }

    private static Configuration applyChange(Configuration c, ConfigChange change) {
        return switch (change.kind()) {
            case ADD_VOTER -> c.withVoter(change.nodeId());
            case REMOVE_VOTER -> c.withoutVoter(change.nodeId());
            case ADD_OBSERVER -> c.withObserver(change.nodeId());
            case REMOVE_OBSERVER -> c.withoutObserver(change.nodeId());
        };
    }

    private void send(RaftMessage m) {
        out.messages.add(m);
    }

    private void begin() {
        if (out != null) {
            throw new IllegalStateException("re-entrant call into the Raft core");
        }
        out = new OutputBuilder();
        out.commitAtBegin = commitIndex;
    }

    /**
     * Runs one call's body between {@link #begin} and its {@link #finish}. Inputs are validated
     * before a call begins, so a body that throws is a bug in the core that may have changed
     * state half-way: the call is abandoned and a {@link CoreFailedException} (not an
     * IllegalArgumentException, which callers take as "input refused, nothing changed") tells the
     * driver to stop the node rather than go on from a state no one can vouch for.
     */
    private Output call(java.util.function.Supplier<String> what, java.util.function.Supplier<Output> body) {
        begin();
        try {
            return body.get();
        } catch (RuntimeException e) {
            out = null;
            throw new CoreFailedException("Raft core failed handling " + what.get() + " on node " + localId
                    + "; its in-memory state may be inconsistent: " + e, e);
        }
    }

    /** A call into the core failed after it began (see {@link #call}). */
    public static final class CoreFailedException extends IllegalStateException {
        CoreFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Completes the output: hard state if term or vote changed (the commit index rides along as a
     * hint; it is not worth an fsync of its own), committed entries, leader change, next deadline.
     */
    private Output finish() {
        OutputBuilder b = out;
        out = null;
        List<LogEntry> committed = new ArrayList<>();
        for (long i = appliedIndex + 1; i <= commitIndex; i++) {
            committed.add(log.entry(i));
        }
        appliedIndex = Math.max(appliedIndex, commitIndex);
        // The commit hint may only name entries that were durable before this call: the hard state
        // is written before this output's entries, and a crash in between must not leave a hint
        // that points at a stale entry with the same index (found by the simulation).
        HardState hs = quorum.takeHardStateDirty()
                ? new HardState(quorum.term(), quorum.votedFor(), b.commitAtBegin) : null;
        LeaderChange change = null;
        if (quorum.term() != reportedTerm || quorum.leaderId() != reportedLeader) {
            reportedTerm = quorum.term();
            reportedLeader = quorum.leaderId();
            change = new LeaderChange(reportedTerm, reportedLeader);
        }
        return new Output(hs, b.snapshot, b.entries, b.messages, committed, b.reads, b.proposal, change,
                nextDeadlineMs());
    }

    private long nextDeadlineMs() {
        if (quorum.state() instanceof LeaderState l) {
            return Math.min(l.heartbeatDeadlineMs(), Math.min(l.checkQuorumDeadlineMs(), l.transferDeadlineMs()));
        }
        return quorum.state().electionDeadlineMs();
    }

    /** Collects one call's effects. */
    private static final class OutputBuilder {
        final List<LogEntry> entries = new ArrayList<>();
        final List<RaftMessage> messages = new ArrayList<>();
        final List<ReadResult> reads = new ArrayList<>();
        SnapshotInstall snapshot;
        ProposalResult proposal;
        long commitAtBegin;

        /** Later appends in one call may overwrite a suffix of earlier ones (truncation). */
        void persist(List<LogEntry> batch) {
            long first = batch.get(0).index();
            entries.removeIf(e -> e.index() >= first);
            entries.addAll(batch);
        }
    }

    /** Accumulates InstallSnapshot chunks (§7) for one snapshot; bounded by the int offset space. */
    private static final class SnapshotReceiver {
        private final long lastIndex;
        private final long lastTerm;
        private final Configuration configuration;
        private byte[] buffer = new byte[0];
        private int size;

        SnapshotReceiver(long lastIndex, long lastTerm, Configuration configuration) {
            this.lastIndex = lastIndex;
            this.lastTerm = lastTerm;
            this.configuration = configuration;
        }

        boolean matches(long index, long term) {
            return index == lastIndex && term == lastTerm;
        }

        long lastIndex() {
            return lastIndex;
        }

        long lastTerm() {
            return lastTerm;
        }

        Configuration configuration() {
            return configuration;
        }

        int sizeBytes() {
            return size;
        }

        void append(byte[] chunk) {
            if ((long) size + chunk.length > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("snapshot larger than 2 GiB");
            }
            if (size + chunk.length > buffer.length) {
                buffer = Arrays.copyOf(buffer, Math.max(size + chunk.length, buffer.length * 2));
            }
            System.arraycopy(chunk, 0, buffer, size, chunk.length);
            size += chunk.length;
        }

        byte[] bytes() {
            return Arrays.copyOf(buffer, size);
        }
    }
}

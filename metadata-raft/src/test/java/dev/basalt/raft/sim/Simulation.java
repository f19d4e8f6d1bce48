package dev.basalt.raft.sim;

import dev.basalt.raft.core.ConfigChange;
import dev.basalt.raft.core.Output;
import dev.basalt.raft.core.RaftConfig;
import dev.basalt.raft.core.RaftCore;
import dev.basalt.raft.core.RaftMessage;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.testkit.KvHistory;
import dev.basalt.raft.testkit.LinearizabilityChecker;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A deterministic, single-threaded simulation of a Raft cluster built from {@link RaftCore}s: a
 * scheduler ordered by (simulated time, sequence number), a network that drops, delays, duplicates
 * and reorders messages and can block any directed link (partitions, one-way partitions), node
 * crashes that lose what was not flushed (including torn writes), restarts, membership changes,
 * leadership transfers and snapshots, and KV clients whose history is checked for
 * linearizability. Not thread-safe; one instance per run.
 *
 * <p>Everything derives from one seed, so a run replays exactly. Invariants checked after every
 * event: at most one leader per term, log matching, committed entries never changed or truncated,
 * state-machine safety (every node applies the same entry at each index), leader completeness.
 * After the faulty phase comes a healed liveness phase: a leader must be elected, a new proposal
 * must commit, every client operation must finish, and all voters must converge.
 */
public final class Simulation {
    /**
     * All parameters of one run; derived from the seed (swarm testing) apart from the two counts.
     *
     * <p>The message shape and the timing vary by seed too, because several classic bugs need
     * them: {@code appendEntriesMax} of 1 (with a tiny {@code appendBytesMax}) lets a follower
     * acknowledge an old-term entry on its own (the Raft paper's Figure 8); a few messages delayed
     * by up to {@code lateDelayMaxMs}, longer than a crash-restart cycle, meet a node that
     * restarted in between (a late vote request finds a node that forgot its vote); and
     * {@code restartDelayMaxMs} ranges from an immediate restart to one outliving several
     * election timeouts. While faults are active, a new leader crashes with probability
     * {@code newLeaderCrashRate} right after one of its first six outputs (a nemesis aimed at the
     * leader, as in Jepsen, counted in steps rather than time so that it hits the moments between
     * one acknowledgement and the next append): Figure 8 needs leaders to die before their own
     * entries spread.
     */
    public record Params(long seed, int voters, int spares, double dropRate, double duplicateRate, int delayMaxMs,
                         int snapshotEveryEntries, int faults, int ops, int clients, long faultPhaseMs,
                         long livenessPhaseMs, int appendBytesMax, int appendEntriesMax, int inflightAppendsMax,
                         double lateRate, int lateDelayMaxMs, int restartDelayMaxMs, double newLeaderCrashRate) {
        public static Params derive(long seed, int faults, int ops) {
            return derive(seed, faults, ops, false);
        }

        /** {@link #derive(long, int, int)}, always in the Figure 8 focus when {@code figure8Focus}. */
        public static Params derive(long seed, int faults, int ops, boolean figure8Focus) {
            SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
            int voters = 1 + r.nextInt(5);
            int spares = r.nextInt(3);
            double dropRate = r.nextInt(4) * 0.05;
            double duplicateRate = r.nextInt(3) * 0.03;
            int delayMaxMs = 1 + r.nextInt(40);
            int snapshotEvery = 3 + r.nextInt(40);
            int clients = 1 + r.nextInt(3);
            // drawn after the original fields, so those keep their values for a given seed
            int appendBytesMax;
            int appendEntriesMax;
            switch (r.nextInt(4)) {
                case 0 -> {
                    appendBytesMax = 1;
                    appendEntriesMax = 1;
                }
                case 1 -> {
                    appendBytesMax = 1 + r.nextInt(64);
                    appendEntriesMax = 1 + r.nextInt(4);
                }
                default -> {
                    appendBytesMax = 64 << 10;
                    appendEntriesMax = RaftConfig.DEFAULT_APPEND_ENTRIES_MAX;
                }
            }
            int inflight = 1 + r.nextInt(16);
            double lateRate = r.nextInt(3) == 0 ? 0 : (1 + r.nextInt(5)) * 0.01;
            int lateDelayMaxMs = 500 + r.nextInt(4_000);
            int restartDelayMaxMs = switch (r.nextInt(3)) {
                case 0 -> 100;
                case 1 -> 2_000;
                default -> 5_000;
            };
            double newLeaderCrashRate = r.nextInt(3) == 0 ? 0.3 + r.nextInt(3) * 0.2 : 0;
            if (r.nextInt(4) == 0 || figure8Focus) {
                return figure8(seed, 3 + 2 * r.nextInt(2), dropRate, duplicateRate, delayMaxMs, snapshotEvery, faults,
                        ops, clients, lateRate, lateDelayMaxMs);
            }
            return new Params(seed, voters, spares, dropRate, duplicateRate, delayMaxMs, snapshotEvery, faults, ops,
                    clients, 6_000, 10_000, appendBytesMax, appendEntriesMax, inflight, lateRate, lateDelayMaxMs,
                    restartDelayMaxMs, newLeaderCrashRate);
        }

        /**
         * The Figure 8 focus of the swarm (a quarter of the derived runs): 3 or 5 voters, one entry
         * per append and one append in flight, so an old-term entry is acknowledged alone, and new
         * leaders crashing often, restarting after up to 2 s, so that leaders of successive terms
         * write conflicting entries and a re-elected one spreads its old entry before dying.
         * About one such run in 600 reaches the Figure 8 state (an old-term entry on a majority,
         * later replaced).
         */
        static Params figure8(long seed, int voters, double dropRate, double duplicateRate, int delayMaxMs,
                              int snapshotEveryEntries, int faults, int ops, int clients, double lateRate,
                              int lateDelayMaxMs) {
            return new Params(seed, voters, 0, dropRate, duplicateRate, delayMaxMs, snapshotEveryEntries, faults, ops,
                    clients, 6_000, 10_000, 1, 1, 1, lateRate, lateDelayMaxMs, 2_000, 0.7);
        }

        /** A run without late messages, with the default message shape. */
        public static Params simple(long seed, int voters, int spares, double dropRate, double duplicateRate,
                                    int delayMaxMs, int snapshotEveryEntries, int faults, int ops, int clients,
                                    long faultPhaseMs, long livenessPhaseMs) {
            return new Params(seed, voters, spares, dropRate, duplicateRate, delayMaxMs, snapshotEveryEntries, faults,
                    ops, clients, faultPhaseMs, livenessPhaseMs, 64 << 10, RaftConfig.DEFAULT_APPEND_ENTRIES_MAX, 16,
                    0, 0, 2_000, 0);
        }

        RaftConfig raftConfig() {
            return new RaftConfig(300, 600, 50, appendBytesMax, inflightAppendsMax, 64, 1000, appendEntriesMax);
        }

        /** Longest delay of any message, late ones included. */
        long messageDelayMaxMs() {
            return Math.max(delayMaxMs, lateRate > 0 ? lateDelayMaxMs : 0);
        }
    }

    /** An invariant or liveness failure, with the run's parameters. */
    public static final class SimulationFailure extends AssertionError {
        private static final long serialVersionUID = 1L;

        SimulationFailure(String message) {
            super(message);
        }
    }

    private static final long OP_TIMEOUT_MS = 2_000;
    /** {@code -Dbasalt.sim.trace=true}: print every output (for replaying one failing seed). */
    private static final boolean TRACE = Boolean.getBoolean("basalt.sim.trace");

    private final Params params;
    private final SplittableRandom random;
    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private final TreeMap<Integer, SimNode> nodes = new TreeMap<>();
    private final Map<Long, Integer> blockedLinks = new HashMap<>();
    private final Invariants invariants = new Invariants();
    private final KvHistory history = new KvHistory();
    private final Configuration bootstrap;
    private final RaftConfig raftConfig;
    private long nowMs;
    private long sequence;
    private boolean faultsActive = true;
    private boolean checkVoteDurableOnSend = true;
    /** Highest term any node has durably recorded when the cluster counts as settled after the heal. */
    private long termAtSettleMs = -1;
    private int leaderTermsAtSettle;
    private long eventCount;

    public Simulation(Params params) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
        this.raftConfig = params.raftConfig();
        List<Integer> voterIds = new ArrayList<>();
        for (int i = 1; i <= params.voters(); i++) {
            voterIds.add(i);
        }
        this.bootstrap = Configuration.of(voterIds, List.of());
        for (int id = 1; id <= params.voters() + params.spares(); id++) {
            nodes.put(id, new SimNode(id, random.split()));
        }
    }

    public Params params() {
        return params;
    }

    public long eventCount() {
        return eventCount;
    }

    public KvHistory history() {
        return history;
    }

    /** Entries applied by at least one node. */
    public int committedEntries() {
        return invariants.committedCount();
    }

    /** Distinct terms that had a leader. */
    public int leaderTerms() {
        return invariants.leaderTerms();
    }

    /** How often a follower replaced an entry that a majority held in a later term (Figure 8). */
    public int figure8Overwrites() {
        return invariants.figure8Overwrites();
    }

    /** How many entries a majority held in a term newer than their own (the first half of Figure 8). */
    public int oldTermMajorities() {
        return invariants.oldTermMajorities();
    }

    /** Growth of the highest term after the cluster settled (see {@link #STABLE_TERM_GROWTH_MAX}). */
    public long termGrowthAfterSettle() {
        return highestDurableTerm() - termAtSettleMs;
    }

    /** Terms that gained a leader after the cluster settled. */
    public int electionsAfterSettle() {
        return invariants.leaderTerms() - leaderTermsAtSettle;
    }

    /**
     * Turns off the check that a granted vote is durable when it is sent, leaving the checks after
     * each restart and across incarnations (to show that those catch a forgotten vote on their own).
     */
    void checkVoteDurableOnSend(boolean on) {
        checkVoteDurableOnSend = on;
    }

    /** Runs the faulty phase, then the liveness phase, then the final checks. */
    public void run() {
        for (SimNode n : nodes.values()) {
            start(n);
        }
        for (int c = 0; c < params.clients(); c++) {
            int client = c;
            schedule(random.nextInt(100), () -> clientNext(client, 0));
        }
        for (int f = 0; f < params.faults(); f++) {
            schedule(random.nextLong(params.faultPhaseMs()), this::injectFault);
        }
        long livenessStart = params.faultPhaseMs();
        schedule(livenessStart, this::heal);
        schedule(settleMs(), this::recordSettled);
        schedule(livenessStart + params.livenessPhaseMs() / 2, () -> proposeLivenessProbe(0));
        runUntil(livenessStart + params.livenessPhaseMs());
        finalChecks();
    }

    private void runUntil(long endMs) {
        while (!queue.isEmpty() && queue.peek().timeMs <= endMs) {
            Event e = queue.poll();
            nowMs = e.timeMs;
            eventCount++;
            if (eventCount > 5_000_000) {
                throw failure("runaway simulation: more than 5M events");
            }
            e.action.run();
        }
        nowMs = endMs;
    }

    void schedule(long delayMs, Runnable action) {
        queue.add(new Event(nowMs + delayMs, sequence++, action));
    }

    SimulationFailure failure(String message) {
        StringBuilder sb = new StringBuilder(message).append("\n  at t=").append(nowMs).append("ms, ").append(params);
        for (SimNode n : nodes.values()) {
            sb.append("\n  node ").append(n.id).append(": ");
            if (n.core == null) {
                sb.append("down");
            } else {
                sb.append(n.core.role()).append(" commit=").append(n.core.commitIndex()).append(" last=")
                        .append(n.core.lastIndex()).append("/").append(n.core.termAt(n.core.lastIndex()))
                        .append(" ").append(n.core.configuration());
            }
        }
        return new SimulationFailure(sb.toString());
    }

    // ------------------------------------------------------------------ nodes: the driver loop

    private void start(SimNode n) {
        n.core = RaftCore.restore(n.id, raftConfig, n.random, bootstrap, n.store.hardState(), n.store.snapshot(),
                n.store.snapshotData(), n.store.entries(n.store.firstIndex(), n.store.lastIndex() + 1, Long.MAX_VALUE),
                nowMs);
        n.restoreStateMachine();
        invariants.checkVotesAfterRestart(this, n);
        n.incarnation++;
        n.tickAtMs = Long.MAX_VALUE;
        handle(n, n.core.tick(nowMs));
    }

    private void crash(SimNode n) {
        if (n.core == null) {
            return;
        }
        if (TRACE) {
            System.out.println("t=" + nowMs + " n" + n.id + " CRASH");
        }
        n.core = null;
        n.crashAfterOutputs = 0;
        n.incarnation++;
        n.store.crash();
        n.failAllPending(history);
    }

    /** Persist, then send, then apply (the Output contract), then schedule the next tick. */
    void handle(SimNode n, Output o) {
        if (TRACE) {
            System.out.println("t=" + nowMs + " n" + n.id + " " + n.core.role() + " commit=" + n.core.commitIndex()
                    + " hs=" + o.hardState() + " persist=" + o.entries() + " committed=" + o.committed()
                    + " msgs=" + o.messages() + (o.snapshot() != null ? " snap=" + o.snapshot().meta() : ""));
        }
        if (n.tearNextWrite && (!o.entries().isEmpty() || o.hardState() != null)) {
            tornWrite(n, o);
            return;
        }
        if (o.hardState() != null) {
            n.store.persistAndFlushHardState(o.hardState());
        }
        if (o.snapshot() != null) {
            n.store.installSnapshot(o.snapshot().meta(), o.snapshot().data());
        }
        if (!o.entries().isEmpty()) {
            invariants.checkAppend(this, n, o.entries());
            n.store.appendAndFlush(o.entries());
            invariants.afterAppend(this, n, o.entries());
        }
        for (RaftMessage m : o.messages()) {
            if (m instanceof RaftMessage.VoteResponse v && v.granted() && !v.preVote()) {
                invariants.checkVoteSent(this, n, v, checkVoteDurableOnSend);
            }
            send(m);
        }
        apply(n, o);
        invariants.checkRoles(this, n, o);
        if (faultsActive && o.leaderChange() != null && o.leaderChange().leaderId() == n.id
                && params.newLeaderCrashRate() > 0 && random.nextDouble() < params.newLeaderCrashRate()) {
            n.crashAfterOutputs = 1 + random.nextInt(6);
        }
        if (n.crashAfterOutputs > 0 && --n.crashAfterOutputs == 0) {
            if (faultsActive) {
                crash(n);
                schedule(50 + random.nextInt(params.restartDelayMaxMs()), () -> restartIfDown(n));
                return;
            }
        }
        scheduleTick(n, o.nextDeadlineMs());
        maybeSnapshot(n);
    }

    /**
     * A crash while persisting, at a random point: before anything, after the hard state, with a
     * prefix of the entries in the page cache only (lost), or after all entries but before sending.
     */
    private void tornWrite(SimNode n, Output o) {
        n.tearNextWrite = false;
        int point = random.nextInt(4);
        if (point >= 1 && o.hardState() != null) {
            n.store.persistAndFlushHardState(o.hardState());
        }
        if (point == 2 && !o.entries().isEmpty()) {
            n.store.appendUnflushed(o.entries().subList(0, random.nextInt(o.entries().size())));
        } else if (point == 3 && !o.entries().isEmpty() && o.snapshot() == null) {
            invariants.checkAppend(this, n, o.entries());
            n.store.appendAndFlush(o.entries());
        }
        crash(n);
        schedule(50 + random.nextInt(params.restartDelayMaxMs()), () -> restartIfDown(n));
    }

    private void apply(SimNode n, Output o) {
        if (o.snapshot() != null) {
            n.installSnapshot(o.snapshot().meta(), o.snapshot().data(), history, nowMs);
            invariants.checkSnapshot(this, o.snapshot().meta(), n);
        }
        for (LogEntry e : o.committed()) {
            invariants.checkApply(this, n, e);
            n.apply(e, history, nowMs);
        }
        for (Output.ReadResult r : o.reads()) {
            n.readResult(r, history, nowMs);
        }
        n.serveReads(history, nowMs);
    }

    private void scheduleTick(SimNode n, long deadlineMs) {
        if (deadlineMs >= n.tickAtMs && n.tickAtMs > nowMs) {
            return;
        }
        n.tickAtMs = Math.max(deadlineMs, nowMs);
        long at = n.tickAtMs;
        int incarnation = n.incarnation;
        schedule(at - nowMs, () -> {
            if (n.core != null && n.incarnation == incarnation && n.tickAtMs == at) {
                n.tickAtMs = Long.MAX_VALUE;
                handle(n, n.core.tick(nowMs));
            }
        });
    }

    private void maybeSnapshot(SimNode n) {
        if (n.core != null && n.applied - n.store.snapshot().lastIndex() >= params.snapshotEveryEntries()) {
            takeSnapshot(n);
        }
    }

    private void takeSnapshot(SimNode n) {
        if (n.core == null || n.applied <= n.store.snapshot().lastIndex()) {
            return;
        }
        SnapshotMeta meta = n.core.snapshotMetaAt(n.applied);
        byte[] data = n.encodeStateMachine();
        n.store.installSnapshot(meta, data);
        n.core.compact(meta, data);
    }

    // ------------------------------------------------------------------ network

    private void send(RaftMessage m) {
        if (isBlocked(m.from(), m.to()) || (faultsActive && random.nextDouble() < params.dropRate())) {
            return;
        }
        deliverLater(m, delayMs());
        if (faultsActive && random.nextDouble() < params.duplicateRate()) {
            deliverLater(m, delayMs());
        }
    }

    /**
     * Whether a message still in flight when its sender crashes is lost: a killed process loses
     * what sat in its own buffers (decided per message at send time, half the time while faults
     * are active). Without this, a leader's last appends always outlive it, which hides Figure 8.
     */
    private boolean lostIfSenderCrashes() {
        return faultsActive && random.nextBoolean();
    }

    /** Usually within {@code delayMaxMs}; while faults are active, a few messages arrive very late. */
    private long delayMs() {
        long delay = 1 + random.nextInt(params.delayMaxMs());
        if (faultsActive && params.lateRate() > 0 && random.nextDouble() < params.lateRate()) {
            delay += random.nextInt(params.lateDelayMaxMs());
        }
        return delay;
    }

    private void deliverLater(RaftMessage m, long delayMs) {
        SimNode sender = nodes.get(m.from());
        int senderIncarnation = sender.incarnation;
        boolean lostOnCrash = lostIfSenderCrashes();
        schedule(delayMs, () -> {
            SimNode target = nodes.get(m.to());
            if (target == null || target.core == null || isBlocked(m.from(), m.to())
                    || (lostOnCrash && sender.incarnation != senderIncarnation)) {
                return;
            }
            handle(target, target.core.step(m, nowMs));
        });
    }

    private boolean isBlocked(int from, int to) {
        return blockedLinks.getOrDefault(link(from, to), 0) > 0;
    }

    private static long link(int from, int to) {
        return ((long) from << 32) | to;
    }

    private void block(int from, int to, long durationMs) {
        blockedLinks.merge(link(from, to), 1, Integer::sum);
        schedule(durationMs, () -> blockedLinks.merge(link(from, to), -1, Integer::sum));
    }

    // ------------------------------------------------------------------ faults

    private void injectFault() {
        if (!faultsActive) {
            return;
        }
        List<Integer> ids = new ArrayList<>(nodes.keySet());
        SimNode n = nodes.get(ids.get(random.nextInt(ids.size())));
        long duration = 100 + random.nextInt(3_000);
        switch (random.nextInt(9)) {
            case 0 -> {
                crash(n);
                schedule(50 + random.nextInt(params.restartDelayMaxMs()), () -> restartIfDown(n));
            }
            case 1 -> n.tearNextWrite = true;
            case 2 -> partition(ids, duration);
            case 3 -> {
                int other = ids.get(random.nextInt(ids.size()));
                if (other != n.id) {
                    block(n.id, other, duration); // one-way
                }
            }
            case 4 -> {
                for (Integer other : ids) {
                    if (other != n.id) {
                        block(n.id, other, duration);
                        block(other, n.id, duration);
                    }
                }
            }
            case 5, 6 -> changeMembership();
            case 7 -> transferLeadership();
            default -> takeSnapshot(n);
        }
    }

    private void partition(List<Integer> ids, long durationMs) {
        List<Integer> side = new ArrayList<>();
        for (Integer id : ids) {
            if (random.nextBoolean()) {
                side.add(id);
            }
        }
        for (Integer a : side) {
            for (Integer b : ids) {
                if (!side.contains(b)) {
                    block(a, b, durationMs);
                    block(b, a, durationMs);
                }
            }
        }
    }

    private SimNode leader() {
        SimNode best = null;
        for (SimNode n : nodes.values()) {
            if (n.core != null && n.core.isLeader() && (best == null || n.core.term() > best.core.term())) {
                best = n;
            }
        }
        return best;
    }

    private void changeMembership() {
        SimNode l = leader();
        if (l == null) {
            return;
        }
        Configuration c = l.core.configuration();
        int id = 1 + random.nextInt(nodes.size());
        ConfigChange change;
        if (c.isVoter(id)) {
            if (c.voters().size() == 1) {
                return;
            }
            change = new ConfigChange(ConfigChange.Kind.REMOVE_VOTER, id);
        } else if (c.observers().contains(id)) {
            change = new ConfigChange(random.nextBoolean() ? ConfigChange.Kind.REMOVE_OBSERVER
                    : ConfigChange.Kind.ADD_VOTER, id);
        } else {
            change = new ConfigChange(random.nextBoolean() ? ConfigChange.Kind.ADD_OBSERVER
                    : ConfigChange.Kind.ADD_VOTER, id);
        }
        handle(l, l.core.changeConfiguration(change, nowMs));
    }

    private void transferLeadership() {
        SimNode l = leader();
        if (l == null) {
            return;
        }
        List<Integer> voters = new ArrayList<>(l.core.configuration().voters());
        voters.remove(Integer.valueOf(l.id));
        if (!voters.isEmpty()) {
            handle(l, l.core.transferLeadership(voters.get(random.nextInt(voters.size())), nowMs));
        }
    }

    private void restartIfDown(SimNode n) {
        if (n.core == null) {
            start(n);
        }
    }

    /** Start of the liveness phase: no more faults, every link open, every node up. */
    private void heal() {
        faultsActive = false;
        blockedLinks.clear();
        for (SimNode n : nodes.values()) {
            n.tearNextWrite = false;
            restartIfDown(n);
        }
    }

    // ------------------------------------------------------------------ clients

    private void clientNext(int client, int issued) {
        if (issued >= params.ops()) {
            return;
        }
        SimNode target = pickTarget();
        KvHistory.Op op;
        String key = "k" + random.nextInt(2);
        if (random.nextBoolean()) {
            op = history.invoke(client, KvHistory.Kind.WRITE, key, "c" + client + "-" + issued, nowMs);
        } else {
            op = history.invoke(client, KvHistory.Kind.READ, key, null, nowMs);
        }
        Runnable next = () -> schedule(random.nextInt(50), () -> clientNext(client, issued + 1));
        if (target.core == null) {
            history.fail(op, nowMs); // connection refused: definitely not executed
            next.run();
            return;
        }
        target.submit(this, history, op, next, nowMs);
        int incarnation = target.incarnation;
        schedule(OP_TIMEOUT_MS, () -> target.timeout(op, incarnation, history));
    }

    private SimNode pickTarget() {
        SimNode l = leader();
        if (l != null && random.nextInt(10) < 8) {
            return l;
        }
        List<SimNode> all = new ArrayList<>(nodes.values());
        return all.get(random.nextInt(all.size()));
    }

    // ------------------------------------------------------------------ liveness and final checks

    private void proposeLivenessProbe(int attempt) {
        SimNode l = leader();
        if (l != null) {
            byte[] probe = ("P|liveness|" + attempt).getBytes(StandardCharsets.UTF_8);
            Output o = l.core.propose(List.of(probe), nowMs);
            if (o.proposal().accepted()) {
                invariants.livenessProbe(o.proposal().term(), o.proposal().firstIndex());
            }
            handle(l, o);
        }
        if (attempt < 20) {
            schedule(200, () -> {
                if (!invariants.livenessProbeCommitted()) {
                    proposeLivenessProbe(attempt + 1);
                }
            });
        }
    }

    /**
     * When the stability bound starts: every message sent before the heal has arrived (late ones
     * included) and two maximal election timeouts have passed, enough for the election that the
     * heal may need (a restarted node waits one timeout; a split vote costs one more).
     */
    private long settleMs() {
        return params.faultPhaseMs() + params.messageDelayMaxMs() + 2L * raftConfig.electionTimeoutMaxMs();
    }

    private void recordSettled() {
        termAtSettleMs = highestDurableTerm();
        leaderTermsAtSettle = invariants.leaderTerms();
    }

    private long highestDurableTerm() {
        long max = 0;
        for (SimNode n : nodes.values()) {
            max = Math.max(max, n.store.hardState().term());
        }
        return max;
    }

    /**
     * After the faults healed and the cluster settled, the network is reliable and fast (delays
     * below {@code delayMaxMs} of 40 ms, far under the 300 ms election timeout), nobody crashes,
     * and with pre-vote, check-quorum and the leader lease a live leader is never deposed: a node
     * whose pre-vote fails does not raise its term. The only elections allowed are the ones that
     * finish the heal: when the settle point falls inside a split vote or between a leader's
     * step-down and the next election. Two is the bound: one election still completing plus one
     * split-vote retry; more means term churn (a node campaigning against a healthy leader).
     */
    static final int STABLE_TERM_GROWTH_MAX = 2;

    private void checkStability() {
        if (termAtSettleMs < 0) {
            return; // the liveness phase ended before the settle point (a very long late delay)
        }
        if (termGrowthAfterSettle() > STABLE_TERM_GROWTH_MAX || electionsAfterSettle() > STABLE_TERM_GROWTH_MAX) {
            throw failure("stability: after the cluster settled at t=" + settleMs() + "ms the highest term grew by "
                    + termGrowthAfterSettle() + " (from " + termAtSettleMs + ") with " + electionsAfterSettle()
                    + " new leader terms; at most " + STABLE_TERM_GROWTH_MAX + " allowed");
        }
    }

    private void finalChecks() {
        checkStability();
        SimNode l = leader();
        if (l == null) {
            throw failure("liveness: no leader after the faults healed");
        }
        if (!invariants.livenessProbeCommitted()) {
            throw failure("liveness: a proposal to leader " + l.id + " did not commit after the faults healed");
        }
        for (KvHistory.Op op : history.ops()) {
            if (op.status() == KvHistory.Status.PENDING) {
                throw failure("liveness: client operation never finished: " + op);
            }
        }
        for (Integer v : l.core.configuration().members()) {
            SimNode n = nodes.get(v);
            if (n.applied != l.applied || !n.kv.equals(l.kv)) {
                throw failure("convergence: node " + v + " applied " + n.applied + " " + n.kv + ", leader " + l.id
                        + " applied " + l.applied + " " + l.kv);
            }
        }
        invariants.checkNothingLost(this, l);
        LinearizabilityChecker.Result r = new LinearizabilityChecker().check(history);
        if (!r.linearizable()) {
            throw failure("history not linearizable on key " + r.key() + ":\n    " + String.join("\n    ", r.ops()));
        }
    }

    long nowMs() {
        return nowMs;
    }

    SimNode node(int id) {
        return nodes.get(id);
    }

    Iterable<SimNode> allNodes() {
        return nodes.values();
    }

    private record Event(long timeMs, long seq, Runnable action) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(timeMs, o.timeMs);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}

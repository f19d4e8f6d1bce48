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
    /** All parameters of one run; derived from the seed (swarm testing) apart from the two counts. */
    public record Params(long seed, int voters, int spares, double dropRate, double duplicateRate, int delayMaxMs,
                         int snapshotEveryEntries, int faults, int ops, int clients, long faultPhaseMs,
                         long livenessPhaseMs) {
        public static Params derive(long seed, int faults, int ops) {
            SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
            int voters = 1 + r.nextInt(5);
            return new Params(seed, voters, r.nextInt(3), r.nextInt(4) * 0.05, r.nextInt(3) * 0.03,
                    1 + r.nextInt(40), 3 + r.nextInt(40), faults, ops, 1 + r.nextInt(3), 6_000, 10_000);
        }
    }

    /** An invariant or liveness failure, with the run's parameters. */
    public static final class SimulationFailure extends AssertionError {
        private static final long serialVersionUID = 1L;

        SimulationFailure(String message) {
            super(message);
        }
    }

    static final RaftConfig RAFT = new RaftConfig(300, 600, 50, 64 << 10, 16, 64, 1000);
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
    private long nowMs;
    private long sequence;
    private boolean faultsActive = true;
    private long eventCount;

    public Simulation(Params params) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
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
        n.core = RaftCore.restore(n.id, RAFT, n.random, bootstrap, n.store.hardState(), n.store.snapshot(),
                n.store.snapshotData(), n.store.entries(n.store.firstIndex(), n.store.lastIndex() + 1, Long.MAX_VALUE),
                nowMs);
        n.restoreStateMachine();
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
        }
        for (RaftMessage m : o.messages()) {
            send(m);
        }
        apply(n, o);
        invariants.checkRoles(this, n, o);
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
        schedule(50 + random.nextInt(1_000), () -> restartIfDown(n));
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
        deliverLater(m);
        if (faultsActive && random.nextDouble() < params.duplicateRate()) {
            deliverLater(m);
        }
    }

    private void deliverLater(RaftMessage m) {
        schedule(1 + random.nextInt(params.delayMaxMs()), () -> {
            SimNode target = nodes.get(m.to());
            if (target == null || target.core == null || isBlocked(m.from(), m.to())) {
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
                schedule(50 + random.nextInt(2_000), () -> restartIfDown(n));
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

    private void finalChecks() {
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

    private record Event(long timeMs, long seq, Runnable action) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(timeMs, o.timeMs);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}

package dev.basalt.broker.group.sim;

import dev.basalt.broker.group.state.Assignment;
import dev.basalt.broker.group.state.ConsumerGroup;
import dev.basalt.broker.group.state.ConsumerGroupMember;
import dev.basalt.broker.group.state.GroupConfig;
import dev.basalt.broker.group.state.GroupError;
import dev.basalt.broker.group.state.GroupRecord;
import dev.basalt.broker.group.state.GroupShard;
import dev.basalt.broker.group.state.GroupState;
import dev.basalt.broker.group.state.Heartbeat;
import dev.basalt.broker.group.state.PartitionKey;
import dev.basalt.broker.group.state.RangeAssignor;
import dev.basalt.broker.group.state.Result;
import dev.basalt.broker.group.state.TopicsView;
import dev.basalt.broker.group.state.UniformAssignor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One deterministic run of a consumer group: a coordinator ({@link GroupShard}, with its record log
 * and failovers that rebuild it by replay) and simulated consumers — modelled on the Java client's
 * heartbeat and poll threads: the poll thread reconciles at its next poll, revoking and then taking
 * partitions, each taking simulated time, while heartbeats go on reporting what {@link OwnedReport}
 * says — that join, heartbeat, leave cleanly, crash and restart, over a network that delays and drops
 * messages (FIFO per client, as one gRPC connection with one heartbeat in flight is), while topics
 * gain partitions and new topics appear. Everything is derived from the seed.
 *
 * <p>Checked after every event: no partition is owned by two live consumers; every partition a
 * live consumer owns is owned by its member at the coordinator; after each failover the replayed
 * groups equal the live ones. After the fault phase (no faults, no loss), within a bound of two
 * session timeouts plus revocation and heartbeat time: the group is STABLE (or EMPTY), every
 * partition of every subscribed topic is owned by exactly one live consumer, and each consumer owns
 * exactly what the coordinator assigned it.
 *
 * <p>Thread-safety: single-threaded.
 */
final class GroupSimulation {
    /**
     * What a member's heartbeat reports as owned. The coordinator takes a report without a revoked
     * partition as the confirmation of its revocation, so the report must cover what the member may
     * consume.
     */
    enum OwnedReport {
        /** The Java client since the fix: acknowledged, being taken (claimed) and the latest assignment received. */
        ACKNOWLEDGED_CLAIMED_AND_TARGET,
        /** The Java client before the fix: only what the poll thread acknowledged (unsafe; kept to check the checker). */
        ACKNOWLEDGED_ONLY
    }

    /**
     * @param pollMsMax   longest gap between two polls of a member's poll thread (it reconciles at a poll)
     * @param assignMsMax longest time the poll thread takes to take new partitions (committed offsets,
     *                    onPartitionsAssigned) before it acknowledges them
     */
    record Params(long seed, int faults, int members, int topics, int partitionsMax, String assignor, double staticShare,
                  double dropRate, int delayMsMax, int sessionTimeoutMs, int heartbeatIntervalMs, int rebalanceTimeoutMs,
                  int revokeMsMax, int subscriptionStyle, int pollMsMax, int assignMsMax, OwnedReport report,
                  double lateRate, int lateDelayMsMax) {
        static Params derive(long seed, int faults) {
            return derive(seed, faults, OwnedReport.ACKNOWLEDGED_CLAIMED_AND_TARGET);
        }

        static Params derive(long seed, int faults, OwnedReport report) {
            SplittableRandom r = new SplittableRandom(seed);
            int session = 300 + r.nextInt(700);
            return new Params(seed, faults, 1 + r.nextInt(12), 1 + r.nextInt(3), 1 + r.nextInt(24),
                    r.nextBoolean() ? UniformAssignor.NAME : RangeAssignor.NAME, r.nextInt(3) / 2.0,
                    r.nextInt(4) == 0 ? 0 : r.nextDouble() * 0.2, 1 + r.nextInt(30), session, session / (3 + r.nextInt(4)),
                    session / 2 + r.nextInt(2 * session), r.nextInt(3) == 0 ? 0 : r.nextInt(200), r.nextInt(4),
                    r.nextInt(4) == 0 ? 0 : r.nextInt(100), r.nextInt(3) == 0 ? 0 : r.nextInt(150), report,
                    // drawn last, so the fields above keep their values for a given seed
                    r.nextInt(3) == 0 ? 0 : (1 + r.nextInt(4)) * 0.01, 200 + r.nextInt(2_000));
        }
    }

    private record Event(long timeMs, long seq, Runnable action) {
    }

    private final Params p;
    private final SplittableRandom random;
    private final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) -> a.timeMs != b.timeMs
            ? Long.compare(a.timeMs, b.timeMs) : Long.compare(a.seq, b.seq));
    private long seq;
    private long nowMs;
    private boolean faultPhase = true;
    private final GroupConfig config;
    private GroupShard shard;
    private int coordinatorGeneration;
    private final List<GroupRecord> log = new ArrayList<>();
    private final TreeMap<String, Integer> topicCounts = new TreeMap<>();
    private final List<Client> clients = new ArrayList<>();
    private final boolean trace;
    private int memberSerial;
    long events;
    int failovers;

    static final String GROUP = "g";
    static final long FAULT_PHASE_MS = 10_000;

    GroupSimulation(Params p, boolean trace) {
        this.p = p;
        this.trace = trace;
        this.random = new SplittableRandom(p.seed() ^ 0x5DEECE66DL);
        this.config = new GroupConfig(p.sessionTimeoutMs(), p.heartbeatIntervalMs(), 1_000, p.assignor(), 3_600_000, 64);
        this.shard = new GroupShard(config);
        for (int t = 0; t < p.topics(); t++) {
            topicCounts.put("t" + t, 1 + random.nextInt(p.partitionsMax()));
        }
    }

    // ------------------------------------------------------------------ clients

    /**
     * A consumer modelled on the Java client's two threads: the heartbeat side learns the latest
     * assignment ({@code target}); the poll thread reconciles at its next poll (after up to
     * {@code pollMsMax}), revoking first (taking up to {@code revokeMsMax}, then telling the
     * coordinator at once) and then taking the new partitions (up to {@code assignMsMax}) before it
     * acknowledges. {@code owned} is what the consumer may be consuming (the safety check's view): a
     * partition from the moment the poll thread starts taking it until it finished revoking it.
     */
    private final class Client {
        final int index;
        final String instanceId;
        final List<String> topicNames;
        final String regex;
        boolean alive;
        String memberId;
        int epoch;
        int token;
        boolean inflight;
        long inflightSentMs;
        long lastAckedSendMs;
        long lastToCoordinatorMs;
        long lastToClientMs;
        final TreeSet<PartitionKey> owned = new TreeSet<>();
        final TreeSet<PartitionKey> revoking = new TreeSet<>();
        /** What the poll thread last acknowledged. */
        final TreeSet<PartitionKey> acknowledged = new TreeSet<>();
        /** The target the poll thread is reconciling toward, until it acknowledges. */
        final TreeSet<PartitionKey> claimed = new TreeSet<>();
        /** The latest assignment received. */
        Assignment target = Assignment.EMPTY;
        boolean targetChanged;
        boolean reconciling;
        boolean pollScheduled;

        Client(int index) {
            this.index = index;
            this.instanceId = random.nextDouble() < p.staticShare() ? "instance-" + index : null;
            switch (p.subscriptionStyle()) {
                case 1 -> {
                    List<String> some = new ArrayList<>();
                    for (String t : topicCounts.keySet()) {
                        if (random.nextBoolean()) {
                            some.add(t);
                        }
                    }
                    topicNames = some.isEmpty() ? List.of(topicCounts.firstKey()) : some;
                    regex = null;
                }
                case 2 -> {
                    topicNames = null;
                    regex = "t.*";
                }
                default -> {
                    topicNames = List.copyOf(topicCounts.keySet());
                    regex = null;
                }
            }
        }

        void start() {
            alive = true;
            memberId = "member-" + index + "-" + (memberSerial++);
            epoch = 0;
            token++;
            inflight = false;
            dropEverything();
            lastAckedSendMs = nowMs;
            sendHeartbeat();
        }

        private void dropEverything() {
            owned.clear();
            revoking.clear();
            acknowledged.clear();
            claimed.clear();
            target = Assignment.EMPTY;
            targetChanged = false;
            reconciling = false;
            pollScheduled = false;
        }

        Assignment reported() {
            TreeSet<PartitionKey> r = new TreeSet<>(acknowledged);
            if (p.report() == OwnedReport.ACKNOWLEDGED_CLAIMED_AND_TARGET) {
                r.addAll(claimed);
                r.addAll(target.partitions());
            }
            return Assignment.of(r);
        }

        void sendHeartbeat() {
            if (!alive || inflight) {
                return;
            }
            inflight = true;
            inflightSentMs = nowMs;
            int myToken = token;
            long sent = nowMs;
            Assignment report = reported();
            Heartbeat.Request req = new Heartbeat.Request(GROUP, memberId, epoch, instanceId, "client-" + index, "host-" + index,
                    p.rebalanceTimeoutMs(), epoch == 0 ? topicNames : null, epoch == 0 ? (regex == null ? "" : regex) : null,
                    null, report);
            if (epoch == 0 && topicNames == null) {
                req = new Heartbeat.Request(GROUP, memberId, epoch, instanceId, "client-" + index, "host-" + index,
                        p.rebalanceTimeoutMs(), List.of(), regex, null, report);
            }
            Heartbeat.Request request = req;
            toCoordinator(this, () -> {
                Result<Heartbeat.Response> res = coordinatorHandle(request);
                if (res == null) {
                    return;
                }
                toClient(this, () -> onResponse(myToken, sent, report, res.response()));
            });
            // request timeout: a lost request or answer frees the slot (delays are far below it)
            at(nowMs + 4L * p.delayMsMax() + 10, () -> {
                if (token == myToken && inflight && inflightSentMs == sent) {
                    inflight = false;
                    sendHeartbeat();
                }
            });
        }

        void onResponse(int myToken, long sentMs, Assignment sentReport, Heartbeat.Response r) {
            if (!alive || myToken != token || inflightSentMs != sentMs) {
                return;
            }
            inflight = false;
            if (r.error() == GroupError.FENCED_MEMBER_EPOCH || r.error() == GroupError.UNKNOWN_MEMBER_ID) {
                trace("client " + memberId + " " + r.error() + ": loses " + owned);
                loseAll();
                sendHeartbeat();
                return;
            }
            if (r.error() == GroupError.UNRELEASED_INSTANCE_ID) {
                at(nowMs + p.heartbeatIntervalMs(), this::sendHeartbeat);
                return;
            }
            if (r.error() != GroupError.NONE) {
                throw new AssertionError("unexpected heartbeat error " + r.error() + ": " + r.errorMessage());
            }
            lastAckedSendMs = sentMs;
            scheduleSessionCheck();
            epoch = r.memberEpoch();
            if (!r.assignment().equals(target)) {
                target = r.assignment();
                targetChanged = true;
                schedulePoll();
            }
            if (!reported().equals(sentReport)) {
                sendHeartbeat(); // the poll thread acknowledged meanwhile, or the assignment grew: tell at once
            }
            int tok = token;
            at(nowMs + p.heartbeatIntervalMs(), () -> {
                if (token == tok) {
                    sendHeartbeat();
                }
            });
        }

        void schedulePoll() {
            if (reconciling || pollScheduled) {
                return;
            }
            pollScheduled = true;
            int tok = token;
            at(nowMs + (p.pollMsMax() == 0 ? 0 : random.nextInt(p.pollMsMax())), () -> {
                if (alive && token == tok) {
                    pollScheduled = false;
                    reconcile();
                }
            });
        }

        /** The poll thread: revoke first (telling the coordinator at once), then take the rest, then acknowledge. */
        void reconcile() {
            if (reconciling || !targetChanged) {
                return;
            }
            targetChanged = false;
            reconciling = true;
            TreeSet<PartitionKey> goal = new TreeSet<>(target.partitions());
            claimed.clear();
            claimed.addAll(goal);
            TreeSet<PartitionKey> revoke = new TreeSet<>(owned);
            revoke.removeAll(goal);
            int tok = token;
            if (revoke.isEmpty()) {
                take(goal, tok);
                return;
            }
            revoking.addAll(revoke);
            at(nowMs + (p.revokeMsMax() == 0 ? 0 : random.nextInt(p.revokeMsMax())), () -> {
                if (alive && token == tok) {
                    owned.removeAll(revoke);
                    revoking.removeAll(revoke);
                    acknowledged.clear();
                    acknowledged.addAll(owned);
                    sendHeartbeat();
                    take(goal, tok);
                }
            });
            // the rebalance timeout is the member's to enforce: a revocation still running then
            // means the partitions are lost, and the member rejoins
            at(nowMs + p.rebalanceTimeoutMs(), () -> {
                if (alive && token == tok && !java.util.Collections.disjoint(revoking, revoke)) {
                    trace("client " + memberId + " revocation exceeded the rebalance timeout: loses " + owned);
                    loseAll();
                    sendHeartbeat();
                }
            });
        }

        private void take(TreeSet<PartitionKey> goal, int tok) {
            TreeSet<PartitionKey> added = new TreeSet<>(goal);
            added.removeAll(owned);
            owned.addAll(added); // consumed from the moment the poll thread starts taking them
            long takeMs = added.isEmpty() || p.assignMsMax() == 0 ? 0 : random.nextInt(p.assignMsMax());
            at(nowMs + takeMs, () -> {
                if (alive && token == tok) {
                    acknowledged.clear();
                    acknowledged.addAll(owned);
                    claimed.clear();
                    reconciling = false;
                    sendHeartbeat();
                    if (targetChanged) {
                        schedulePoll();
                    }
                }
            });
        }

        void scheduleSessionCheck() {
            long deadline = lastAckedSendMs + p.sessionTimeoutMs();
            int tok = token;
            at(deadline, () -> {
                if (alive && token == tok && nowMs >= lastAckedSendMs + p.sessionTimeoutMs() && (epoch != 0 || !owned.isEmpty())) {
                    trace("client " + memberId + " heard nothing for a session timeout: loses " + owned);
                    loseAll();
                    sendHeartbeat();
                }
            });
        }

        /** onPartitionsLost: drop everything, rejoin with epoch 0 (same member id). */
        void loseAll() {
            dropEverything();
            epoch = 0;
            token++;
            inflight = false;
            lastAckedSendMs = nowMs;
        }

        void crash() {
            trace("crash " + memberId + " owning " + owned);
            alive = false;
            token++;
            dropEverything();
        }

        void leave() {
            trace("leave " + memberId + " (" + (instanceId == null ? "-1" : "-2") + ") revoking " + owned);
            dropEverything();
            token++;
            int leaveEpoch = instanceId == null ? GroupShard.LEAVE_EPOCH : GroupShard.LEAVE_STATIC_EPOCH;
            Heartbeat.Request req = new Heartbeat.Request(GROUP, memberId, leaveEpoch, instanceId, "client-" + index,
                    "host-" + index, 0, null, null, null, Assignment.EMPTY);
            alive = false;
            toCoordinator(this, () -> coordinatorHandle(req));
        }
    }

    // ------------------------------------------------------------------ network and coordinator

    private void at(long timeMs, Runnable action) {
        queue.add(new Event(timeMs, seq++, action));
    }

    private boolean dropped() {
        return faultPhase && random.nextDouble() < p.dropRate();
    }

    /**
     * A message's delay: up to {@code delayMsMax}; during the fault phase a share {@code lateRate}
     * arrives up to {@code lateDelayMsMax} later, which (FIFO per client, as on one gRPC stream)
     * also holds back what the client sends after it: a stalled connection, longer than a session.
     */
    private long delayMs() {
        long delay = 1 + random.nextInt(p.delayMsMax());
        if (faultPhase && p.lateRate() > 0 && random.nextDouble() < p.lateRate()) {
            delay += random.nextInt(p.lateDelayMsMax());
        }
        return delay;
    }

    private void toCoordinator(Client c, Runnable onDelivery) {
        if (dropped()) {
            return;
        }
        int gen = coordinatorGeneration;
        long t = Math.max(nowMs + delayMs(), c.lastToCoordinatorMs);
        c.lastToCoordinatorMs = t;
        at(t, () -> {
            if (gen == coordinatorGeneration) {
                onDelivery.run();
            }
        });
    }

    private void toClient(Client c, Runnable onDelivery) {
        if (dropped()) {
            return;
        }
        long t = Math.max(nowMs + delayMs(), c.lastToClientMs);
        c.lastToClientMs = t;
        at(t, onDelivery);
    }

    private TopicsView topics() {
        return TopicsView.of(topicCounts);
    }

    private Result<Heartbeat.Response> coordinatorHandle(Heartbeat.Request req) {
        Result<Heartbeat.Response> res = shard.heartbeat(req, topics(), nowMs);
        log.addAll(res.records());
        if (trace) {
            Heartbeat.Response r = res.response();
            trace("hb " + req.memberId() + " epoch " + req.memberEpoch() + " owned " + req.owned() + " -> " + r.error() + " epoch "
                    + r.memberEpoch() + " " + r.assignment() + " records " + res.records());
        }
        return res;
    }

    private void pollCoordinator() {
        Result<Void> res = shard.poll(topics(), nowMs);
        if (!res.records().isEmpty()) {
            trace("coordinator poll wrote " + res.records());
        }
        log.addAll(res.records());
        at(nowMs + 50, this::pollCoordinator);
    }

    /** The partition's leadership moves: a new coordinator replays the log; in-flight requests are lost. */
    private void failover() {
        GroupShard next = new GroupShard(config);
        for (GroupRecord r : log) {
            next.replay(r, nowMs);
        }
        next.onLoaded(nowMs);
        if (!next.groups().keySet().equals(shard.groups().keySet())) {
            throw new AssertionError("replayed groups " + next.groups().keySet() + " != live " + shard.groups().keySet());
        }
        for (String g : shard.groups().keySet()) {
            String live = shard.group(g).durableState();
            String replayed = next.group(g).durableState();
            if (!live.equals(replayed)) {
                throw new AssertionError("replayed group differs:\n  live     " + live + "\n  replayed " + replayed);
            }
        }
        shard = next;
        coordinatorGeneration++;
        failovers++;
        trace("coordinator failover at " + nowMs);
    }

    // ------------------------------------------------------------------ faults

    private void fault() {
        int kind = random.nextInt(8);
        List<Client> alive = clients.stream().filter(c -> c.alive).toList();
        List<Client> dead = clients.stream().filter(c -> !c.alive).toList();
        switch (kind) {
            case 0 -> {
                Client c = new Client(clients.size());
                clients.add(c);
                trace("join client " + c.index);
                c.start();
            }
            case 1 -> {
                if (!alive.isEmpty()) {
                    alive.get(random.nextInt(alive.size())).leave();
                }
            }
            case 2 -> {
                if (!alive.isEmpty()) {
                    alive.get(random.nextInt(alive.size())).crash();
                }
            }
            case 3, 4 -> {
                if (!dead.isEmpty()) {
                    Client c = dead.get(random.nextInt(dead.size()));
                    trace("restart client " + c.index);
                    c.start();
                }
            }
            case 5 -> {
                String t = new ArrayList<>(topicCounts.keySet()).get(random.nextInt(topicCounts.size()));
                topicCounts.put(t, topicCounts.get(t) + 1 + random.nextInt(4));
                trace("topic " + t + " grows to " + topicCounts.get(t));
            }
            case 6 -> {
                if (topicCounts.size() < 6) {
                    String t = "t" + topicCounts.size();
                    topicCounts.put(t, 1 + random.nextInt(p.partitionsMax()));
                    trace("new topic " + t);
                }
            }
            default -> failover();
        }
    }

    // ------------------------------------------------------------------ run and checks

    void run() {
        for (int i = 0; i < p.members(); i++) {
            Client c = new Client(i);
            clients.add(c);
            at(random.nextInt(200), c::start);
        }
        at(50, this::pollCoordinator);
        for (int i = 0; i < p.faults(); i++) {
            at(random.nextLong(FAULT_PHASE_MS), this::fault);
        }
        runUntil(FAULT_PHASE_MS);
        faultPhase = false;
        long boundMs = 2L * Math.max(p.sessionTimeoutMs(), p.rebalanceTimeoutMs()) + p.revokeMsMax()
                + 4L * (p.pollMsMax() + p.assignMsMax()) + 10L * p.heartbeatIntervalMs() + 10L * p.delayMsMax() + 500
                + (p.lateRate() > 0 ? p.lateDelayMsMax() : 0);
        runUntil(FAULT_PHASE_MS + boundMs);
        checkConverged();
        checkStaysStable(FAULT_PHASE_MS + boundMs);
    }

    /**
     * Stability after heal: once converged, with no faults, no membership or subscription change
     * and no new partitions, the group must not rebalance again. Two more session timeouts (many
     * heartbeats of every member) must leave the group epoch, every member's epoch and every
     * assignment unchanged; any bump is churn (a member fenced or rejoining without cause, an
     * assignor that is not stable for an unchanged input).
     */
    private void checkStaysStable(long convergedAtMs) {
        ConsumerGroup g = shard.group(GROUP);
        if (g == null || clients.stream().noneMatch(c -> c.alive)) {
            return;
        }
        int epoch = g.groupEpoch();
        TreeMap<String, String> assignments = new TreeMap<>();
        g.members().forEach((id, m) -> assignments.put(id, m.memberEpoch() + " " + m.assigned()));
        runUntil(convergedAtMs + 2L * p.sessionTimeoutMs() + 10L * p.heartbeatIntervalMs());
        ConsumerGroup after = shard.group(GROUP);
        TreeMap<String, String> assignmentsAfter = new TreeMap<>();
        after.members().forEach((id, m) -> assignmentsAfter.put(id, m.memberEpoch() + " " + m.assigned()));
        if (after.groupEpoch() != epoch || !assignmentsAfter.equals(assignments)) {
            throw new AssertionError("stability: the converged group rebalanced without cause: epoch " + epoch + " -> "
                    + after.groupEpoch() + ", members " + assignments + " -> " + assignmentsAfter);
        }
        checkConverged();
    }

    private void runUntil(long endMs) {
        while (!queue.isEmpty() && queue.peek().timeMs <= endMs) {
            Event e = queue.poll();
            nowMs = e.timeMs;
            e.action.run();
            events++;
            checkSafety();
        }
        nowMs = endMs;
    }

    private void checkSafety() {
        // hashed, not sorted: this runs after every event and was most of the simulation's time
        java.util.HashMap<PartitionKey, String> owner = new java.util.HashMap<>();
        ConsumerGroup g = shard.group(GROUP);
        for (Client c : clients) {
            if (!c.alive) {
                if (!c.owned.isEmpty()) {
                    throw new AssertionError("dead client " + c.memberId + " owns " + c.owned);
                }
                continue;
            }
            ConsumerGroupMember m = g == null ? null : g.member(c.memberId);
            // owned() builds a union: once per member, not per partition (this check runs after every event)
            var coordinatorOwned = m == null || c.owned.isEmpty() ? null : m.current().owned();
            for (PartitionKey pk : c.owned) {
                String other = owner.put(pk, c.memberId);
                if (other != null) {
                    throw new AssertionError("at " + nowMs + " ms partition " + pk + " is owned by " + other + " and " + c.memberId);
                }
                if (m == null || !coordinatorOwned.contains(pk)) {
                    throw new AssertionError("at " + nowMs + " ms client " + c.memberId + " owns " + pk
                            + " but the coordinator " + (m == null ? "does not know the member" : "has it owning " + m.current().owned()));
                }
            }
        }
    }

    private void checkConverged() {
        ConsumerGroup g = shard.group(GROUP);
        List<Client> alive = clients.stream().filter(c -> c.alive).toList();
        if (alive.isEmpty()) {
            if (g != null && g.memberCount() > 0) {
                throw new AssertionError("no consumer alive but the group has members " + g.members().keySet());
            }
            return;
        }
        if (g == null) {
            throw new AssertionError("consumers alive but no group");
        }
        if (g.state() != GroupState.STABLE) {
            throw new AssertionError("group not STABLE after settling: " + g.state() + " " + g.durableState());
        }
        if (g.memberCount() != alive.size()) {
            throw new AssertionError("group members " + g.members().keySet() + " != live consumers "
                    + alive.stream().map(c -> c.memberId).toList());
        }
        TreeSet<PartitionKey> expected = new TreeSet<>();
        for (Client c : alive) {
            for (Map.Entry<String, Integer> t : topicCounts.entrySet()) {
                boolean subscribed = c.regex != null ? t.getKey().matches(c.regex) : c.topicNames.contains(t.getKey());
                if (subscribed) {
                    for (int i = 0; i < t.getValue(); i++) {
                        expected.add(new PartitionKey(t.getKey(), i));
                    }
                }
            }
        }
        TreeSet<PartitionKey> ownedByClients = new TreeSet<>();
        for (Client c : alive) {
            ownedByClients.addAll(c.owned);
            Assignment assigned = g.member(c.memberId).assigned();
            if (!assigned.partitions().equals(c.owned)) {
                throw new AssertionError("client " + c.memberId + " owns " + c.owned + ", coordinator assigned " + assigned);
            }
        }
        if (!ownedByClients.equals(expected)) {
            TreeSet<PartitionKey> missing = new TreeSet<>(expected);
            missing.removeAll(ownedByClients);
            throw new AssertionError("after settling, unowned partitions " + missing + " (owned " + ownedByClients.size()
                    + " of " + expected.size() + ")");
        }
    }

    private void trace(String s) {
        if (trace) {
            System.out.println("[" + nowMs + "] " + s);
        }
    }
}

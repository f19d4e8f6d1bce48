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
 * and failovers that rebuild it by replay) and simulated consumers that join, heartbeat, revoke
 * (taking simulated time), leave cleanly, crash and restart, over a network that delays and drops
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
    record Params(long seed, int faults, int members, int topics, int partitionsMax, String assignor, double staticShare,
                  double dropRate, int delayMsMax, int sessionTimeoutMs, int heartbeatIntervalMs, int rebalanceTimeoutMs,
                  int revokeMsMax, int subscriptionStyle) {
        static Params derive(long seed, int faults) {
            SplittableRandom r = new SplittableRandom(seed);
            int session = 300 + r.nextInt(700);
            return new Params(seed, faults, 1 + r.nextInt(12), 1 + r.nextInt(3), 1 + r.nextInt(24),
                    r.nextBoolean() ? UniformAssignor.NAME : RangeAssignor.NAME, r.nextInt(3) / 2.0,
                    r.nextInt(4) == 0 ? 0 : r.nextDouble() * 0.2, 1 + r.nextInt(30), session, session / (3 + r.nextInt(4)),
                    session / 2 + r.nextInt(2 * session), r.nextInt(3) == 0 ? 0 : r.nextInt(200), r.nextInt(4));
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
            owned.clear();
            revoking.clear();
            lastAckedSendMs = nowMs;
            sendHeartbeat();
        }

        void sendHeartbeat() {
            if (!alive || inflight) {
                return;
            }
            inflight = true;
            inflightSentMs = nowMs;
            int myToken = token;
            long sent = nowMs;
            Heartbeat.Request req = new Heartbeat.Request(GROUP, memberId, epoch, instanceId, "client-" + index, "host-" + index,
                    p.rebalanceTimeoutMs(), epoch == 0 ? topicNames : null, epoch == 0 ? (regex == null ? "" : regex) : null,
                    null, Assignment.of(owned));
            if (epoch == 0 && topicNames == null) {
                req = new Heartbeat.Request(GROUP, memberId, epoch, instanceId, "client-" + index, "host-" + index,
                        p.rebalanceTimeoutMs(), List.of(), regex, null, Assignment.of(owned));
            }
            Heartbeat.Request request = req;
            toCoordinator(this, () -> {
                Result<Heartbeat.Response> res = coordinatorHandle(request);
                if (res == null) {
                    return;
                }
                toClient(this, () -> onResponse(myToken, sent, res.response()));
            });
            // request timeout: a lost request or answer frees the slot (delays are far below it)
            at(nowMs + 4L * p.delayMsMax() + 10, () -> {
                if (token == myToken && inflight && inflightSentMs == sent) {
                    inflight = false;
                    sendHeartbeat();
                }
            });
        }

        void onResponse(int myToken, long sentMs, Heartbeat.Response r) {
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
            Assignment a = r.assignment();
            boolean changed = false;
            for (PartitionKey pk : a) {
                changed |= owned.add(pk);
            }
            TreeSet<PartitionKey> revoke = new TreeSet<>(owned);
            revoke.removeAll(a.partitions());
            revoke.removeAll(revoking);
            if (!revoke.isEmpty()) {
                revoking.addAll(revoke);
                int myTok = token;
                at(nowMs + (p.revokeMsMax() == 0 ? 0 : random.nextInt(p.revokeMsMax())), () -> {
                    if (alive && token == myTok) {
                        owned.removeAll(revoke);
                        revoking.removeAll(revoke);
                        sendHeartbeat();
                    }
                });
                // the rebalance timeout is the member's to enforce: a revocation still running then
                // means the partitions are lost, and the member rejoins
                at(nowMs + p.rebalanceTimeoutMs(), () -> {
                    if (alive && token == myTok && !java.util.Collections.disjoint(revoking, revoke)) {
                        trace("client " + memberId + " revocation exceeded the rebalance timeout: loses " + owned);
                        loseAll();
                        sendHeartbeat();
                    }
                });
            }
            if (changed) {
                sendHeartbeat();
            }
            int tok = token;
            at(nowMs + p.heartbeatIntervalMs(), () -> {
                if (token == tok) {
                    sendHeartbeat();
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
            owned.clear();
            revoking.clear();
            epoch = 0;
            token++;
            inflight = false;
            lastAckedSendMs = nowMs;
        }

        void crash() {
            trace("crash " + memberId + " owning " + owned);
            alive = false;
            token++;
            owned.clear();
            revoking.clear();
        }

        void leave() {
            trace("leave " + memberId + " (" + (instanceId == null ? "-1" : "-2") + ") revoking " + owned);
            owned.clear();
            revoking.clear();
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

    private void toCoordinator(Client c, Runnable onDelivery) {
        if (dropped()) {
            return;
        }
        int gen = coordinatorGeneration;
        long t = Math.max(nowMs + 1 + random.nextInt(p.delayMsMax()), c.lastToCoordinatorMs);
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
        long t = Math.max(nowMs + 1 + random.nextInt(p.delayMsMax()), c.lastToClientMs);
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
                + 10L * p.heartbeatIntervalMs() + 10L * p.delayMsMax() + 500;
        runUntil(FAULT_PHASE_MS + boundMs);
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
        TreeMap<PartitionKey, String> owner = new TreeMap<>();
        ConsumerGroup g = shard.group(GROUP);
        for (Client c : clients) {
            if (!c.alive) {
                if (!c.owned.isEmpty()) {
                    throw new AssertionError("dead client " + c.memberId + " owns " + c.owned);
                }
                continue;
            }
            ConsumerGroupMember m = g == null ? null : g.member(c.memberId);
            for (PartitionKey pk : c.owned) {
                String other = owner.put(pk, c.memberId);
                if (other != null) {
                    throw new AssertionError("at " + nowMs + " ms partition " + pk + " is owned by " + other + " and " + c.memberId);
                }
                if (m == null || !m.current().owned().contains(pk)) {
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

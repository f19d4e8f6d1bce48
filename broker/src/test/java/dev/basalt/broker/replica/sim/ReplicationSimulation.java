package dev.basalt.broker.replica.sim;

import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A deterministic, single-threaded simulation of partition replication together with the
 * controller's partition decisions: the real pure {@code MetadataController} (registration,
 * heartbeats, session expiry and fencing, AlterPartition compare-and-set, elections from the ISR,
 * preferred-leader election, controlled shutdown; unclean election off) and the real pure replication
 * rules ({@code LeaderState}: HW, ISR shrink/expand; {@code FollowerTruncation}: KIP-101/279),
 * wired the way a broker wires them, over a simulated network and clock. Not thread-safe; one
 * instance per run.
 *
 * <p>Everything derives from the seed (swarm testing): broker count, replication factor, min ISR,
 * durable or in-memory acks, partitions, drop rate, delays, timeouts. Faults in the safety phase:
 * message drop, delay and reordering; crashes (a kill -9, or with durable acks also a power loss
 * that loses the unflushed log tail) and restarts; pauses (SIGSTOP: messages and timers held);
 * network partitions, isolated brokers and one-way links; controlled shutdowns; preferred-leader
 * elections. In-memory acks are Kafka's acks on replication to memory, which a power loss of every
 * ISR member defeats by design, so those runs use kill -9 only. Then the liveness phase: every link
 * open, every broker up; each partition must get a leader, a full ISR, acknowledge new writes, and
 * converge (every replica's log equal to the leader's, HW = LEO everywhere).
 *
 * <p>Invariants: see {@link ReplicationInvariants}, checked the moment each guarded state changes,
 * plus per-event checks over every live replica ({@link #checkEveryEvent}).
 */
public final class ReplicationSimulation {
    /** Test-only planted bugs, to show the checker catches them (never set in the real runs). */
    public enum Bug {
        NONE,
        /** The leader's HW is its own progress (LEO, or flushed offset), ignoring the followers. */
        HW_IGNORES_ISR,
        /** A follower fetches from a new leader without truncating first (pre-KIP-101 without the HW fallback). */
        FOLLOWER_SKIPS_TRUNCATION,
        /** A restarted broker acts on partition state before its image holds its new registration. */
        ACTS_BEFORE_REGISTRATION
    }

    /** All parameters of one run, derived from the seed apart from the fault count and the planted bug. */
    public record Params(long seed, int brokers, int replicationFactor, int minInsyncReplicas, int partitions,
                         boolean durableAcks, double dropRate, int delayMaxMs, int faults, int producers,
                         long sessionTimeoutMs, long heartbeatIntervalMs, long lagTimeMaxMs, long isrCheckIntervalMs,
                         long metadataPollMs, long flushDelayMs, long requestTimeoutMs, long fetchBackoffMs,
                         int fetchBatchesMax, long faultPhaseMs, long livenessPhaseMs, Bug bug, double lateRate,
                         int lateDelayMaxMs) {
        /**
         * Derives a run from the seed. After the original fields (which keep their values for a
         * given seed) come the message shape and the delay distribution: a quarter of the runs
         * fetch only one or two batches more than the producers add per round trip (followers
         * catch up batch by batch, and HW and ISR decisions meet partial progress), and two thirds deliver a few percent of the
         * messages late, by up to 3.5 s: longer than a crash-restart or a pause (at most 2.1 s), so
         * old fetches, fetch answers, AlterPartition requests and heartbeats meet a restarted
         * broker or a newer leader epoch.
         */
        /**
         * The healed phase: long enough that the stability window after the settle point (at most
         * 11.1 s into the run) is at least a session timeout (at most 1.9 s), so a broker fenced and
         * unfenced again would be seen (review: with 8 s the window could be 0.8 s).
         */
        static final long LIVENESS_PHASE_MS = 10_000;

        public static Params derive(long seed, int faults) {
            SplittableRandom r = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
            int brokers = 3 + r.nextInt(3);
            int rf = Math.min(brokers, 2 + r.nextInt(3));
            int minIsr = 1 + r.nextInt(rf);
            long heartbeat = 50 + r.nextInt(100);
            Params p = new Params(seed, brokers, rf, minIsr, 1 + r.nextInt(2), r.nextInt(4) != 0, r.nextInt(4) * 0.04,
                    1 + r.nextInt(30), faults, 1 + r.nextInt(3), heartbeat * (6 + r.nextInt(8)), heartbeat,
                    200 + r.nextInt(800), 50 + r.nextInt(100), 20 + r.nextInt(80), 1 + r.nextInt(20),
                    500 + r.nextInt(500), 5 + r.nextInt(20), 8 + r.nextInt(24), 4_000, LIVENESS_PHASE_MS, Bug.NONE, 0, 0);
            // Small fetches still carry more than the producers add per round trip (each has one
            // request in flight), else a lagging follower never catches up: a capacity limit of
            // the configuration, not of the rules (the first version, 1-3 batches, showed it).
            int fetchBatchesMax = r.nextInt(4) == 0 ? p.producers + 1 + r.nextInt(2) : p.fetchBatchesMax;
            double lateRate = r.nextInt(3) == 0 ? 0 : (1 + r.nextInt(4)) * 0.01;
            int lateDelayMaxMs = 500 + r.nextInt(3_000);
            return new Params(seed, brokers, rf, minIsr, p.partitions, p.durableAcks, p.dropRate, p.delayMaxMs, faults,
                    p.producers, p.sessionTimeoutMs, heartbeat, p.lagTimeMaxMs, p.isrCheckIntervalMs, p.metadataPollMs,
                    p.flushDelayMs, p.requestTimeoutMs, p.fetchBackoffMs, fetchBatchesMax, p.faultPhaseMs,
                    p.livenessPhaseMs, Bug.NONE, lateRate, lateDelayMaxMs);
        }

        public Params withBug(Bug b) {
            return new Params(seed, brokers, replicationFactor, minInsyncReplicas, partitions, durableAcks, dropRate,
                    delayMaxMs, faults, producers, sessionTimeoutMs, heartbeatIntervalMs, lagTimeMaxMs,
                    isrCheckIntervalMs, metadataPollMs, flushDelayMs, requestTimeoutMs, fetchBackoffMs, fetchBatchesMax,
                    faultPhaseMs, livenessPhaseMs, b, lateRate, lateDelayMaxMs);
        }

        /** Longest delay of any message, late ones included. */
        long messageDelayMaxMs() {
            return delayMaxMs + (lateRate > 0 ? lateDelayMaxMs : 0);
        }
    }

    /** An invariant or liveness failure; its message starts with the anomaly name and lists the state. */
    public static final class SimulationFailure extends AssertionError {
        private static final long serialVersionUID = 1L;

        SimulationFailure(String message) {
            super(message);
        }
    }

    /** {@code -Dbasalt.sim.trace=true}: print every fault (for replaying one failing seed). */
    private static final boolean TRACE = Boolean.getBoolean("basalt.sim.trace");
    private static final int PRODUCER_NODE_BASE = 100;

    private final Params params;
    final SplittableRandom random;
    final SimScheduler scheduler = new SimScheduler();
    final SimNetwork network;
    final ReplicationInvariants invariants;
    final SimController controller;
    final SimStats stats = new SimStats();
    private final TreeMap<Integer, SimBroker> brokers = new TreeMap<>();
    private final List<SimProducer> producers = new ArrayList<>();
    private final TreeMap<Integer, Long> lastAckMs = new TreeMap<>();
    private long nextBatchId = 1;
    private boolean faultsActive = true;
    private int faultsInjected;

    public ReplicationSimulation(Params params) {
        this.params = params;
        this.random = new SplittableRandom(params.seed());
        this.network = new SimNetwork(scheduler, random.split(), params.dropRate(), params.delayMaxMs(),
                params.lateRate(), params.lateDelayMaxMs());
        this.invariants = new ReplicationInvariants(this::failure);
        this.controller = new SimController(params.sessionTimeoutMs(), random.split(), invariants, stats,
                this::onImageCommitted);
        network.register(SimController.NODE_ID, Runnable::run);
        for (int id = 1; id <= params.brokers(); id++) {
            brokers.put(id, new SimBroker(id, this));
        }
        // producers stop 3 s before the end so the final HW reaches every follower (several fetch rounds)
        long stopProducingMs = params.faultPhaseMs() + params.livenessPhaseMs() - 3_000;
        for (int c = 0; c < params.producers(); c++) {
            producers.add(new SimProducer(PRODUCER_NODE_BASE + c, this, stopProducingMs));
        }
        scheduler.afterEach(this::checkEveryEvent);
    }

    public Params params() {
        return params;
    }

    public long eventCount() {
        return scheduler.eventCount();
    }

    public long acknowledgedWrites() {
        return invariants.ackCount();
    }

    public int leaderElections() {
        return invariants.leaderElections();
    }

    public SimStats stats() {
        return stats;
    }

    public int faultsInjected() {
        return faultsInjected;
    }

    long nowMs() {
        return scheduler.nowMs();
    }

    /** False from the start of the liveness phase on: pending fault effects end early. */
    boolean faultsActive() {
        return faultsActive;
    }

    SimBroker broker(int id) {
        return brokers.get(id);
    }

    long nextBatchId() {
        return nextBatchId++;
    }

    void noteAck(int partition) {
        lastAckMs.put(partition, nowMs());
    }

    /** Whether {@code brokerId} is in the controller's committed ISR of {@code partition}. */
    boolean inCommittedIsr(int brokerId, int partition) {
        return controller.image().topics().topic(SimController.TOPIC).flatMap(t -> t.partition(partition))
                .map(p -> p.isr().contains(brokerId)).orElse(false);
    }

    /** After a write is acknowledged: every committed ISR member's log (its disk, up or not) holds it. */
    void checkIsrHolds(int partition, long fromOffset) {
        controller.image().topics().topic(SimController.TOPIC).flatMap(t -> t.partition(partition)).ifPresent(p -> {
            for (int id : p.isr()) {
                invariants.checkIsrMemberHoldsAcked("broker " + id + " p" + partition, partition,
                        brokers.get(id).log(partition), fromOffset);
            }
        });
    }

    /** The controller committed {@code after}: brokers that joined an ISR must hold every acknowledged write. */
    void onImageCommitted(MetadataImage before, MetadataImage after) {
        Optional<TopicImage> topic = after.topics().topic(SimController.TOPIC);
        if (topic.isEmpty()) {
            return;
        }
        for (var e : topic.get().partitions().entrySet()) {
            List<Integer> was = before.topics().topic(SimController.TOPIC).flatMap(t -> t.partition(e.getKey()))
                    .map(PartitionRegistration::isr).orElse(List.of());
            for (int id : e.getValue().isr()) {
                if (!was.contains(id)) {
                    invariants.checkIsrMemberHoldsAcked("broker " + id + " p" + e.getKey() + " (joining the ISR)",
                            e.getKey(), brokers.get(id).log(e.getKey()), 0);
                }
            }
        }
    }

    /** Runs the safety phase with faults, then the healed liveness phase, then the final checks. */
    public void run() {
        if (TRACE) {
            System.out.println("replication simulation " + params);
        }
        for (SimBroker b : brokers.values()) {
            scheduler.schedule(random.nextInt(50), b::start);
        }
        scheduler.schedule(0, this::controllerTick);
        for (SimProducer p : producers) {
            p.start(100 + random.nextInt(200));
        }
        for (int f = 0; f < params.faults(); f++) {
            scheduler.schedule(300 + random.nextLong(params.faultPhaseMs() - 300), this::injectFault);
        }
        scheduler.schedule(params.faultPhaseMs(), this::heal);
        scheduler.schedule(settleMs(), this::recordSettled);
        scheduler.runUntil(params.faultPhaseMs() + params.livenessPhaseMs());
        finalChecks();
    }

    /** The active controller's timer: session expiry, and creating the topic once brokers are live. */
    private void controllerTick() {
        controller.fenceExpiredBrokers(nowMs());
        controller.maybeCreateTopic(params.partitions(), params.replicationFactor(), params.minInsyncReplicas());
        scheduler.schedule(Math.max(10, params.heartbeatIntervalMs() / 2), this::controllerTick);
    }

    // ------------------------------------------------------------------ faults

    private void injectFault() {
        if (!faultsActive) {
            return;
        }
        faultsInjected++;
        SimBroker b = brokers.get(1 + random.nextInt(brokers.size()));
        long durationMs = 100 + random.nextInt(2_000);
        int kind = random.nextInt(8);
        if (TRACE) {
            System.out.println("t=" + nowMs() + " fault " + kind + " on broker " + b.id + " for " + durationMs + "ms");
        }
        switch (kind) {
            case 0, 1 -> {
                boolean powerLoss = params.durableAcks() && random.nextBoolean();
                if (b.isUp()) {
                    if (powerLoss) {
                        stats.powerLosses++;
                    } else {
                        stats.killCrashes++;
                    }
                }
                b.crash(powerLoss);
                scheduler.schedule(durationMs, () -> restartIfDown(b));
            }
            case 2 -> {
                stats.pauses++;
                b.pause();
                scheduler.schedule(durationMs, b::resume);
            }
            case 3 -> {
                stats.partitions++;
                partition(durationMs);
            }
            case 4 -> isolate(b.id, durationMs);
            case 5 -> {
                int other = random.nextInt(brokers.size() + 1); // 0 is the controller
                if (other != b.id) {
                    network.block(b.id, other, durationMs);
                }
            }
            case 6 -> {
                stats.controlledShutdowns++;
                b.controlledShutdown(durationMs);
            }
            default -> controller.electPreferredLeaders();
        }
    }

    private void restartIfDown(SimBroker b) {
        if (!b.isUp()) {
            b.start();
        }
    }

    /** A random split of the controller and the brokers into two sides. */
    private void partition(long durationMs) {
        List<Integer> nodes = new ArrayList<>(brokers.keySet());
        nodes.add(SimController.NODE_ID);
        List<Integer> side = new ArrayList<>();
        for (Integer n : nodes) {
            if (random.nextBoolean()) {
                side.add(n);
            }
        }
        for (Integer a : side) {
            for (Integer b : nodes) {
                if (!side.contains(b)) {
                    network.block(a, b, durationMs);
                    network.block(b, a, durationMs);
                }
            }
        }
    }

    private void isolate(int id, long durationMs) {
        for (int other = 0; other <= brokers.size(); other++) {
            if (other != id) {
                network.block(id, other, durationMs);
                network.block(other, id, durationMs);
            }
        }
    }

    /** Start of the liveness phase: no more faults, every link open, every broker up and running. */
    private void heal() {
        faultsActive = false;
        network.heal();
        for (SimBroker b : brokers.values()) {
            b.resume();
            b.finishControlledShutdown();
            restartIfDown(b);
        }
    }

    // ------------------------------------------------------------------ checks

    /** Cheap checks over every live replica after every event (no allocation: it runs millions of times). */
    private void checkEveryEvent() {
        for (SimBroker b : brokers.values()) {
            for (SimReplica r : b.replicas.values()) {
                if (r.highWatermark() > r.log().logEndOffset()) {
                    throw failure("hw-above-log-end: broker " + b.id + " " + r);
                }
                if (r.role() != SimReplica.Role.LEADER) {
                    continue;
                }
                for (SimBroker o : brokers.tailMap(b.id, false).values()) {
                    SimReplica other = o.replicas.get(r.partition());
                    if (other != null && other.role() == SimReplica.Role.LEADER && other.leaderEpoch() == r.leaderEpoch()) {
                        throw failure("two-leaders: brokers " + b.id + " and " + o.id + " both act as leader of "
                                + "partition " + r.partition() + " in epoch " + r.leaderEpoch());
                    }
                }
            }
        }
    }

    /**
     * When the stability bound starts: every message sent before the heal has arrived (late ones
     * included) and restarted brokers re-registered and caught up. A broker restarted while its old
     * incarnation's session was alive is refused until that session expires (one session timeout
     * after its last heartbeat) and the controller's next check fences it (half a heartbeat
     * interval); it asks again every two heartbeat intervals, and is unfenced by a heartbeat once
     * its metadata poll caught up: then the partitions it alone could lead get their leader, a
     * new epoch. Then the lag bound. At most 4 + 3.5 + 1.9 + 0.6 + 0.1 + 1 = 11.1 s, inside the
     * 14 s run. (Seed 4099:15 found the bound without the re-registration: a broker crashed at
     * 3.9 s, restarted at once, and the partition it was the only ISR member of got its leader back
     * at 5.35 s, after a bound of 5.31 s.)
     */
    private long settleMs() {
        return params.faultPhaseMs() + params.messageDelayMaxMs() + params.sessionTimeoutMs() + 4 * params.heartbeatIntervalMs()
                + params.metadataPollMs() + params.lagTimeMaxMs();
    }

    /**
     * After the cluster settled, nothing fails: brokers heartbeat well within their sessions
     * (delays at most 30 ms against sessions of at least 300 ms), followers fetch within the lag
     * bound, and nobody asks for a preferred-leader election. So no partition may change leader
     * epoch any more: a new epoch means leadership churn (a fenced or flapping broker, an election
     * without cause). The bound is zero elections per partition.
     */
    static final int STABLE_LEADER_EPOCH_GROWTH_MAX = 0;
    private final TreeMap<Integer, Integer> leaderEpochAtSettle = new TreeMap<>();

    private void recordSettled() {
        long windowMs = params.faultPhaseMs() + params.livenessPhaseMs() - settleMs();
        if (windowMs < params.sessionTimeoutMs()) {
            throw new IllegalStateException("the stability window (" + windowMs + " ms after the settle point) is shorter than a"
                    + " session timeout (" + params.sessionTimeoutMs() + " ms): " + params);
        }
        controller.image().topics().topic(SimController.TOPIC).ifPresent(t -> t.partitions()
                .forEach((p, reg) -> leaderEpochAtSettle.put(p, reg.leaderEpoch())));
    }

    /** Leader-epoch growth of each partition after the settle point (empty if it was not reached). */
    public TreeMap<Integer, Integer> leaderEpochGrowthAfterSettle() {
        TreeMap<Integer, Integer> growth = new TreeMap<>();
        controller.image().topics().topic(SimController.TOPIC).ifPresent(t -> t.partitions().forEach((p, reg) -> {
            Integer before = leaderEpochAtSettle.get(p);
            if (before != null) {
                growth.put(p, reg.leaderEpoch() - before);
            }
        }));
        return growth;
    }

    private void checkStability() {
        leaderEpochGrowthAfterSettle().forEach((p, growth) -> {
            if (growth > STABLE_LEADER_EPOCH_GROWTH_MAX) {
                throw failure("stability: partition " + p + " changed leader epoch " + growth + " times after the "
                        + "cluster settled at t=" + settleMs() + "ms (at most " + STABLE_LEADER_EPOCH_GROWTH_MAX + ")");
            }
        });
    }

    private void finalChecks() {
        checkStability();
        Optional<TopicImage> topic = controller.image().topics().topic(SimController.TOPIC);
        if (topic.isEmpty()) {
            throw failure("liveness: the topic was never created");
        }
        for (var e : topic.get().partitions().entrySet()) {
            int p = e.getKey();
            PartitionRegistration reg = e.getValue();
            if (!reg.hasLeader()) {
                throw failure("liveness: partition " + p + " has no leader after the faults healed");
            }
            if (!new TreeSet<>(reg.isr()).equals(new TreeSet<>(reg.replicas()))) {
                throw failure("liveness: partition " + p + " ISR " + reg.isr() + " not all of " + reg.replicas()
                        + " after the faults healed");
            }
            if (lastAckMs.getOrDefault(p, -1L) < params.faultPhaseMs()) {
                throw failure("liveness: partition " + p + " acknowledged no write after the faults healed");
            }
            SimReplica leader = brokers.get(reg.leader()).replicas.get(p);
            if (leader == null || leader.role() != SimReplica.Role.LEADER || leader.leaderEpoch() != reg.leaderEpoch()) {
                throw failure("liveness: broker " + reg.leader() + " does not act as the leader of partition " + p
                        + " in epoch " + reg.leaderEpoch());
            }
            List<SimLog.Batch> expected = leader.log().batches();
            for (SimLog.Batch acked : invariants.acked(p).values()) {
                if (!acked.equals(leader.log().batchAt(acked.baseOffset()))) {
                    throw failure("lost-acked-write: final leader of partition " + p + " lacks " + acked);
                }
            }
            for (int id : reg.replicas()) {
                SimReplica r = brokers.get(id).replicas.get(p);
                if (r == null || !r.log().batches().equals(expected)) {
                    throw failure("convergence: broker " + id + " partition " + p + " log differs from leader "
                            + reg.leader() + "'s");
                }
                if (r.highWatermark() != r.log().logEndOffset()) {
                    throw failure("convergence: broker " + id + " partition " + p + " HW " + r.highWatermark()
                            + " != LEO " + r.log().logEndOffset());
                }
            }
        }
    }

    SimulationFailure failure(String message) {
        StringBuilder sb = new StringBuilder(message).append("\n  at t=").append(nowMs()).append("ms, ").append(params);
        sb.append("\n  controller image offset ").append(controller.offset()).append(": ");
        controller.image().topics().topic(SimController.TOPIC).ifPresent(t -> sb.append(t.partitions()));
        sb.append(" brokers ").append(controller.image().cluster().brokers().values());
        for (SimBroker b : brokers.values()) {
            sb.append("\n    ").append(b);
        }
        return new SimulationFailure(sb.toString());
    }
}

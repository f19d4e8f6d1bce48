package dev.basalt.broker.replica.sim;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The simulated network between the controller, the brokers and the producers: every message is
 * delivered after a random delay (so messages reorder; while faults are active a few arrive very
 * late, after a crash-restart cycle of their sender or receiver), may be dropped while faults are active, and
 * is lost when its directed link is blocked at send or at delivery time (partitions, one-way
 * partitions). Delivery goes through the target's {@link Endpoint} filter, which drops messages to a
 * crashed node and holds messages to a paused one. Not thread-safe; one per run.
 */
final class SimNetwork {
    /** What a node does with a message that reaches it: run it, hold it (paused) or drop it (down). */
    interface Endpoint {
        void deliver(Runnable message);
    }

    private final SimScheduler scheduler;
    private final SplittableRandom random;
    private final double dropRate;
    private final int delayMaxMs;
    private final double lateRate;
    private final int lateDelayMaxMs;
    private final Map<Integer, Endpoint> endpoints = new HashMap<>();
    private final Map<Long, Integer> blockedLinks = new HashMap<>();
    private boolean faultsActive = true;
    private long sent;
    private long dropped;

    /**
     * @param lateRate       share of messages (while faults are active) delivered late
     * @param lateDelayMaxMs extra delay of a late message, drawn uniformly below this
     */
    SimNetwork(SimScheduler scheduler, SplittableRandom random, double dropRate, int delayMaxMs, double lateRate,
               int lateDelayMaxMs) {
        this.scheduler = scheduler;
        this.random = random;
        this.dropRate = dropRate;
        this.delayMaxMs = delayMaxMs;
        this.lateRate = lateRate;
        this.lateDelayMaxMs = lateDelayMaxMs;
    }

    void register(int nodeId, Endpoint endpoint) {
        endpoints.put(nodeId, endpoint);
    }

    /** Sends {@code message} (run on the target when delivered) from one node to another. */
    void send(int from, int to, Runnable message) {
        sent++;
        if (isBlocked(from, to) || (faultsActive && random.nextDouble() < dropRate)) {
            dropped++;
            return;
        }
        long delayMs = 1 + random.nextInt(delayMaxMs);
        if (faultsActive && lateRate > 0 && random.nextDouble() < lateRate) {
            delayMs += random.nextInt(lateDelayMaxMs);
        }
        scheduler.schedule(delayMs, () -> {
            if (isBlocked(from, to)) {
                dropped++;
                return;
            }
            endpoints.get(to).deliver(message);
        });
    }

    boolean isBlocked(int from, int to) {
        return blockedLinks.getOrDefault(link(from, to), 0) > 0;
    }

    /** Blocks the directed link for {@code durationMs}; blocks nest (a counter per link). */
    void block(int from, int to, long durationMs) {
        blockedLinks.merge(link(from, to), 1, Integer::sum);
        scheduler.schedule(durationMs, () -> blockedLinks.merge(link(from, to), -1, Integer::sum));
    }

    /** The liveness phase: no drops, every link open (pending unblocks become no-ops below zero). */
    void heal() {
        faultsActive = false;
        blockedLinks.replaceAll((k, v) -> Integer.MIN_VALUE / 2);
    }

    long sent() {
        return sent;
    }

    long dropped() {
        return dropped;
    }

    private static long link(int from, int to) {
        return ((long) from << 32) | (to & 0xffffffffL);
    }
}

package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import dev.basalt.jepsen.schedule.FaultKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Wall-clock faults through the nodes' test-only offset clock (nodes run with
 * {@code -Dbasalt.test.clock=true}; the offset is set with {@code clock-offset <ms>} on the control
 * channel, see {@code dev.basalt.broker.testsupport.TestHooks}). Monotonic time
 * ({@code System.nanoTime}: Raft election and heartbeat timers, request timeouts, the harness's
 * own waits) is untouched, as it is when an NTP step or a VM migration moves the wall clock.
 *
 * <ul>
 *   <li>{@link FaultKind#CLOCK_JUMP}: one node's clock jumps forward or back by 5 s to 10 min
 *       (drawn from the step's choice) and stays there until heal.</li>
 *   <li>{@link FaultKind#CLOCK_SKEW}: either every node gets its own fixed offset within ±60 s,
 *       or one node's clock strobes between its true time and an offset of ±1–30 s every
 *       100–500 ms (a harness thread sends the changes) until heal.</li>
 * </ul>
 * Heal sets every touched node's offset back to 0 (a node restarted meanwhile already has 0).
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}); the strobe thread only sends control
 * lines and is joined on heal.
 */
public final class ClockNemesis implements Nemesis {
    private static final long JUMP_MS_MIN = 5_000;
    private static final long JUMP_MS_MAX = 600_000;
    private static final long SKEW_MS_MAX = 60_000;

    private final Cluster cluster;
    private final FaultKind kind;
    private final int choice;
    private final Map<Integer, Long> offsets = new LinkedHashMap<>();
    private volatile boolean strobing;
    private Thread strobe;

    public ClockNemesis(Cluster cluster, FaultKind kind, int choice) {
        if (kind != FaultKind.CLOCK_JUMP && kind != FaultKind.CLOCK_SKEW) {
            throw new IllegalArgumentException("not a clock fault: " + kind);
        }
        this.cluster = cluster;
        this.kind = kind;
        this.choice = choice;
    }

    @Override
    public String start() {
        SplittableRandom r = new SplittableRandom(choice);
        if (kind == FaultKind.CLOCK_JUMP) {
            int victim = Targets.one(cluster, choice).get(0);
            long ms = (JUMP_MS_MIN + r.nextLong(JUMP_MS_MAX - JUMP_MS_MIN + 1)) * (r.nextBoolean() ? 1 : -1);
            set(victim, ms);
            return "clock of [" + victim + "] jumped by " + ms + " ms";
        }
        if (r.nextBoolean()) {
            List<String> parts = new ArrayList<>();
            for (int id : cluster.nodeIds()) {
                long ms = r.nextLong(2 * SKEW_MS_MAX + 1) - SKEW_MS_MAX;
                set(id, ms);
                parts.add(id + ":" + ms);
            }
            return "fixed clock skew (node:offset ms) " + parts;
        }
        int victim = Targets.one(cluster, choice).get(0);
        long ms = (1_000 + r.nextLong(29_001)) * (r.nextBoolean() ? 1 : -1);
        long periodMs = 100 + r.nextLong(401);
        strobing = true;
        strobe = new Thread(() -> {
            boolean on = false;
            while (strobing && !Thread.currentThread().isInterrupted()) {
                on = !on;
                try {
                    set(victim, on ? ms : 0);
                } catch (RuntimeException e) {
                    return; // the node went away (another fault's restart); heal resets what is left
                }
                LostUnfsyncedNemesis.sleepMsQuietly(periodMs);
            }
        }, "jepsen-clock-strobe");
        strobe.setDaemon(true);
        synchronized (offsets) {
            offsets.put(victim, 0L);
        }
        strobe.start();
        return "clock of [" + victim + "] strobing between 0 and " + ms + " ms every " + periodMs + " ms";
    }

    @Override
    public String heal() {
        strobing = false;
        if (strobe != null) {
            try {
                strobe.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<Integer> reset = new ArrayList<>();
        List<Integer> touched;
        synchronized (offsets) {
            touched = List.copyOf(offsets.keySet());
        }
        for (int id : touched) {
            if (cluster.node(id).isAlive()) {
                cluster.node(id).control("clock-offset 0");
                reset.add(id);
            }
        }
        return "clock offsets of " + reset + " back to 0";
    }

    private void set(int id, long ms) {
        cluster.node(id).control("clock-offset " + ms);
        synchronized (offsets) {
            offsets.put(id, ms);
        }
    }
}

package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A rolling restart, as an operator upgrades a cluster: every node in turn (starting at the
 * step's choice) gets SIGTERM (a controlled shutdown: its leaderships move away, a controller hands
 * Raft leadership over), the harness waits for the process to exit, starts it again with the same
 * data, waits until it answers /ready and then until it is back in the ISR of every partition of
 * the workload's topic, before the next node goes. The whole roll happens in {@link #start()} (it
 * takes longer than the step's duration under load; the schedule runner shifts later faults);
 * {@link #heal()} checks that every node is running and ready.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class RollingRestartNemesis implements Nemesis {
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(40);
    private final Cluster cluster;
    private final String topic;
    private final int partitions;
    private final int choice;
    private final Duration readyTimeout;

    public RollingRestartNemesis(Cluster cluster, String topic, int partitions, int choice, Duration readyTimeout) {
        this.cluster = cluster;
        this.topic = topic;
        this.partitions = partitions;
        this.choice = choice;
        this.readyTimeout = readyTimeout;
    }

    @Override
    public String start() {
        List<String> steps = new ArrayList<>();
        for (int id : Targets.rotated(cluster, choice)) {
            long t0 = System.nanoTime();
            int exit = cluster.stop(id, STOP_TIMEOUT);
            long stoppedMs = (System.nanoTime() - t0) / 1_000_000;
            cluster.restart(id, readyTimeout);
            long readyMs = (System.nanoTime() - t0) / 1_000_000;
            for (int p = 0; p < partitions; p++) {
                cluster.awaitPartition(topic, p, s -> s.hasLeader() && s.isr().contains(id), "node " + id + " back in the ISR after "
                        + "its restart", readyTimeout);
            }
            steps.add(id + " (exit " + exit + " after " + stoppedMs + " ms, ready at " + readyMs + " ms, in every ISR at "
                    + (System.nanoTime() - t0) / 1_000_000 + " ms)");
        }
        return "rolling restart " + steps;
    }

    @Override
    public String heal() {
        cluster.awaitReady(cluster.nodeIds(), readyTimeout);
        return "every node running and ready after the roll";
    }
}

package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.List;

/**
 * A controlled shutdown (SIGTERM by PID, waiting for the process to exit) of the leader of a
 * partition of the workload's topic (even choice) or of the active controller (odd choice); on
 * heal the node starts again with the same data and the harness waits until it is ready. Unlike
 * a kill, the node first moves its leaderships away (and a controller hands Raft leadership to
 * another voter), so clients should see only retriable errors.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class ControlledShutdownNemesis implements Nemesis {
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(40);
    private final Cluster cluster;
    private final String topic;
    private final int partitions;
    private final int choice;
    private final Duration readyTimeout;
    private int stopped = -1;

    public ControlledShutdownNemesis(Cluster cluster, String topic, int partitions, int choice, Duration readyTimeout) {
        this.cluster = cluster;
        this.topic = topic;
        this.partitions = partitions;
        this.choice = choice;
        this.readyTimeout = readyTimeout;
    }

    @Override
    public String start() {
        StringBuilder why = new StringBuilder();
        List<Integer> target = choice % 2 == 0 ? Targets.leader(cluster, topic, partitions, choice / 2, why)
                : Targets.controller(cluster, choice, why);
        stopped = target.get(0);
        long t0 = System.nanoTime();
        int exit = cluster.stop(stopped, STOP_TIMEOUT);
        return "controlled shutdown of " + why + " [" + stopped + "]: exit " + exit + " after " + (System.nanoTime() - t0) / 1_000_000
                + " ms";
    }

    @Override
    public String heal() {
        cluster.restart(stopped, readyTimeout);
        return "restarted [" + stopped + "]";
    }
}

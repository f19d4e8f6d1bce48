package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * kill -9 of its targets (by PID), and on heal a restart of every one with the same data
 * directory, waiting until all are ready. Targets are launched together because a killed
 * majority of controllers can only become ready as a quorum.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class KillNemesis implements Nemesis {
    private final Cluster cluster;
    private final Supplier<List<Integer>> targets;
    /** What the targets are; read after they are resolved (a leader lookup may say it fell back). */
    private final CharSequence what;
    private final Duration readyTimeout;
    private List<Integer> killed = List.of();

    public KillNemesis(Cluster cluster, CharSequence what, Supplier<List<Integer>> targets, Duration readyTimeout) {
        this.cluster = cluster;
        this.what = what;
        this.targets = targets;
        this.readyTimeout = readyTimeout;
    }

    @Override
    public String start() {
        killed = List.copyOf(targets.get());
        killed.forEach(cluster::kill9);
        return "kill-9 " + what + " " + killed;
    }

    @Override
    public String heal() {
        killed.forEach(id -> cluster.node(id).launch());
        cluster.awaitReady(killed, readyTimeout);
        return "restarted " + killed;
    }
}

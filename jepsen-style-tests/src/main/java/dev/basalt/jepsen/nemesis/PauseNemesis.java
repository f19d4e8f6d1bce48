package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import java.util.List;
import java.util.function.Supplier;

/**
 * SIGSTOP of its targets (by PID): the processes freeze with their sockets open, which looks to
 * the others like a very slow node (a long GC pause, a stalled VM); SIGCONT on heal.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class PauseNemesis implements Nemesis {
    private final Cluster cluster;
    private final Supplier<List<Integer>> targets;
    /** What the targets are; read after they are resolved (a leader lookup may say it fell back). */
    private final CharSequence what;
    private List<Integer> paused = List.of();

    public PauseNemesis(Cluster cluster, CharSequence what, Supplier<List<Integer>> targets) {
        this.cluster = cluster;
        this.what = what;
        this.targets = targets;
    }

    @Override
    public String start() {
        paused = List.copyOf(targets.get());
        paused.forEach(cluster::pause);
        return "SIGSTOP " + what + " " + paused;
    }

    @Override
    public String heal() {
        for (int id : paused) {
            if (cluster.node(id).isPaused()) {
                cluster.resume(id);
            }
        }
        return "SIGCONT " + paused;
    }
}

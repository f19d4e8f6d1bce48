package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import dev.basalt.harness.NodeProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A crash that loses what was not fsynced, as a power loss does (LazyFS's "clear cache" fault):
 * every target is sent {@code lazyfs-crash} on its control channel at once; each node restores
 * every file to its last fsynced content and names and halts (see
 * {@code dev.basalt.broker.testsupport.LazyFs}; the nodes run with {@code -Dbasalt.test.lazyfs=true}).
 * On heal the targets restart with the same data directories and the nemesis waits until they are
 * ready: recovery finds torn or missing segment tails, index entries and partition state pointing
 * past them, and a Raft log shorter than before.
 *
 * <p>What may be lost: with acks=all and durable acks (the default; the high watermark counts only
 * offsets fsynced on every ISR member) nothing acknowledged, whether one node or all lose their
 * unsynced data. With {@code durable.acks=false} a crash of every node (or of every ISR member)
 * may lose acknowledged records; {@code CheckerConfig} allows that only then.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class LostUnfsyncedNemesis implements Nemesis {
    private static final Duration HALT_TIMEOUT = Duration.ofSeconds(20);

    private final Cluster cluster;
    private final CharSequence what;
    private final Supplier<List<Integer>> targets;
    private final Duration readyTimeout;
    private List<Integer> crashed = List.of();

    public LostUnfsyncedNemesis(Cluster cluster, CharSequence what, Supplier<List<Integer>> targets, Duration readyTimeout) {
        this.cluster = cluster;
        this.what = what;
        this.targets = targets;
        this.readyTimeout = readyTimeout;
    }

    @Override
    public String start() {
        crashed = List.copyOf(targets.get());
        crashed.forEach(id -> cluster.node(id).control("lazyfs-crash"));
        List<String> exits = new ArrayList<>();
        List<Integer> notHalted = new ArrayList<>();
        long deadline = System.nanoTime() + HALT_TIMEOUT.toNanos();
        for (int id : crashed) {
            NodeProcess n = cluster.node(id);
            int code = n.awaitExit(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (code < 0) {
                notHalted.add(id);
                n.kill();
            }
            exits.add(id + ":" + code);
        }
        if (!notHalted.isEmpty()) {
            throw new IllegalStateException("nodes " + notHalted + " did not halt on lazyfs-crash within " + HALT_TIMEOUT
                    + " (killed instead; is -Dbasalt.test.lazyfs=true set?)");
        }
        return "lazyfs crash of " + what + " " + crashed + " (unsynced writes discarded; exit codes " + exits + ")";
    }

    @Override
    public String heal() {
        crashed.forEach(id -> cluster.node(id).launch());
        cluster.awaitReady(crashed, readyTimeout);
        return "restarted " + crashed;
    }

    /** Sleeps; an interrupt ends the sleep early and stays set. */
    static void sleepMsQuietly(long ms) {
        try {
            TimeUnit.MILLISECONDS.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

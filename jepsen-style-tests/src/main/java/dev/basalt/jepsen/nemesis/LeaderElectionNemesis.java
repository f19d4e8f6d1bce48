package dev.basalt.jepsen.nemesis;

import dev.basalt.client.TopicPartition;
import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A leader move under load through the Admin API: one partition of the workload's topic (choice
 * mod partitions) has its replicas reordered (a reassignment to the same brokers) so that another
 * in-sync replica than the current leader is preferred, then preferred-leader elections run until
 * it leads; on heal the original order is restored and elections run until the original preferred
 * replica leads again (leaders only move onto caught-up ISR members, so the elections repeat
 * while one lags).
 *
 * <p>A reorder the controller refuses is recorded in the nemesis op and nothing is healed.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class LeaderElectionNemesis implements Nemesis {
    private final Cluster cluster;
    private final TopicPartition tp;
    private final int choice;
    private final Duration timeout;
    private List<Integer> original = List.of();

    public LeaderElectionNemesis(Cluster cluster, String topic, int partitions, int choice, Duration timeout) {
        this.cluster = cluster;
        this.tp = new TopicPartition(topic, choice % partitions);
        this.choice = choice;
        this.timeout = timeout;
    }

    @Override
    public String start() {
        Cluster.PartitionState s = cluster.partition(tp.topic(), tp.partition());
        List<Integer> candidates = new ArrayList<>(s.isr());
        candidates.remove(Integer.valueOf(s.leader()));
        if (candidates.isEmpty()) {
            return tp + " has no in-sync replica besides its leader (" + s + "), left as is";
        }
        int preferred = candidates.get((choice / 7) % candidates.size());
        List<Integer> target = new ArrayList<>(s.replicas());
        target.remove(Integer.valueOf(preferred));
        target.add(0, preferred);
        try {
            Moves.submit(cluster, tp, target);
        } catch (RuntimeException e) {
            return "reorder of " + tp + " to " + target + " refused, left as is: " + e.getMessage();
        }
        original = List.copyOf(s.replicas());
        Moves.awaitDone(cluster, tp, target, true, timeout);
        return tp + " reordered " + original + " -> " + target + " (leader was " + s.leader() + "), "
                + Moves.electUntil(cluster, tp, preferred, timeout);
    }

    @Override
    public String heal() {
        if (original.isEmpty()) {
            return "nothing to move back";
        }
        Moves.submit(cluster, tp, original);
        Moves.awaitDone(cluster, tp, original, true, timeout);
        return tp + " back to " + original + ", " + Moves.electUntil(cluster, tp, original.get(0), timeout);
    }
}

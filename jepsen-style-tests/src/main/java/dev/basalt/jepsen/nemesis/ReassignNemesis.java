package dev.basalt.jepsen.nemesis;

import dev.basalt.client.TopicPartition;
import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A partition reassignment under load that really moves data: one partition of the workload's
 * topic (choice mod partitions) is reassigned off one of its replicas (chosen by the choice; it
 * may be the leader, whose leadership then moves), RF 3 to 2, so that replica's log is deleted;
 * on heal the harness waits for that move to finish and reassigns the partition back to its
 * original replicas in their original order, so the removed broker copies the log again from
 * scratch, and waits until that is done with a full ISR. With three brokers there is no spare to
 * move onto; shrinking and growing the replica set exercises the same KIP-455 steps (adding
 * replicas that catch up, moving leadership off a leaving leader, deleting a removed replica).
 *
 * <p>A reassignment the controller refuses in the current state (say a replica is out of the
 * ISR) is recorded in the nemesis op and nothing is healed.
 *
 * <p>Thread-safety: not thread-safe (see {@link Nemesis}).
 */
public final class ReassignNemesis implements Nemesis {
    private final Cluster cluster;
    private final TopicPartition tp;
    private final int choice;
    private final Duration moveTimeout;
    private List<Integer> original = List.of();
    private List<Integer> shrunk = List.of();

    public ReassignNemesis(Cluster cluster, String topic, int partitions, int choice, Duration moveTimeout) {
        this.cluster = cluster;
        this.tp = new TopicPartition(topic, choice % partitions);
        this.choice = choice;
        this.moveTimeout = moveTimeout;
    }

    @Override
    public String start() {
        Cluster.PartitionState s = cluster.partition(tp.topic(), tp.partition());
        List<Integer> replicas = s.replicas();
        int drop = replicas.get((choice / 7) % replicas.size());
        List<Integer> target = new ArrayList<>(replicas);
        target.remove(Integer.valueOf(drop));
        try {
            Moves.submit(cluster, tp, target);
        } catch (RuntimeException e) {
            return "reassignment of " + tp + " from " + replicas + " to " + target + " refused, left as is: " + e.getMessage();
        }
        original = List.copyOf(replicas);
        shrunk = List.copyOf(target);
        return "reassigning " + tp + " from " + replicas + " (leader " + s.leader() + ") to " + target;
    }

    @Override
    public String heal() {
        if (original.isEmpty()) {
            return "nothing to move back";
        }
        long t0 = System.nanoTime();
        Moves.awaitDone(cluster, tp, shrunk, false, moveTimeout);
        long shrunkMs = (System.nanoTime() - t0) / 1_000_000;
        Moves.submit(cluster, tp, original);
        Moves.awaitDone(cluster, tp, original, true, moveTimeout);
        return tp + " on " + shrunk + " (done " + shrunkMs + " ms into the heal), moved back to " + original + " in "
                + (System.nanoTime() - t0) / 1_000_000 + " ms";
    }
}

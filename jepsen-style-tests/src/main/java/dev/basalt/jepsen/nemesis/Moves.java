package dev.basalt.jepsen.nemesis;

import dev.basalt.client.Admin;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.LeaderElectionResult;
import dev.basalt.client.admin.PartitionReassignment;
import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Admin API steps shared by the reassignment and leader-election nemeses: submit a reassignment of
 * one partition, wait until it is done, run a preferred-leader election and wait for its leader.
 * Errors while the cluster changes (no controller, a broker restarting) are retried until the
 * deadline.
 *
 * <p>Thread-safety: stateless.
 */
final class Moves {
    private static final Duration CALL = Duration.ofSeconds(10);

    private Moves() {
    }

    /** Submits {@code target} as the replicas of {@code tp}; a refusal (ReassignmentException) or any other error is thrown. */
    static void submit(Cluster cluster, TopicPartition tp, List<Integer> target) {
        try (Admin admin = cluster.admin()) {
            Admin.getAll(admin.alterPartitionReassignments(Map.of(tp, Optional.of(target))), CALL);
        }
    }

    /**
     * Waits until no reassignment of {@code tp} is in progress and its replicas are {@code target}
     * (in that order when {@code ordered}) with every one in the ISR; throws after {@code timeout}.
     */
    static void awaitDone(Cluster cluster, TopicPartition tp, List<Integer> target, boolean ordered, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try (Admin admin = cluster.admin()) {
                List<PartitionReassignment> ongoing = Admin.get(admin.listPartitionReassignments(List.of(tp.topic())), CALL);
                boolean moving = ongoing.stream().anyMatch(r -> r.partition() == tp.partition());
                Cluster.PartitionState s = cluster.partition(tp.topic(), tp.partition());
                boolean placed = ordered ? s.replicas().equals(target)
                        : s.replicas().size() == target.size() && s.replicas().containsAll(target);
                if (!moving && placed && s.hasLeader() && s.isr().containsAll(target)) {
                    return;
                }
                last = (moving ? "still moving; " : "") + s;
            } catch (RuntimeException e) {
                last = e.toString();
            }
            sleepMs(200);
        }
        throw new IllegalStateException("reassignment of " + tp + " to " + target + " not done within " + timeout + "; last " + last);
    }

    /**
     * Runs preferred-leader elections of {@code tp} until its leader is {@code preferred}; returns
     * a description, or throws after {@code timeout} (the controller moves leadership only onto a
     * caught-up ISR member, so a replica that lags keeps it waiting).
     */
    static String electUntil(Cluster cluster, TopicPartition tp, int preferred, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int rounds = 0;
        String last = "";
        while (System.nanoTime() < deadline) {
            rounds++;
            try (Admin admin = cluster.admin()) {
                LeaderElectionResult r = Admin.get(admin.electPreferredLeaders(List.of(tp)), CALL);
                Cluster.PartitionState s = cluster.partition(tp.topic(), tp.partition());
                if (s.leader() == preferred) {
                    return "leader " + preferred + " after " + rounds + " election(s) (last elected " + r.elected() + ")";
                }
                last = s.toString();
            } catch (RuntimeException e) {
                last = e.toString();
            }
            sleepMs(300);
        }
        throw new IllegalStateException("preferred leader " + preferred + " of " + tp + " not elected within " + timeout + "; last " + last);
    }

    static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

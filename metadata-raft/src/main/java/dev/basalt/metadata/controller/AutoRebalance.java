package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * {@code auto.rebalance.enable}: spreads replicas gradually over the brokers, for example onto a
 * broker that just joined, without an operator's plan. Pure decision, no I/O, no clock; stateless and
 * thread-safe.
 *
 * <p>One step = at most {@code movesMax} partition reassignments taken from the balanced plan of
 * {@link ReassignmentPlanner} over every topic and every registered, not decommissioned broker. A step
 * is taken only on a healthy, quiet cluster, so that automatic moves never pile onto a failure:
 * <ul>
 *   <li>no reassignment in progress (one batch of moves at a time: gradual);</li>
 *   <li>every listed broker unfenced (a restarting broker must not have its replicas moved away);</li>
 *   <li>every partition fully in sync (its ISR holds all its replicas) and led.</li>
 * </ul>
 * Only moves of data count: a plan entry that only reorders a partition's replicas (a preferred-leader
 * change) is left to preferred-leader balancing. Moves stop once each broker holds its quota (replica
 * counts differ by at most one), so a balanced cluster gets no step at all.
 */
final class AutoRebalance {
    private AutoRebalance() {
    }

    /** The reassignments of the next step, empty when none is due (see the class javadoc). */
    static List<ReassignmentRequest> nextStep(MetadataImage image, int movesMax) {
        if (movesMax < 1) {
            throw new IllegalArgumentException("movesMax " + movesMax + " < 1");
        }
        if (!ReassignmentControl.reassigning(image).isEmpty()) {
            return List.of();
        }
        List<Integer> brokers = new ArrayList<>();
        for (BrokerRegistration b : image.cluster().brokers().values()) {
            if (image.cluster().isDecommissioned(b.brokerId())) {
                continue;
            }
            if (b.fenced()) {
                return List.of();
            }
            brokers.add(b.brokerId());
        }
        if (brokers.size() < 2) {
            return List.of();
        }
        List<String> topics = new ArrayList<>();
        for (TopicImage t : image.topics().topicsById().values()) {
            for (PartitionRegistration p : t.partitions().values()) {
                if (!p.hasLeader() || !new HashSet<>(p.isr()).containsAll(p.replicas())) {
                    return List.of();
                }
            }
            topics.add(t.name());
        }
        if (topics.isEmpty()) {
            return List.of();
        }
        topics.sort(String::compareTo);
        Map<PartitionRef, List<Integer>> plan;
        try {
            plan = ReassignmentPlanner.plan(image, topics, brokers);
        } catch (ControllerException e) {
            return List.of(); // e.g. more replicas per partition than brokers: nothing to balance
        }
        List<ReassignmentRequest> step = new ArrayList<>();
        for (Map.Entry<PartitionRef, List<Integer>> e : plan.entrySet()) {
            PartitionRegistration current = image.topics().topic(e.getKey().topicId()).orElseThrow()
                    .partitions().get(e.getKey().partition());
            if (new HashSet<>(current.replicas()).equals(new HashSet<>(e.getValue()))) {
                continue; // a reorder only
            }
            step.add(ReassignmentRequest.reassign(e.getKey(), e.getValue()));
            if (step.size() == movesMax) {
                break;
            }
        }
        return step;
    }
}

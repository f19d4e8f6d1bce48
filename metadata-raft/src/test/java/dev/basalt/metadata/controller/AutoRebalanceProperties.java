package dev.basalt.metadata.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Goal: {@code auto.rebalance.enable} brings a cluster that gained brokers to an even spread of
 * replicas (counts differing by at most one) in bounded steps, each moving at most the allowed number
 * of partitions, one step at a time, and never while the cluster is unhealthy.
 *
 * <p>Method: from a seed, 2-4 brokers, 1-4 topics of 1-12 partitions with RF 1 up to the broker
 * count, then 1-3 brokers join. The loop asks {@link MetadataController#autoRebalanceStep}; a started
 * step must be refused until its moves complete (leaders add the new replicas to the ISR, then the
 * completion check runs). At a random point a broker is fenced (session expiry): no step may start
 * until it is back. Checks: at most {@code movesMax} partitions per step; only data moves; the loop
 * ends within (replicas + 1) steps; at the end per-broker replica counts differ by at most one and
 * a further step is empty. Reproduce: the failure names the seed; {@link ReplayOnFailure} prints the
 * command.
 */
@AddLifecycleHook(ReplayOnFailure.class)
class AutoRebalanceProperties {

    @Property(tries = 200)
    void joinedBrokersGetAnEvenShare_gradually_andOnlyOnAHealthyCluster(@ForAll long seed) {
        Random random = new Random(seed);
        int initial = 2 + random.nextInt(3);
        int joining = 1 + random.nextInt(3);
        int movesMax = 1 + random.nextInt(3);
        String context = "seed=" + seed + " initial=" + initial + " joining=" + joining + " movesMax=" + movesMax;
        ControllerFixture f = new ControllerFixture(seed, ConfigValidator.ACCEPT_ALL,
                new ControllerConfig(1_000, 1_000, 100, 100, 1, false, 100));
        for (int b = 1; b <= initial; b++) {
            f.addLiveBroker(b, null, 0);
        }
        int topics = 1 + random.nextInt(4);
        int replicas = 0;
        for (int t = 0; t < topics; t++) {
            int partitions = 1 + random.nextInt(12);
            int rf = 1 + random.nextInt(initial);
            f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t" + t, partitions, rf, Map.of())));
            replicas += partitions * rf;
        }
        for (int b = initial + 1; b <= initial + joining; b++) {
            f.addLiveBroker(b, null, 10);
        }
        long nowMs = 10;
        int fenceAt = random.nextInt(5);
        int steps = 0;
        for (int round = 0; ; round++) {
            assertTrue(round <= replicas + 1, context + ": no balance after " + round + " steps");
            if (round == fenceAt) {
                // A broker misses its session: nothing may start until it is back.
                int victim = 1 + random.nextInt(initial + joining);
                nowMs += 5_000;
                for (int b = 1; b <= initial + joining; b++) {
                    if (b != victim) {
                        f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(b, ControllerFixture.incarnation(b), true,
                                false), nowMs));
                    }
                }
                f.commit(f.controller.fenceExpiredBrokers(f.image, nowMs));
                assertTrue(f.broker(victim).fenced(), context);
                assertEquals(List.of(), f.controller.autoRebalanceStep(f.image, movesMax).response(),
                        context + ": a step started while broker " + victim + " was fenced");
                f.commit(f.controller.heartbeat(f.image, new HeartbeatRequest(victim, ControllerFixture.incarnation(victim),
                        true, false), nowMs));
                catchUp(f);
            }
            Map<PartitionRef, List<Integer>> before = replicasOf(f);
            List<PartitionRef> started = f.commit(f.controller.autoRebalanceStep(f.image, movesMax));
            if (started.isEmpty()) {
                break;
            }
            steps++;
            assertTrue(started.size() <= movesMax, context + ": step moved " + started.size());
            for (PartitionRef ref : started) {
                List<Integer> target = partition(f, ref).targetReplicas();
                assertTrue(!new java.util.HashSet<>(target).equals(new java.util.HashSet<>(before.get(ref))),
                        context + ": a step only reordered " + ref);
            }
            if (started.stream().anyMatch(ref -> partition(f, ref).isReassigning())) {
                assertEquals(List.of(), f.controller.autoRebalanceStep(f.image, movesMax).response(),
                        context + ": a second step started while the first was in progress");
            }
            catchUp(f);
        }
        Map<Integer, Integer> counts = new TreeMap<>();
        for (int b = 1; b <= initial + joining; b++) {
            counts.put(b, 0);
        }
        replicasOf(f).values().forEach(rs -> rs.forEach(r -> counts.merge(r, 1, Integer::sum)));
        int min = counts.values().stream().min(Integer::compare).orElseThrow();
        int max = counts.values().stream().max(Integer::compare).orElseThrow();
        assertTrue(max - min <= 1, context + ": uneven after " + steps + " steps: " + counts);
        assertEquals(List.of(), f.controller.autoRebalanceStep(f.image, movesMax).response(), context + ": balanced, yet a step");
        ControllerFixture.assertConsistent(f.image);
    }

    private static PartitionRegistration partition(ControllerFixture f, PartitionRef ref) {
        return f.image.topics().topic(ref.topicId()).orElseThrow().partitions().get(ref.partition());
    }

    private static Map<PartitionRef, List<Integer>> replicasOf(ControllerFixture f) {
        Map<PartitionRef, List<Integer>> out = new java.util.HashMap<>();
        for (TopicImage t : f.image.topics().topicsById().values()) {
            t.partitions().forEach((p, reg) -> out.put(new PartitionRef(t.id(), p), reg.replicas()));
        }
        return out;
    }

    /** Leaders add every live replica to their ISR (the new ones caught up), then the completion check runs. */
    private static void catchUp(ControllerFixture f) {
        List<PartitionRef> refs = new ArrayList<>(replicasOf(f).keySet());
        for (PartitionRef ref : refs) {
            PartitionRegistration p = partition(f, ref);
            List<Integer> isr = p.replicas().stream().filter(f.image.cluster()::isUnfenced).toList();
            if (p.hasLeader() && !isr.equals(p.isr()) && isr.contains(p.leader())) {
                f.commit(f.controller.alterPartition(f.image, new AlterPartitionRequest(p.leader(),
                        ControllerFixture.incarnation(p.leader()), ref.topicId(), ref.partition(), p.leaderEpoch(),
                        p.partitionEpoch(), isr)));
            }
        }
        f.commit(f.controller.completeReassignments(f.image));
    }
}

package dev.basalt.metadata.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.raft.testkit.LongTestsOnly;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.util.HashSet;
import java.util.IntSummaryStatistics;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Goal: replica placement spreads load evenly and racks first (DESIGN.md §4; Kafka's rack-aware
 * assignment, KIP-36). Method: from a seed, a cluster of live brokers (no racks, equal racks, or
 * uneven racks) gets a run of createTopic and createPartitions calls with random partition counts
 * and replication factors, all through the pure controller, starting with empty brokers. After every
 * call: each partition's replicas cover min(RF, racks) distinct racks; preferred-leader counts per
 * broker differ by at most one, in the whole image and among each createTopic's partitions; when
 * all topics share one replication factor, replica counts per broker differ by at most two without
 * racks and with equal racks and RF &lt;= racks.
 * Reproduce: the failure prints the seed and the command that
 * replays it ({@link ReplayOnFailure}).
 */
@AddLifecycleHook(ReplayOnFailure.class)
class ReplicaPlacerProperties {

    @Property(tries = 300)
    void placement_isBalanced_andRackDistinct(@ForAll long seed) {
        run(seed);
    }

    @Property(tries = 5000)
    @AddLifecycleHook(LongTestsOnly.class)
    void placement_long(@ForAll long seed) {
        run(seed);
    }

    /**
     * A broker that joins (or is recommissioned) with no leaderships does not lead every partition
     * of the next topics: a topic's leaders are spread over the brokers first (found probing: after
     * a recommission, two new 3-partition topics were each led wholly by the returning broker).
     */
    @net.jqwik.api.Example
    void aNewTopicsLeadersAreSpread_evenBesideABrokerThatLeadsNothingYet() {
        ControllerFixture f = new ControllerFixture(7);
        f.addLiveBroker(1, null, 0);
        f.addLiveBroker(2, null, 0);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("old", 6, 2, Map.of())));
        f.addLiveBroker(3, null, 0);
        f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("new", 3, 3, Map.of())));
        Set<Integer> leaders = new HashSet<>();
        f.topic("new").partitions().values().forEach(p -> leaders.add(p.preferredLeader()));
        assertEquals(Set.of(1, 2, 3), leaders, "one partition of the new topic led by each broker");
        f.commit(f.controller.createPartitions(f.image, "new", 6));
        Map<Integer, Integer> counts = new TreeMap<>();
        f.topic("new").partitions().values().forEach(p -> counts.merge(p.preferredLeader(), 1, Integer::sum));
        assertEquals(Map.of(1, 2, 2, 2, 3, 2), counts, "the added partitions' leaders are spread too");
    }

    private static void run(long seed) {
        Random random = new Random(seed);
        int rackShape = random.nextInt(3); // 0: no racks, 1: equal racks, 2: uneven racks
        int racks = 1 + random.nextInt(4);
        int brokers = rackShape == 1 ? racks * (1 + random.nextInt(3)) : 1 + random.nextInt(10);
        ControllerFixture f = new ControllerFixture(seed);
        for (int b = 0; b < brokers; b++) {
            String rack = switch (rackShape) {
                case 0 -> null;
                case 1 -> "r" + (b % racks);
                default -> random.nextInt(4) == 0 ? null : "r" + random.nextInt(racks);
            };
            f.addLiveBroker(b, rack, 0);
        }
        // With mixed replication factors no online rule can keep both leader and replica counts within
        // one (a 2-broker cluster alternating RF 2 and RF 1 partitions shows it), so replica balance is
        // asserted for runs with one replication factor; leader balance and racks always.
        boolean oneRf = random.nextBoolean();
        int fixedRf = 1 + random.nextInt(brokers);
        int steps = 1 + random.nextInt(8);
        for (int step = 0; step < steps; step++) {
            String name = "t" + random.nextInt(4);
            if (f.image.topics().topic(name).isPresent()) {
                TopicImage t = f.topic(name);
                f.commit(f.controller.createPartitions(f.image, name, t.partitionCount() + 1 + random.nextInt(6)));
            } else {
                f.commit(f.controller.createTopic(f.image, new CreateTopicRequest(name, 1 + random.nextInt(12),
                        oneRf ? fixedRf : 1 + random.nextInt(brokers), Map.of())));
                Map<Integer, Integer> topicLeaders = new TreeMap<>();
                f.image.cluster().brokers().keySet().forEach(id -> topicLeaders.put(id, 0));
                f.topic(name).partitions().values().forEach(p -> topicLeaders.merge(p.preferredLeader(), 1, Integer::sum));
                assertSpread("seed " + seed + " step " + step + ": preferred leaders of the new topic " + name, topicLeaders, 1);
            }
            // Replica balance within two is promised with one replication factor, without racks or with
            // equal racks and RF <= racks: a request's leaders go round the brokers first (a topic's
            // traffic follows them), so a broker may have to lead one partition while it already holds
            // a replica more than others (within one before leaders were spread per request; with
            // racks the rack rule comes first, as before).
            int replicaSpreadMax = !oneRf || rackShape == 2 || (rackShape == 1 && fixedRf > racks) ? Integer.MAX_VALUE : 2;
            check(f, replicaSpreadMax, "racks=" + (rackShape == 0 ? "none" : rackShape == 1 ? racks + " equal" : "uneven")
                    + " brokers=" + brokers + " rf=" + (oneRf ? fixedRf : "mixed") + " step=" + step);
        }
    }

    private static void check(ControllerFixture f, int replicaSpreadMax, String run) {
        Map<Integer, Integer> leaders = new TreeMap<>();
        Map<Integer, Integer> replicas = new TreeMap<>();
        Set<String> allRacks = new HashSet<>();
        for (BrokerRegistration b : f.image.cluster().brokers().values()) {
            leaders.put(b.brokerId(), 0);
            replicas.put(b.brokerId(), 0);
            allRacks.add(rackKey(b));
        }
        for (TopicImage t : f.image.topics().topicsById().values()) {
            for (PartitionRegistration p : t.partitions().values()) {
                leaders.merge(p.preferredLeader(), 1, Integer::sum);
                Set<String> used = new HashSet<>();
                for (int r : p.replicas()) {
                    replicas.merge(r, 1, Integer::sum);
                    used.add(rackKey(f.broker(r)));
                }
                assertEquals(Math.min(p.replicas().size(), allRacks.size()), used.size(),
                        t.name() + " replicas " + p.replicas() + " share a rack needlessly");
            }
        }
        StringBuilder placed = new StringBuilder();
        f.image.topics().topicsByName().forEach((name, t) -> t.partitions().forEach((p, reg) ->
                placed.append(' ').append(name).append('-').append(p).append(reg.replicas())));
        String where = run + " racks " + f.image.cluster().brokers().values().stream()
                .map(b -> b.brokerId() + ":" + b.rack().orElse("-")).toList() + " placed" + placed;
        assertSpread(where + ": preferred leaders", leaders, 1);
        assertSpread(where + ": replicas", replicas, replicaSpreadMax);
    }

    private static String rackKey(BrokerRegistration b) {
        return b.rack().orElse("\u0000" + b.brokerId());
    }

    private static void assertSpread(String what, Map<Integer, Integer> counts, int spreadMax) {
        IntSummaryStatistics s = counts.values().stream().mapToInt(Integer::intValue).summaryStatistics();
        assertTrue(s.getMax() - s.getMin() <= spreadMax, what + " per broker differ by more than " + spreadMax + ": "
                + counts);
    }
}

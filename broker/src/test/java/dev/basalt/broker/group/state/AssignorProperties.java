package dev.basalt.broker.group.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Goal: the assignors' contract on random groups — every partition of a subscribed topic given to
 * exactly one subscriber, nothing else given; {@code uniform} balanced within one for identical
 * subscriptions and sticky (a joining member takes only its share, a leaving member's partitions
 * are the only ones that move); both deterministic.
 *
 * <p>Reproduce: jqwik prints the failing sample and its seed ({@code @Property(seed = ...)}).
 */
class AssignorProperties {
    private static TopicsView topics(int topics, int partitions) {
        Map<String, Integer> m = new TreeMap<>();
        for (int t = 0; t < topics; t++) {
            m.put("t" + t, partitions + t);
        }
        return TopicsView.of(m);
    }

    private static SortedMap<String, Assignor.MemberSpec> members(int n, TopicsView topics, SortedMap<String, Assignment> previous,
                                                                  long subsetSeed) {
        SortedMap<String, Assignor.MemberSpec> out = new TreeMap<>();
        java.util.SplittableRandom r = new java.util.SplittableRandom(subsetSeed);
        for (int i = 0; i < n; i++) {
            String id = String.format("m%03d", i);
            SortedSet<String> subs = new TreeSet<>(topics.partitionCounts().keySet());
            if (subsetSeed != 0 && r.nextBoolean()) {
                subs.removeIf(t -> r.nextBoolean());
                if (subs.isEmpty()) {
                    subs.add("t0");
                }
            }
            out.put(id, new Assignor.MemberSpec(null, subs, previous.getOrDefault(id, Assignment.EMPTY)));
        }
        return out;
    }

    private static void assertContract(SortedMap<String, Assignor.MemberSpec> members, TopicsView topics,
                                       SortedMap<String, Assignment> result) {
        assertEquals(members.keySet(), result.keySet());
        TreeSet<PartitionKey> seen = new TreeSet<>();
        TreeSet<PartitionKey> expected = new TreeSet<>();
        members.values().forEach(m -> m.subscribedTopics().forEach(t -> {
            for (int p = 0; p < topics.partitionCount(t); p++) {
                expected.add(new PartitionKey(t, p));
            }
        }));
        result.forEach((id, a) -> {
            for (PartitionKey p : a) {
                assertTrue(seen.add(p), "partition " + p + " given twice");
                assertTrue(members.get(id).subscribedTopics().contains(p.topic()), "member " + id + " not subscribed to " + p);
            }
        });
        assertEquals(expected, seen);
    }

    @Property(tries = 300)
    void bothAssignorsKeepTheContract(@ForAll @IntRange(min = 1, max = 30) int memberCount,
                                      @ForAll @IntRange(min = 1, max = 4) int topicCount,
                                      @ForAll @IntRange(min = 0, max = 40) int partitions, @ForAll long subsetSeed) {
        TopicsView topics = topics(topicCount, partitions);
        for (Assignor a : List.of(UniformAssignor.INSTANCE, RangeAssignor.INSTANCE)) {
            SortedMap<String, Assignor.MemberSpec> members = members(memberCount, topics, new TreeMap<>(), subsetSeed);
            SortedMap<String, Assignment> result = a.assign(new Assignor.Spec(members, topics));
            assertContract(members, topics, result);
            assertEquals(result, a.assign(new Assignor.Spec(members, topics)));
        }
    }

    @Property(tries = 300)
    void uniformIsBalancedAndStickyOnJoinAndLeave(@ForAll @IntRange(min = 1, max = 30) int memberCount,
                                                  @ForAll @IntRange(min = 1, max = 3) int topicCount,
                                                  @ForAll @IntRange(min = 0, max = 60) int partitions) {
        TopicsView topics = topics(topicCount, partitions);
        SortedMap<String, Assignor.MemberSpec> before = members(memberCount, topics, new TreeMap<>(), 0);
        SortedMap<String, Assignment> first = UniformAssignor.INSTANCE.assign(new Assignor.Spec(before, topics));
        assertBalanced(first);
        int total = first.values().stream().mapToInt(Assignment::size).sum();

        // one member joins: only its share moves, and only to it
        SortedMap<String, Assignor.MemberSpec> joined = members(memberCount + 1, topics, first, 0);
        SortedMap<String, Assignment> afterJoin = UniformAssignor.INSTANCE.assign(new Assignor.Spec(joined, topics));
        assertContract(joined, topics, afterJoin);
        assertBalanced(afterJoin);
        String newcomer = afterJoin.lastKey();
        int moved = 0;
        for (String id : first.keySet()) {
            assertTrue(first.get(id).containsAll(afterJoin.get(id)), "member " + id + " gained on a join");
            moved += first.get(id).size() - afterJoin.get(id).size();
        }
        assertEquals(afterJoin.get(newcomer).size(), moved);
        assertTrue(moved <= (total + memberCount) / (memberCount + 1), "moved " + moved + " of " + total);

        // one member leaves: only its partitions move
        if (memberCount > 1) {
            SortedMap<String, Assignor.MemberSpec> left = members(memberCount, topics, first, 0);
            String leaver = left.firstKey();
            left.remove(leaver);
            SortedMap<String, Assignment> afterLeave = UniformAssignor.INSTANCE.assign(new Assignor.Spec(left, topics));
            assertBalanced(afterLeave);
            for (String id : left.keySet()) {
                assertTrue(afterLeave.get(id).containsAll(first.get(id)), "member " + id + " lost on a leave");
            }
        }
    }

    private static void assertBalanced(SortedMap<String, Assignment> a) {
        List<Integer> sizes = new ArrayList<>();
        a.values().forEach(x -> sizes.add(x.size()));
        int max = sizes.stream().mapToInt(i -> i).max().orElse(0);
        int min = sizes.stream().mapToInt(i -> i).min().orElse(0);
        assertTrue(max - min <= 1, "loads " + sizes);
    }
}

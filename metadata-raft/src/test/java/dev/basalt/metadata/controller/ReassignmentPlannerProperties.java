package dev.basalt.metadata.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.raft.testkit.ReplayOnFailure;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * Goal: {@link ReassignmentPlanner} gives every partition of the planned topics a valid target on the
 * listed brokers, balances replicas over them, and moves no more replicas than balance requires.
 * Method: from a seed, a cluster of 2-8 brokers (with racks on even seeds) gets 1-4 topics placed by
 * the controller, then brokers join or are left out; the plan over a random broker list is checked:
 * targets keep the replication factor, list distinct listed brokers; without racks, per-broker counts
 * differ by at most one and, when every replica is on a listed broker, the replicas moved equal the
 * minimum (each broker's excess over its quota, the larger quotas going to the brokers holding most),
 * with at most one more move per replica on an unlisted broker otherwise; with
 * racks, each partition spans min(RF, racks) racks. Reproduce: {@link ReplayOnFailure} prints the command.
 */
@AddLifecycleHook(ReplayOnFailure.class)
class ReassignmentPlannerProperties {

    @Property(tries = 200)
    void plan_isValid_balanced_andMovesTheMinimum(@ForAll long seed) {
        Random random = new Random(seed);
        boolean racks = seed % 2 == 0;
        int initial = 2 + random.nextInt(5);
        ControllerFixture f = new ControllerFixture(seed);
        for (int b = 0; b < initial; b++) {
            f.addLiveBroker(b, racks ? "r" + b % 3 : null, 0);
        }
        List<String> topics = new ArrayList<>();
        for (int t = 0; t < 1 + random.nextInt(4); t++) {
            int rf = 1 + random.nextInt(Math.min(3, initial));
            f.commit(f.controller.createTopic(f.image, new CreateTopicRequest("t" + t, 1 + random.nextInt(12), rf,
                    Map.of())));
            topics.add("t" + t);
        }
        int joined = random.nextInt(3);
        for (int b = initial; b < initial + joined; b++) {
            f.addLiveBroker(b, racks ? "r" + b % 3 : null, 0);
        }
        List<Integer> listed = new ArrayList<>();
        for (int b = 0; b < initial + joined; b++) {
            listed.add(b);
        }
        Collections.shuffle(listed, random);
        int maxRf = topics.stream().flatMap(t -> f.topic(t).partitions().values().stream())
                .mapToInt(p -> p.replicas().size()).max().orElse(1);
        listed = new ArrayList<>(listed.subList(0, maxRf + random.nextInt(listed.size() - maxRf + 1)));
        String where = "seed=" + seed + " listed=" + listed;

        Map<PartitionRef, List<Integer>> plan = MetadataController.planReassignment(f.image, topics, listed);
        Map<Integer, Integer> held = new HashMap<>();
        Map<Integer, Integer> after = new HashMap<>();
        listed.forEach(id -> {
            held.put(id, 0);
            after.put(id, 0);
        });
        int total = 0;
        int outside = 0;
        int moved = 0;
        Set<String> rackNames = new HashSet<>();
        listed.forEach(id -> rackNames.add(f.broker(id).rack().orElse("none" + id)));
        for (String name : topics) {
            TopicImage topic = f.topic(name);
            for (Map.Entry<Integer, PartitionRegistration> e : topic.partitions().entrySet()) {
                List<Integer> before = e.getValue().replicas();
                List<Integer> target = plan.getOrDefault(new PartitionRef(topic.id(), e.getKey()), before);
                assertEquals(before.size(), target.size(), where);
                assertEquals(target.size(), new HashSet<>(target).size(), where + " distinct " + target);
                assertTrue(listed.containsAll(target), where + " target " + target);
                total += before.size();
                for (int id : before) {
                    if (held.containsKey(id)) {
                        held.merge(id, 1, Integer::sum);
                    } else {
                        outside++;
                    }
                }
                moved += (int) target.stream().filter(id -> !before.contains(id)).count();
                target.forEach(id -> after.merge(id, 1, Integer::sum));
                if (racks) {
                    Set<String> used = new HashSet<>();
                    target.forEach(id -> used.add(f.broker(id).rack().orElseThrow()));
                    assertEquals(Math.min(target.size(), rackNames.size()), used.size(), where + " racks of " + target);
                }
            }
        }
        if (!racks) {
            int min = Collections.min(after.values());
            int max = Collections.max(after.values());
            assertTrue(max - min <= 1, where + " counts " + after);
            List<Integer> byHeld = new ArrayList<>(listed);
            byHeld.sort((a, b) -> held.get(a).equals(held.get(b)) ? Integer.compare(a, b)
                    : Integer.compare(held.get(b), held.get(a)));
            int minimum = outside;
            for (int i = 0; i < byHeld.size(); i++) {
                int quota = total / listed.size() + (i < total % listed.size() ? 1 : 0);
                minimum += Math.max(0, held.get(byHeld.get(i)) - quota);
            }
            // A replica on an unlisted broker may have to go to a broker already at its quota (all brokers
            // with room hold that partition), which then sheds one elsewhere: at most one extra move each.
            assertTrue(moved <= minimum + outside, where + " moved " + moved + " minimum " + minimum + " held " + held
                    + " after " + after);
            if (outside == 0) {
                assertEquals(minimum, moved, where + " held " + held + " after " + after);
            }
        }
    }
}

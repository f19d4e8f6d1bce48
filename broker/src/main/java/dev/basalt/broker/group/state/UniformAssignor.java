package dev.basalt.broker.group.state;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The {@code uniform} assignor: spreads partitions evenly over the members and is sticky — a
 * partition stays with its member across changes unless balance requires it to move, so a member
 * joining or leaving moves only about 1/N of the partitions (KIP-848's default assignor).
 *
 * <p>Method, in three passes over sorted collections (deterministic):
 * <ol>
 *   <li>keep each member's previous target partitions that still exist and that it still
 *       subscribes to;</li>
 *   <li>give every unowned partition (in topic, partition order) to the least-loaded member
 *       subscribed to its topic (ties by member id);</li>
 *   <li>while some member holds at least two partitions more than a member that could take one of
 *       them, move one (from the most-loaded donor, its highest partition a receiver subscribes to,
 *       to the least-loaded such receiver). With identical subscriptions this ends with every load
 *       within one of the others; with differing subscriptions it ends when no such move exists.</li>
 * </ol>
 * Each move strictly lowers the sum of squared loads, so pass 3 ends; it is also capped at the
 * partition count × member count moves as an assertion.
 *
 * <p>Stateless; thread-safe.
 */
public final class UniformAssignor implements Assignor {
    public static final String NAME = "uniform";
    public static final UniformAssignor INSTANCE = new UniformAssignor();

    private UniformAssignor() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public SortedMap<String, Assignment> assign(Spec spec) {
        SubscribedMembers start = SubscribedMembers.of(spec);
        Map<String, TreeSet<PartitionKey>> held = start.held();
        Map<String, List<String>> subscribers = start.subscribers();
        Map<PartitionKey, String> owner = new TreeMap<>();
        // pass 1: stickiness
        spec.members().forEach((id, m) -> {
            for (PartitionKey p : m.currentTarget()) {
                int count = spec.topics().partitionCount(p.topic());
                if (p.partition() < count && m.subscribedTopics().contains(p.topic()) && !owner.containsKey(p)) {
                    owner.put(p, id);
                    held.get(id).add(p);
                }
            }
        });
        // pass 2: unowned partitions to the least loaded eligible member
        subscribers.forEach((topic, ids) -> {
            int count = spec.topics().partitionCount(topic);
            for (int i = 0; i < count; i++) {
                PartitionKey p = new PartitionKey(topic, i);
                if (!owner.containsKey(p)) {
                    String to = leastLoaded(ids, held, null);
                    owner.put(p, to);
                    held.get(to).add(p);
                }
            }
        });
        // pass 3: balance
        long movesMax = (long) owner.size() * Math.max(1, held.size());
        long moves = 0;
        while (moveOne(held, subscribers)) {
            if (++moves > movesMax) {
                throw new IllegalStateException("uniform assignor did not converge after " + moves + " moves");
            }
        }
        SortedMap<String, Assignment> out = new TreeMap<>();
        held.forEach((id, ps) -> out.put(id, Assignment.of(ps)));
        return out;
    }

    private static String leastLoaded(List<String> ids, Map<String, TreeSet<PartitionKey>> held, String except) {
        String best = null;
        int bestLoad = Integer.MAX_VALUE;
        for (String id : ids) {
            int load = held.get(id).size();
            if (!id.equals(except) && load < bestLoad) {
                best = id;
                bestLoad = load;
            }
        }
        return best;
    }

    /** One balancing move, or false when none improves the balance. */
    private static boolean moveOne(Map<String, TreeSet<PartitionKey>> held, Map<String, List<String>> subscribers) {
        List<String> donors = new ArrayList<>(held.keySet());
        // most loaded first; the sort is stable, so ties stay in member id order
        donors.sort((a, b) -> Integer.compare(held.get(b).size(), held.get(a).size()));
        for (String donor : donors) {
            int donorLoad = held.get(donor).size();
            if (donorLoad < 2) {
                return false;
            }
            PartitionKey bestPartition = null;
            String bestReceiver = null;
            int bestLoad = donorLoad - 1;
            String lastTopic = null;
            String topicReceiver = null;
            for (PartitionKey p : held.get(donor).descendingSet()) {
                if (!p.topic().equals(lastTopic)) {
                    lastTopic = p.topic();
                    topicReceiver = leastLoaded(subscribers.get(p.topic()), held, donor);
                }
                if (topicReceiver != null && held.get(topicReceiver).size() < bestLoad) {
                    bestLoad = held.get(topicReceiver).size();
                    bestReceiver = topicReceiver;
                    bestPartition = p;
                }
            }
            if (bestPartition != null) {
                held.get(donor).remove(bestPartition);
                held.get(bestReceiver).add(bestPartition);
                return true;
            }
        }
        return false;
    }
}

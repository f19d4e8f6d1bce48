package dev.basalt.broker.group.state;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The {@code range} assignor: per topic, the subscribers in a stable order each take one
 * contiguous range of partitions (the first {@code count % members} take one extra), as Kafka's
 * range assignor does. Co-partitioned topics (same partition count, same subscribers) give the
 * same partition numbers to the same member, which joins need. Not sticky: a membership change
 * can shift every range.
 *
 * <p>Members are ordered by {@code group.instance.id} when they have one (so a restarted static
 * member gets its old ranges back), then by member id.
 *
 * <p>Stateless; thread-safe.
 */
public final class RangeAssignor implements Assignor {
    public static final String NAME = "range";
    public static final RangeAssignor INSTANCE = new RangeAssignor();

    private RangeAssignor() {
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
        Comparator<String> order = Comparator.comparing((String id) -> spec.members().get(id).instanceId() == null ? 1 : 0)
                .thenComparing(id -> {
                    String instance = spec.members().get(id).instanceId();
                    return instance == null ? "" : instance;
                })
                .thenComparing(id -> id);
        subscribers.forEach((topic, ids) -> {
            ids.sort(order);
            int count = spec.topics().partitionCount(topic);
            int n = ids.size();
            int base = count / n;
            int extra = count % n;
            int next = 0;
            for (int i = 0; i < n; i++) {
                int size = base + (i < extra ? 1 : 0);
                for (int k = 0; k < size; k++) {
                    held.get(ids.get(i)).add(new PartitionKey(topic, next++));
                }
            }
        });
        SortedMap<String, Assignment> out = new TreeMap<>();
        held.forEach((id, ps) -> out.put(id, Assignment.of(ps)));
        return out;
    }
}

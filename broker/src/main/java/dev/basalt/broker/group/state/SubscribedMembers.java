package dev.basalt.broker.group.state;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What every assignor starts from: an empty target per member, and per existing topic the members
 * subscribed to it (in member-id order). Topics that do not exist are left out.
 *
 * <p>Immutable once built; pure.
 */
record SubscribedMembers(Map<String, TreeSet<PartitionKey>> held, Map<String, List<String>> subscribers) {

    static SubscribedMembers of(Assignor.Spec spec) {
        Map<String, TreeSet<PartitionKey>> held = new TreeMap<>();
        Map<String, List<String>> subscribers = new TreeMap<>();
        spec.members().forEach((id, m) -> {
            held.put(id, new TreeSet<>());
            for (String t : m.subscribedTopics()) {
                if (spec.topics().partitionCount(t) >= 0) {
                    subscribers.computeIfAbsent(t, x -> new ArrayList<>()).add(id);
                }
            }
        });
        return new SubscribedMembers(held, subscribers);
    }
}

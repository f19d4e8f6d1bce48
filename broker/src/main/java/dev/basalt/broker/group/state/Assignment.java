package dev.basalt.broker.group.state;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A set of partitions, grouped by topic: what a member is assigned, what it must revoke, what the
 * target assignment gives it. Topics and partitions iterate in order, so records and answers built
 * from an assignment are deterministic. Never holds a topic with no partitions.
 *
 * <p>Immutable value (set algebra returns new instances); thread-safe.
 */
public final class Assignment implements Iterable<PartitionKey> {
    public static final Assignment EMPTY = new Assignment(new TreeSet<>());

    private final NavigableSet<PartitionKey> partitions;

    private Assignment(NavigableSet<PartitionKey> partitions) {
        this.partitions = Collections.unmodifiableNavigableSet(partitions);
    }

    public static Assignment of(Collection<PartitionKey> partitions) {
        if (partitions.isEmpty()) {
            return EMPTY;
        }
        return new Assignment(new TreeSet<>(partitions));
    }

    public static Assignment of(PartitionKey... partitions) {
        return of(List.of(partitions));
    }

    /** An assignment from topic → partition numbers. */
    public static Assignment ofTopics(Map<String, ? extends Collection<Integer>> byTopic) {
        TreeSet<PartitionKey> set = new TreeSet<>();
        byTopic.forEach((topic, ps) -> ps.forEach(p -> set.add(new PartitionKey(topic, p))));
        return set.isEmpty() ? EMPTY : new Assignment(set);
    }

    public boolean contains(PartitionKey p) {
        return partitions.contains(p);
    }

    public boolean isEmpty() {
        return partitions.isEmpty();
    }

    public int size() {
        return partitions.size();
    }

    public NavigableSet<PartitionKey> partitions() {
        return partitions;
    }

    /** Topic → sorted partition numbers. */
    public SortedMap<String, SortedSet<Integer>> byTopic() {
        SortedMap<String, SortedSet<Integer>> out = new TreeMap<>();
        for (PartitionKey p : partitions) {
            out.computeIfAbsent(p.topic(), t -> new TreeSet<>()).add(p.partition());
        }
        return out;
    }

    public Assignment union(Assignment o) {
        if (o.isEmpty()) {
            return this;
        }
        if (isEmpty()) {
            return o;
        }
        TreeSet<PartitionKey> s = new TreeSet<>(partitions);
        s.addAll(o.partitions);
        return new Assignment(s);
    }

    public Assignment minus(Assignment o) {
        if (o.isEmpty() || isEmpty()) {
            return this;
        }
        TreeSet<PartitionKey> s = new TreeSet<>(partitions);
        s.removeAll(o.partitions);
        return of(s);
    }

    public Assignment intersect(Assignment o) {
        if (o.isEmpty() || isEmpty()) {
            return EMPTY;
        }
        TreeSet<PartitionKey> s = new TreeSet<>(partitions);
        s.retainAll(o.partitions);
        return of(s);
    }

    public boolean intersects(Assignment o) {
        for (PartitionKey p : o.partitions) {
            if (partitions.contains(p)) {
                return true;
            }
        }
        return false;
    }

    public boolean containsAll(Assignment o) {
        return partitions.containsAll(o.partitions);
    }

    /** Only the partitions of topics the predicate keeps. */
    public Assignment filter(java.util.function.Predicate<PartitionKey> keep) {
        List<PartitionKey> out = new ArrayList<>();
        for (PartitionKey p : partitions) {
            if (keep.test(p)) {
                out.add(p);
            }
        }
        return out.size() == partitions.size() ? this : of(out);
    }

    @Override
    public Iterator<PartitionKey> iterator() {
        return partitions.iterator();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Assignment a && a.partitions.equals(partitions);
    }

    @Override
    public int hashCode() {
        return partitions.hashCode();
    }

    @Override
    public String toString() {
        return byTopic().toString();
    }
}

package dev.basalt.broker.group.state;

import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The topics that exist, with their partition counts: the only metadata the group logic needs.
 * The coordinator builds one from the broker's metadata image (internal topics left out of
 * regex matches); tests and the simulation build them by hand.
 *
 * <p>Immutable value; thread-safe.
 */
public final class TopicsView {
    public static final TopicsView EMPTY = new TopicsView(new TreeMap<>());

    private final SortedMap<String, Integer> partitionCounts;

    private TopicsView(SortedMap<String, Integer> partitionCounts) {
        this.partitionCounts = Collections.unmodifiableSortedMap(partitionCounts);
    }

    public static TopicsView of(Map<String, Integer> partitionCounts) {
        TreeMap<String, Integer> m = new TreeMap<>();
        partitionCounts.forEach((t, n) -> {
            if (n < 0) {
                throw new IllegalArgumentException("topic " + t + " has " + n + " partitions");
            }
            m.put(t, n);
        });
        return new TopicsView(m);
    }

    /** Partition count of the topic, or -1 when it does not exist. */
    public int partitionCount(String topic) {
        Integer n = partitionCounts.get(topic);
        return n == null ? -1 : n;
    }

    public SortedMap<String, Integer> partitionCounts() {
        return partitionCounts;
    }

    /** Whether a regex subscription may match the topic: internal topics ({@code __*}) never match. */
    static boolean matchableByRegex(String topic) {
        return !dev.basalt.common.TopicNames.isInternal(topic);
    }

    /** Existing, non-internal topics whose whole name matches the pattern. */
    public SortedMap<String, Integer> matching(Pattern pattern) {
        SortedMap<String, Integer> out = new TreeMap<>();
        partitionCounts.forEach((t, n) -> {
            if (matchableByRegex(t) && pattern.matcher(t).matches()) {
                out.put(t, n);
            }
        });
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TopicsView v && v.partitionCounts.equals(partitionCounts);
    }

    @Override
    public int hashCode() {
        return partitionCounts.hashCode();
    }

    @Override
    public String toString() {
        return partitionCounts.toString();
    }
}

package dev.basalt.broker.group.state;

import java.util.Comparator;
import java.util.Objects;

/**
 * One partition of one topic, as the group logic names it (by topic name: the coordinator removes a
 * deleted topic's offsets and assignments, so a re-created topic of the same name starts afresh).
 * Ordered by topic, then partition, so every map keyed by it iterates deterministically.
 *
 * <p>Immutable value; thread-safe.
 */
public record PartitionKey(String topic, int partition) implements Comparable<PartitionKey> {
    private static final Comparator<PartitionKey> ORDER =
            Comparator.comparing(PartitionKey::topic).thenComparingInt(PartitionKey::partition);

    public PartitionKey {
        Objects.requireNonNull(topic, "topic");
        if (topic.isEmpty()) {
            throw new IllegalArgumentException("empty topic name");
        }
        if (partition < 0) {
            throw new IllegalArgumentException("partition " + partition + " < 0");
        }
    }

    @Override
    public int compareTo(PartitionKey o) {
        return ORDER.compare(this, o);
    }

    @Override
    public String toString() {
        return topic + "-" + partition;
    }
}

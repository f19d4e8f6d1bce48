package dev.basalt.client.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * Sticky partitioning for records without a key (KIP-480): all keyless records of a topic go to
 * one partition until its batch is full or sent, then the producer moves to another partition
 * chosen at random among those with a leader (never the same one again when there are others).
 * Sticking fills batches instead of spreading single records over many half-empty batches.
 *
 * <p>Thread-safety: thread-safe; the random generator is used under {@code this}.
 */
public final class StickyPartitionCache {
    private final Map<String, Integer> current = new ConcurrentHashMap<>();
    private final RandomGenerator random;

    public StickyPartitionCache(RandomGenerator random) {
        this.random = random;
    }

    /** The topic's sticky partition, choosing one if there is none yet. */
    public int partition(Cluster.TopicInfo topic, Cluster cluster) {
        Integer p = current.get(topic.name());
        if (p != null && p < topic.partitionCount()) {
            return p;
        }
        return nextPartition(topic, cluster, -1);
    }

    /**
     * Moves away from {@code previous} (its batch is full or was sent). Concurrent callers that
     * saw the same previous partition all end on the same new one.
     */
    public synchronized int nextPartition(Cluster.TopicInfo topic, Cluster cluster, int previous) {
        Integer now = current.get(topic.name());
        if (now != null && now != previous && now < topic.partitionCount()) {
            return now;
        }
        List<Integer> candidates = new ArrayList<>();
        for (Cluster.PartitionInfo p : topic.partitions()) {
            if (cluster.broker(p.leaderId()) != null && p.partition() != previous) {
                candidates.add(p.partition());
            }
        }
        int next;
        if (!candidates.isEmpty()) {
            next = candidates.get(random.nextInt(candidates.size()));
        } else if (topic.partitionCount() == 1 || previous < 0) {
            next = random.nextInt(topic.partitionCount());
        } else {
            // no partition has a leader: rotate anyway, the batch waits for metadata there
            next = (previous + 1 + random.nextInt(topic.partitionCount() - 1)) % topic.partitionCount();
        }
        current.put(topic.name(), next);
        return next;
    }
}

package dev.basalt.client.internal;

import dev.basalt.client.TopicPartition;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * What a consumer reads: its assigned partitions and, per partition, the position (the next offset
 * to read), a pending offset reset, whether it is paused, and what the last fetch told about the
 * log and where to read from. One job: the consumer's bookkeeping per partition; fetching and
 * record decoding live in {@link FetchCollector}, group membership beside it.
 *
 * <p>Thread-safety: not thread-safe; confined to the consumer's one user thread.
 */
public final class SubscriptionState {
    /** auto.offset.reset, or the reset a seekToBeginning/seekToEnd asked for. */
    public enum ResetPolicy { EARLIEST, LATEST, NONE }

    /** One assigned partition. Fields are the consumer's to read and write on its thread. */
    public static final class PartitionState {
        /** The next offset to read; null until looked up (committed offset or reset). */
        public Long position;
        /**
         * The group's committed offset must be looked up before {@code auto.offset.reset} may
         * apply: set when a consumer with a group.id gets the partition, cleared once the lookup
         * answered (with an offset or none committed) or the application positioned it. A lookup
         * that fails leaves it set and the partition unread, rather than reset past the commit.
         */
        public boolean awaitingCommitted;
        public ResetPolicy pendingReset;
        public boolean paused;
        public long highWatermark = -1;
        public long logStartOffset = -1;
        /** KIP-392: the follower the leader told us to read from, -1 = the leader; valid until preferredUntilMs. */
        public int preferredReplica = -1;
        public long preferredUntilMs;
        /** After a retriable error: no fetch before this time unless the metadata shows a leader epoch above failedLeaderEpoch. */
        public long fetchBackoffUntilMs;
        public int failedLeaderEpoch = -1;
        /** The offset whose fetch answered CORRUPT_STORED_DATA, since when (monotonic ms); -1 = none. */
        public long corruptOffset = -1;
        public long corruptSinceMs;
        /**
         * The position at which a batch this consumer was sent failed its CRC, -1 = none: fetches
         * of the partition ask the broker to check its copy (verify_checksums) until the position
         * is past it. A second failure there is the consumer's error.
         */
        public long crcFailedAt = -1;
        /**
         * The topic id a fetch at the position was last answered for (confirmed by the broker),
         * null until one was: a topic deleted and created again under the same name has another
         * id, and a position in the old one means nothing in the new one (see
         * Consumer#checkTopicIds). {@code fetchTopicId} is the id the fetch in flight carries;
         * {@code topicGone}, that a fetch carrying the confirmed id was answered UNKNOWN_TOPIC_ID or
         * UNKNOWN_TOPIC, or one carrying another id of the same name was answered at all.
         */
        public String topicId;
        public String fetchTopicId;
        public boolean topicGone;
    }

    private final Map<TopicPartition, PartitionState> assigned = new LinkedHashMap<>();

    /**
     * Replaces the assignment: partitions kept keep their state, new ones start without a position.
     *
     * @return the partitions no longer assigned
     */
    public Set<TopicPartition> assign(Collection<TopicPartition> wanted) {
        Set<TopicPartition> removed = new LinkedHashSet<>(assigned.keySet());
        removed.removeAll(wanted);
        assigned.keySet().retainAll(wanted);
        for (TopicPartition tp : wanted) {
            assigned.computeIfAbsent(tp, k -> new PartitionState());
        }
        return removed;
    }

    public Set<TopicPartition> partitions() {
        return assigned.keySet();
    }

    public Set<Map.Entry<TopicPartition, PartitionState>> entries() {
        return assigned.entrySet();
    }

    /**
     * Puts the partition last in the order fetches ask for partitions (a fetch answer fills its
     * byte limit with the partitions asked for first), after records of it were delivered, so
     * that a backlog on every partition is served in turn (as Kafka's movePartitionToEnd).
     */
    public void moveToEnd(TopicPartition tp) {
        PartitionState s = assigned.remove(tp);
        if (s != null) {
            assigned.put(tp, s);
        }
    }

    /** The partition's state, or null when it is not assigned. */
    public PartitionState get(TopicPartition tp) {
        return assigned.get(tp);
    }

    /** The partition's state; a partition not assigned is the caller's error. */
    public PartitionState state(TopicPartition tp) {
        PartitionState s = assigned.get(tp);
        if (s == null) {
            throw new IllegalStateException("partition " + tp + " is not assigned to this consumer");
        }
        return s;
    }

    public void seek(TopicPartition tp, long offset) {
        PartitionState s = state(tp);
        s.position = offset;
        s.awaitingCommitted = false;
        s.pendingReset = null;
        s.crcFailedAt = -1; // moved by the application: a failure seen elsewhere is asked about again
        s.topicId = null; // a position in the topic as it is now: confirmed by the next fetch
        s.topicGone = false;
    }

    public void requestReset(TopicPartition tp, ResetPolicy reset) {
        PartitionState s = state(tp);
        s.position = null;
        s.awaitingCommitted = false;
        s.pendingReset = reset;
        s.crcFailedAt = -1;
        s.topicId = null;
        s.topicGone = false;
    }

    public void setPaused(TopicPartition tp, boolean paused) {
        state(tp).paused = paused;
    }

    public Set<TopicPartition> paused() {
        Set<TopicPartition> out = new LinkedHashSet<>();
        assigned.forEach((tp, s) -> {
            if (s.paused) {
                out.add(tp);
            }
        });
        return out;
    }

    /** Positions of the partitions that have one. */
    public Map<TopicPartition, Long> positions() {
        Map<TopicPartition, Long> out = new LinkedHashMap<>();
        assigned.forEach((tp, s) -> {
            if (s.position != null) {
                out.put(tp, s.position);
            }
        });
        return out;
    }
}

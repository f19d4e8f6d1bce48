package dev.basalt.client.internal;

import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.CorruptRecordException;
import dev.basalt.client.SerializationException;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.Deserializer;
import dev.basalt.record.Record;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fetched answers a consumer holds and their delivery: per partition at most
 * {@link #BUFFERS_PER_PARTITION_MAX} answers in offset order (the one being delivered and the one
 * fetched ahead), decoded into {@link ConsumerRecord}s at the partition's position as
 * {@code poll} asks. One job: buffered data and its decoding; positions live in
 * {@link SubscriptionState}.
 *
 * <p>Thread-safety: not thread-safe; confined to the consumer's one user thread.
 */
public final class FetchCollector<K, V> {
    /** The answer being delivered plus one fetched ahead. */
    public static final int BUFFERS_PER_PARTITION_MAX = 2;
    /** Records decoded between two looks for arrived answers while a poll collects. */
    public static final int RECORDS_BETWEEN_FETCH_CHECKS = 1000;

    /** Work to do between collection steps (take arrived answers, send the fetches they free). */
    public interface Pump {
        void run() throws InterruptedException;
    }

    private final Deserializer<K> keyDeserializer;
    private final Deserializer<V> valueDeserializer;
    /** Per partition, answers in offset order: the head is being delivered, the next follows it. */
    private final Map<TopicPartition, ArrayDeque<FetchBuffer>> buffered = new LinkedHashMap<>();

    public FetchCollector(Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
        this.keyDeserializer = keyDeserializer;
        this.valueDeserializer = valueDeserializer;
    }

    /** Drops what is buffered for the partition (seek, reset, revocation). */
    public void drop(TopicPartition tp) {
        buffered.remove(tp);
    }

    /** Keeps only the buffers of these partitions. */
    public void retain(Collection<TopicPartition> partitions) {
        buffered.keySet().retainAll(partitions);
    }

    public void add(TopicPartition tp, FetchBuffer buffer) {
        buffered.computeIfAbsent(tp, k -> new ArrayDeque<>(BUFFERS_PER_PARTITION_MAX)).addLast(buffer);
    }

    /**
     * The offset the next fetch of this partition asks for: its position when nothing is
     * buffered, the end of the buffered batches when one answer is, none (-1) when the partition
     * already holds {@value #BUFFERS_PER_PARTITION_MAX} answers.
     */
    public long nextFetchOffset(TopicPartition tp, SubscriptionState.PartitionState s) {
        ArrayDeque<FetchBuffer> q = buffered.get(tp);
        if (q == null || q.isEmpty()) {
            return s.position;
        }
        if (q.size() >= BUFFERS_PER_PARTITION_MAX) {
            return -1;
        }
        long end = q.peekLast().coveredEndOffset();
        return end > s.position ? end : -1;
    }

    /**
     * Takes up to {@code maxRecords} records from the buffered fetches of unpaused partitions,
     * advancing their positions. Every {@value #RECORDS_BETWEEN_FETCH_CHECKS} records (and between
     * partitions) it runs the pump, so that a large poll does not leave the broker idle until it
     * returns.
     */
    public Map<TopicPartition, List<ConsumerRecord<K, V>>> collect(SubscriptionState subscriptions, int maxRecords, Pump pump)
            throws InterruptedException {
        Map<TopicPartition, List<ConsumerRecord<K, V>>> out = new LinkedHashMap<>();
        int room = maxRecords;
        // a snapshot: answers taken while collecting may add partitions (delivered by the next poll)
        for (TopicPartition tp : new ArrayList<>(buffered.keySet())) {
            if (room <= 0) {
                break;
            }
            ArrayDeque<FetchBuffer> queue = buffered.get(tp);
            SubscriptionState.PartitionState s = subscriptions.get(tp);
            if (queue == null || s == null || s.position == null) {
                buffered.remove(tp);
                continue;
            }
            if (s.paused) {
                continue;
            }
            List<ConsumerRecord<K, V>> list = new ArrayList<>();
            int roomBefore = room;
            try {
                // Bounded: each pass adds at least one record or removes one of at most two buffers
                // (an answer taken meanwhile can add one only while fewer than two are buffered).
                while (!queue.isEmpty() && room > 0 && s.position != null) {
                    int before = list.size();
                    if (drainInto(tp, queue.peekFirst(), s, list, before + Math.min(room, RECORDS_BETWEEN_FETCH_CHECKS))) {
                        queue.pollFirst();
                    }
                    room -= list.size() - before;
                    pump.run();
                }
            } catch (CorruptRecordException | SerializationException e) {
                // The position stands at the record that failed (every record before it is in
                // `list` or `out`). Found probing: throwing here lost those records, whose
                // positions had moved on, and the next poll went on after the bad batch. Now this
                // poll delivers them; the buffered answers go, so the next poll fetches from the bad
                // record again (from the leader: a follower may hold the damaged copy), and throws
                // there as long as it fails.
                buffered.remove(tp);
                s.preferredReplica = -1;
                room = roomBefore - list.size(); // drainInto may have added records before it threw
                if (!list.isEmpty()) {
                    out.put(tp, list);
                }
                if (e instanceof CorruptRecordException && s.position != null && s.crcFailedAt != s.position) {
                    // Found probing: bytes flipped in the leader's segment failed every poll until
                    // its scrubber reached them (hours on a large disk) while two followers held good
                    // copies. The next fetch asks the broker to check its copy: a bad one is taken
                    // out of service and the read goes to a healthy replica (CORRUPT_STORED_DATA,
                    // retried). Thrown only if the batch fails here again after that check.
                    s.crcFailedAt = s.position;
                    continue;
                }
                if (out.isEmpty()) {
                    throw e;
                }
                return out;
            }
            if (s.crcFailedAt >= 0 && s.position != null && s.position > s.crcFailedAt) {
                s.crcFailedAt = -1; // read past it: the broker's checks are no longer asked for
            }
            if (!list.isEmpty()) {
                out.put(tp, list);
                subscriptions.moveToEnd(tp); // and last in the next fetches
            }
            buffered.remove(tp);
            if (!queue.isEmpty()) {
                // To the back of the line: with a backlog everywhere, the partition first in line
                // was refilled before it emptied and took every poll (found probing: 40 polls of
                // 500 returned 20,000 records of one partition of six). Kafka rotates the same way.
                buffered.put(tp, queue);
            }
        }
        return out;
    }

    /** Moves records of one buffer into list; returns true when the buffer is used up. */
    private boolean drainInto(TopicPartition tp, FetchBuffer buf, SubscriptionState.PartitionState s, List<ConsumerRecord<K, V>> list,
                              int room) {
        while (list.size() < room) {
            Record r;
            try {
                r = buf.next(s.position);
            } catch (dev.basalt.record.CorruptRecordException e) {
                throw new CorruptRecordException("fetched batch of " + tp + " at position " + s.position + " is corrupt: "
                        + e.getMessage(), e);
            }
            if (r == null) {
                s.position = Math.max(s.position, buf.endOffset());
                return true;
            }
            list.add(toConsumerRecord(tp, r, buf));
            s.position = r.offset() + 1;
            if (buf.currentBatchDone()) {
                s.position = Math.max(s.position, buf.currentBatch().nextOffset());
            }
        }
        return false;
    }

    private ConsumerRecord<K, V> toConsumerRecord(TopicPartition tp, Record r, FetchBuffer buf) {
        byte[] key = r.hasKey() ? r.keyBytes() : null;
        byte[] value = r.isTombstone() ? null : r.valueBytes();
        K k;
        V v;
        try {
            k = keyDeserializer.deserialize(tp.topic(), key);
            v = valueDeserializer.deserialize(tp.topic(), value);
        } catch (SerializationException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new SerializationException("cannot deserialize the record at offset " + r.offset() + " of " + tp + ": " + e, e);
        }
        boolean logAppend = buf.currentBatch().timestampType() == dev.basalt.record.TimestampType.LOG_APPEND_TIME;
        // with log-append time the broker stamps the batch's max timestamp; records keep their create deltas
        long timestamp = logAppend ? buf.currentBatch().maxTimestamp() : r.timestamp();
        return new ConsumerRecord<>(tp.topic(), tp.partition(), r.offset(), timestamp, logAppend,
                key == null ? -1 : key.length, value == null ? -1 : value.length, k, v, r.headers());
    }
}

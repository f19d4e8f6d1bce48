package dev.basalt.client;

import dev.basalt.record.Header;
import java.util.List;

/**
 * A record as consumed: where it lives (topic, partition, offset), its timestamp and its
 * deserialized key and value.
 *
 * <p>Immutable value; thread-safe if K and V are.
 */
public record ConsumerRecord<K, V>(String topic, int partition, long offset, long timestamp,
                                   boolean logAppendTime, int serializedKeySize, int serializedValueSize,
                                   K key, V value, List<Header> headers) {
    public TopicPartition topicPartition() {
        return new TopicPartition(topic, partition);
    }
}

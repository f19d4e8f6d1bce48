package dev.basalt.client;

import dev.basalt.record.Header;
import java.util.List;
import java.util.Objects;

/**
 * A record to send: topic, optional partition (null = chosen by the partitioner), optional
 * timestamp (null = the producer's clock at send), key and value (either may be null; a null
 * value is a tombstone on compacted topics), and headers.
 *
 * <p>Immutable value; thread-safe if K and V are.
 */
public record ProducerRecord<K, V>(String topic, Integer partition, Long timestamp, K key, V value, List<Header> headers) {
    public ProducerRecord {
        Objects.requireNonNull(topic, "topic");
        if (partition != null && partition < 0) {
            throw new IllegalArgumentException("partition must be >= 0, got " + partition);
        }
        if (timestamp != null && timestamp < 0) {
            throw new IllegalArgumentException("timestamp must be >= 0, got " + timestamp);
        }
        headers = headers == null ? List.of() : List.copyOf(headers);
    }

    public ProducerRecord(String topic, K key, V value) {
        this(topic, null, null, key, value, List.of());
    }

    public ProducerRecord(String topic, V value) {
        this(topic, null, null, null, value, List.of());
    }

    public ProducerRecord(String topic, Integer partition, K key, V value) {
        this(topic, partition, null, key, value, List.of());
    }
}

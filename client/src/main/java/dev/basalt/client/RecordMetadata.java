package dev.basalt.client;

/**
 * Where an acknowledged record was written. With {@code acks=0} the offset is unknown (-1).
 *
 * @param offset              the record's offset, or -1 with acks=0
 * @param timestamp           the record's timestamp (create time, or the broker's log append
 *                            time when the topic uses it)
 * @param serializedKeySize   bytes of the serialized key, -1 for a null key
 * @param serializedValueSize bytes of the serialized value, -1 for a null value
 *
 * <p>Immutable value; thread-safe.
 */
public record RecordMetadata(TopicPartition topicPartition, long offset, long timestamp,
                             int serializedKeySize, int serializedValueSize) {
    public String topic() {
        return topicPartition.topic();
    }

    public int partition() {
        return topicPartition.partition();
    }

    public boolean hasOffset() {
        return offset >= 0;
    }
}

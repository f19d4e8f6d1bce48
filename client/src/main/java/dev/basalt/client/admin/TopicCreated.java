package dev.basalt.client.admin;

/** A created (or, with validateOnly, validated) topic; topicId is empty when validateOnly. Immutable. */
public record TopicCreated(String name, String topicId, int partitions, int replicationFactor) {
}

package dev.basalt.client.admin;

/** A topic as listed. Immutable. */
public record TopicListing(String name, String topicId, boolean internal, int partitionCount) {
}

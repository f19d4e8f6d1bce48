package dev.basalt.client;

import java.util.Map;

/** The outcome of {@link Consumer#commitAsync}, called on the thread calling {@link Consumer#poll}. */
@FunctionalInterface
public interface OffsetCommitCallback {
    /** @param exception null on success */
    void onComplete(Map<TopicPartition, OffsetAndMetadata> offsets, Exception exception);
}

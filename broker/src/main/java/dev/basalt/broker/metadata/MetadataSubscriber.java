package dev.basalt.broker.metadata;

/**
 * Receives metadata changes from the {@code MetadataPublisher}, on the publisher's one thread, in
 * log order (intermediate images may be skipped: each update's {@code previous} is the image the
 * subscriber saw last, so nothing is lost by skipping). A subscriber that throws is reported and
 * sees the next update with the same {@code previous}: it must be able to retry.
 */
@FunctionalInterface
public interface MetadataSubscriber {
    void onMetadataUpdate(MetadataUpdate update);
}

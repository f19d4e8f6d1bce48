package dev.basalt.broker.metadata;

import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * One step of the metadata a subscriber sees: the image it saw last ({@code previous}), the image
 * now ({@code image}), and what changed between them. Subscribers act on the changes only.
 *
 * <p>Changes are found by identity: {@code MetadataDelta.apply()} reuses every untouched
 * sub-image, so a topic whose {@link TopicImage} object is the same in both images did not change,
 * and a partition whose registration object is the same did not change. The cost is one reference
 * comparison per topic (and per partition of a changed topic), never a re-parse of configs.
 *
 * <p>Immutable and thread-safe.
 *
 * @param previous     the image the subscriber saw before (EMPTY at first)
 * @param image        the image now
 * @param appliedIndex the metadata log index {@code image} holds
 * @param caughtUp     true once this node's image holds everything the quorum had committed when
 *                     the node started (before that, a topic missing from the image may simply not
 *                     have been replayed yet, so nothing may be deleted on its account)
 */
public record MetadataUpdate(MetadataImage previous, MetadataImage image, long appliedIndex, boolean caughtUp) {
    public MetadataUpdate {
        Objects.requireNonNull(previous, "previous");
        Objects.requireNonNull(image, "image");
    }

    /** A partition of a topic that was created or changed, with its registration now. */
    public record PartitionChange(TopicImage topic, int partition, PartitionRegistration registration) {
    }

    /** Topics present now whose image object differs from before (new or changed). */
    public List<TopicImage> changedTopics() {
        List<TopicImage> out = new ArrayList<>();
        Map<UUID, TopicImage> before = previous.topics().topicsById();
        for (TopicImage t : image.topics().topicsById().values()) {
            if (before.get(t.id()) != t) {
                out.add(t);
            }
        }
        return out;
    }

    /** Topics that were in the previous image and are gone now (deleted). */
    public List<TopicImage> removedTopics() {
        List<TopicImage> out = new ArrayList<>();
        Map<UUID, TopicImage> now = image.topics().topicsById();
        for (TopicImage t : previous.topics().topicsById().values()) {
            if (!now.containsKey(t.id())) {
                out.add(t);
            }
        }
        return out;
    }

    /** Every partition created or changed (leader, ISR, replicas, epochs) since {@code previous}. */
    public List<PartitionChange> changedPartitions() {
        List<PartitionChange> out = new ArrayList<>();
        Map<UUID, TopicImage> before = previous.topics().topicsById();
        for (TopicImage t : changedTopics()) {
            TopicImage old = before.get(t.id());
            for (Map.Entry<Integer, PartitionRegistration> e : t.partitions().entrySet()) {
                PartitionRegistration was = old == null ? null : old.partitions().get(e.getKey());
                if (was == null || !was.equals(e.getValue())) {
                    out.add(new PartitionChange(t, e.getKey(), e.getValue()));
                }
            }
        }
        return out;
    }

    /** Whether the configuration of {@code resource} changed. */
    public boolean configChanged(ConfigResource resource) {
        return !previous.configs().configs(resource).equals(image.configs().configs(resource));
    }

    /** Whether any broker registration, fence or unfence happened. */
    public boolean clusterChanged() {
        return previous.cluster() != image.cluster();
    }
}

package dev.basalt.metadata.image;

import dev.basalt.proto.v1.MetadataRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The whole cluster metadata at one point of the metadata log: brokers, topics and partitions,
 * configuration overrides, producer ids and the quorum's voters. Immutable, final and thread-safe:
 * brokers read the latest published image without locks. The only way to get a new image is
 * {@code MetadataDelta.replay(record)} then {@code apply()}, which shares every sub-image the delta
 * did not touch.
 */
public final class MetadataImage {
    public static final MetadataImage EMPTY = new MetadataImage(ClusterImage.EMPTY, TopicsImage.EMPTY,
            ConfigurationsImage.EMPTY, ProducerIdsImage.EMPTY, QuorumImage.EMPTY);

    private final ClusterImage cluster;
    private final TopicsImage topics;
    private final ConfigurationsImage configs;
    private final ProducerIdsImage producerIds;
    private final QuorumImage quorum;

    public MetadataImage(ClusterImage cluster, TopicsImage topics, ConfigurationsImage configs,
                         ProducerIdsImage producerIds, QuorumImage quorum) {
        this.cluster = Objects.requireNonNull(cluster, "cluster");
        this.topics = Objects.requireNonNull(topics, "topics");
        this.configs = Objects.requireNonNull(configs, "configs");
        this.producerIds = Objects.requireNonNull(producerIds, "producerIds");
        this.quorum = Objects.requireNonNull(quorum, "quorum");
    }

    public ClusterImage cluster() {
        return cluster;
    }

    public TopicsImage topics() {
        return topics;
    }

    public ConfigurationsImage configs() {
        return configs;
    }

    public ProducerIdsImage producerIds() {
        return producerIds;
    }

    public QuorumImage quorum() {
        return quorum;
    }

    public boolean isEmpty() {
        return equals(EMPTY);
    }

    /**
     * The records that rebuild this image when replayed into {@link #EMPTY}, in a deterministic order:
     * voters, brokers, each topic (with its configs) followed by its partitions, broker configs,
     * producer ids. This is what a snapshot holds.
     */
    public List<MetadataRecord> toRecords() {
        List<MetadataRecord> records = new ArrayList<>();
        toRecords(records::add);
        return records;
    }

    public void toRecords(Consumer<MetadataRecord> out) {
        quorum.toRecords(out);
        cluster.toRecords(out);
        for (TopicImage topic : topics.topicsById().values()) {
            topic.toRecords(configs.configs(ConfigResource.topic(topic.name())), out);
        }
        configs.toRecords(out);
        producerIds.toRecords(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetadataImage m && cluster.equals(m.cluster) && topics.equals(m.topics)
                && configs.equals(m.configs) && producerIds.equals(m.producerIds) && quorum.equals(m.quorum);
    }

    @Override
    public int hashCode() {
        return Objects.hash(cluster, topics, configs, producerIds, quorum);
    }

    @Override
    public String toString() {
        return "MetadataImage(" + cluster + ", " + topics + ", " + configs + ", " + producerIds + ", " + quorum + ")";
    }
}

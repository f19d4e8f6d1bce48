package dev.basalt.metadata.testkit;

import dev.basalt.metadata.image.BrokerRegistration;
import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.UUID;

/**
 * Generates random but valid batches of metadata records against a current image: every batch
 * replays cleanly onto that image. Covers every record kind. Deterministic for a given seeded
 * {@link Random}; not thread-safe (one per test).
 */
public final class RandomMetadataRecords {
    private final Random random;
    private long nextId = 1;

    public RandomMetadataRecords(Random random) {
        this.random = random;
    }

    /** One valid batch (1..n records) for {@code image}. */
    public List<MetadataRecord> nextBatch(MetadataImage image) {
        for (int attempt = 0; attempt < 100; attempt++) {
            List<MetadataRecord> batch = tryKind(random.nextInt(11), image);
            if (!batch.isEmpty()) {
                return batch;
            }
        }
        return List.of(register(image));
    }

    private List<MetadataRecord> tryKind(int kind, MetadataImage image) {
        return switch (kind) {
            case 0 -> List.of(register(image));
            case 1 -> fenceOrUnfence(image, true);
            case 2 -> fenceOrUnfence(image, false);
            case 3, 4 -> createTopic(image);
            case 5 -> addPartition(image);
            case 6, 7 -> changePartition(image);
            case 8 -> removeTopic(image);
            case 9 -> config(image);
            default -> random.nextBoolean() ? producerIds(image) : List.of(Records.voters(voterIds()));
        };
    }

    private UUID freshId() {
        return new UUID(random.nextLong() | 1, nextId++);
    }

    private MetadataRecord register(MetadataImage image) {
        int brokerId = random.nextInt(6);
        String rack = random.nextInt(3) == 0 ? null : "rack-" + random.nextInt(3);
        return Records.register(brokerId, freshId(), rack, random.nextBoolean());
    }

    private List<MetadataRecord> fenceOrUnfence(MetadataImage image, boolean fence) {
        List<BrokerRegistration> candidates = image.cluster().brokers().values().stream()
                .filter(b -> b.fenced() != fence).toList();
        if (candidates.isEmpty()) {
            return List.of();
        }
        BrokerRegistration b = candidates.get(random.nextInt(candidates.size()));
        return List.of(fence ? Records.fence(b.brokerId(), b.incarnationId())
                : Records.unfence(b.brokerId(), b.incarnationId()));
    }

    private List<MetadataRecord> createTopic(MetadataImage image) {
        List<Integer> brokers = new ArrayList<>(image.cluster().brokers().keySet());
        if (brokers.isEmpty()) {
            return List.of();
        }
        String name = "t" + random.nextInt(12) + (random.nextBoolean() ? "" : "_x");
        if (image.topics().topic(name).isPresent()) {
            return List.of();
        }
        UUID id = freshId();
        Map<String, String> configs = random.nextBoolean() ? Map.of() : Map.of("retention.ms", "" + random.nextInt(1000));
        List<MetadataRecord> batch = new ArrayList<>();
        batch.add(Records.topic(name, id, configs));
        int partitions = 1 + random.nextInt(4);
        for (int p = 0; p < partitions; p++) {
            batch.add(partitionRecord(id, p, brokers));
        }
        return batch;
    }

    private MetadataRecord partitionRecord(UUID id, int p, List<Integer> brokers) {
        List<Integer> replicas = subset(brokers, 1 + random.nextInt(brokers.size()));
        List<Integer> isr = subset(replicas, random.nextInt(replicas.size() + 1));
        int leader = isr.isEmpty() || random.nextInt(5) == 0 ? PartitionRegistration.NO_LEADER
                : isr.get(random.nextInt(isr.size()));
        List<Integer> outsideIsr = new ArrayList<>(replicas);
        outsideIsr.removeAll(isr);
        List<Integer> elr = subset(outsideIsr, random.nextInt(outsideIsr.size() + 1));
        return Records.partition(id, p, replicas, isr, leader, random.nextInt(3), random.nextInt(3), elr,
                random.nextInt(4) == 0);
    }

    private List<Integer> subset(List<Integer> from, int size) {
        List<Integer> shuffled = new ArrayList<>(from);
        Collections.shuffle(shuffled, random);
        return new ArrayList<>(shuffled.subList(0, size));
    }

    private TopicImage randomTopic(MetadataImage image) {
        List<TopicImage> topics = new ArrayList<>(image.topics().topicsById().values());
        return topics.isEmpty() ? null : topics.get(random.nextInt(topics.size()));
    }

    private List<MetadataRecord> addPartition(MetadataImage image) {
        TopicImage topic = randomTopic(image);
        List<Integer> brokers = new ArrayList<>(image.cluster().brokers().keySet());
        if (topic == null || brokers.isEmpty()) {
            return List.of();
        }
        return List.of(partitionRecord(topic.id(), topic.partitionCount(), brokers));
    }

    private List<MetadataRecord> changePartition(MetadataImage image) {
        TopicImage topic = randomTopic(image);
        if (topic == null || topic.partitionCount() == 0) {
            return List.of();
        }
        int p = random.nextInt(topic.partitionCount());
        PartitionRegistration current = topic.partitions().get(p);
        List<Integer> isr = random.nextBoolean() ? null : subset(current.replicas(),
                random.nextInt(current.replicas().size() + 1));
        List<Integer> effectiveIsr = isr == null ? current.isr() : isr;
        Integer leader = null;
        boolean leaderStillValid = current.leader() == PartitionRegistration.NO_LEADER
                || effectiveIsr.contains(current.leader());
        if (!leaderStillValid || random.nextBoolean()) {
            leader = effectiveIsr.isEmpty() || random.nextInt(4) == 0 ? PartitionRegistration.NO_LEADER
                    : effectiveIsr.get(random.nextInt(effectiveIsr.size()));
        }
        List<Integer> outsideIsr = new ArrayList<>(current.replicas());
        outsideIsr.removeAll(effectiveIsr);
        // The ELR must stay disjoint from the new ISR: rewrite it when the ISR took one of its members.
        boolean elrClashes = current.elr().stream().anyMatch(effectiveIsr::contains);
        List<Integer> elr = elrClashes || random.nextInt(3) == 0
                ? subset(outsideIsr, random.nextInt(outsideIsr.size() + 1)) : null;
        Boolean recovering = random.nextInt(4) == 0 ? random.nextBoolean() : null;
        return List.of(Records.change(topic.id(), p, current.partitionEpoch(), leader, isr, null, elr, recovering));
    }

    private List<MetadataRecord> removeTopic(MetadataImage image) {
        TopicImage topic = randomTopic(image);
        return topic == null ? List.of() : List.of(Records.removeTopic(topic.id()));
    }

    private List<MetadataRecord> config(MetadataImage image) {
        boolean topic = random.nextBoolean();
        String name;
        if (topic) {
            TopicImage t = randomTopic(image);
            if (t == null) {
                return List.of();
            }
            name = t.name();
        } else {
            name = random.nextBoolean() ? "" : Integer.toString(random.nextInt(4));
        }
        ConfigResource resource = topic ? ConfigResource.topic(name) : new ConfigResource(ConfigResource.Type.BROKER, name);
        SortedMap<String, String> current = image.configs().configs(resource);
        if (!current.isEmpty() && random.nextBoolean()) {
            List<String> keys = new ArrayList<>(current.keySet());
            return List.of(Records.config(topic, name, keys.get(random.nextInt(keys.size())), null));
        }
        return List.of(Records.config(topic, name, "key" + random.nextInt(3), "v" + random.nextInt(100)));
    }

    private List<MetadataRecord> producerIds(MetadataImage image) {
        List<Integer> brokers = new ArrayList<>(image.cluster().brokers().keySet());
        if (brokers.isEmpty()) {
            return List.of();
        }
        long first = image.producerIds().nextProducerId() + random.nextInt(3);
        return List.of(Records.producerIds(brokers.get(random.nextInt(brokers.size())), first, 1 + random.nextInt(1000)));
    }

    private int[] voterIds() {
        int count = 1 + random.nextInt(5);
        List<Integer> ids = subset(List.of(0, 1, 2, 3, 4, 5, 6), count);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}

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
            default -> random.nextInt(3) == 0 ? decommission(image)
                    : random.nextBoolean() ? producerIds(image) : List.of(Records.voters(voterIds()));
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
        if (random.nextInt(4) == 0) {
            return reassignment(image, topic.id(), p, current);
        }
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

    /**
     * Starts a reassignment (a broker added, the last replica removing; KIP-455's layout: target
     * first, removing replicas last) or ends the one in progress at its target (ISR and ELR kept
     * within the target, a leaving leader replaced).
     */
    private List<MetadataRecord> reassignment(MetadataImage image, UUID topicId, int p, PartitionRegistration current) {
        dev.basalt.proto.v1.PartitionChangeRecord.Builder b = dev.basalt.proto.v1.PartitionChangeRecord.newBuilder()
                .setTopicId(dev.basalt.metadata.image.ProtoIds.toProto(topicId)).setPartition(p)
                .setExpectedPartitionEpoch(current.partitionEpoch());
        if (current.isReassigning()) {
            List<Integer> target = current.targetReplicas();
            List<Integer> isr = current.isr().stream().filter(target::contains).toList();
            if (isr.isEmpty()) {
                return List.of();
            }
            b.setReplicas(ids(target)).setIsr(ids(isr)).setAddingReplicas(ids(List.of())).setRemovingReplicas(ids(List.of()))
                    .setEligibleLeaderReplicas(ids(current.elr().stream().filter(id -> target.contains(id)
                            && !isr.contains(id)).toList()));
            if (current.leader() != PartitionRegistration.NO_LEADER && !target.contains(current.leader())) {
                b.setLeader(isr.get(0));
            }
            return List.of(dev.basalt.proto.v1.MetadataRecord.newBuilder().setPartitionChange(b).build());
        }
        List<Integer> outside = new ArrayList<>(image.cluster().brokers().keySet());
        outside.removeAll(current.replicas());
        if (outside.isEmpty() || current.replicas().size() < 2) {
            return List.of();
        }
        int added = outside.get(random.nextInt(outside.size()));
        int removing = current.replicas().get(current.replicas().size() - 1);
        List<Integer> replicas = new ArrayList<>(current.replicas().subList(0, current.replicas().size() - 1));
        replicas.add(added);
        replicas.add(removing);
        b.setReplicas(ids(replicas)).setAddingReplicas(ids(List.of(added))).setRemovingReplicas(ids(List.of(removing)));
        return List.of(dev.basalt.proto.v1.MetadataRecord.newBuilder().setPartitionChange(b).build());
    }

    private static dev.basalt.proto.v1.BrokerIdList ids(List<Integer> ids) {
        return dev.basalt.proto.v1.BrokerIdList.newBuilder().addAllBrokerIds(ids).build();
    }

    /** Toggles the decommissioned flag of a registered broker. */
    private List<MetadataRecord> decommission(MetadataImage image) {
        List<Integer> ids = new ArrayList<>(image.cluster().brokers().keySet());
        if (ids.isEmpty()) {
            return List.of();
        }
        int id = ids.get(random.nextInt(ids.size()));
        return List.of(dev.basalt.proto.v1.MetadataRecord.newBuilder().setBrokerDecommission(
                dev.basalt.proto.v1.BrokerDecommissionRecord.newBuilder().setBrokerId(id)
                        .setDecommissioned(!image.cluster().isDecommissioned(id))).build());
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

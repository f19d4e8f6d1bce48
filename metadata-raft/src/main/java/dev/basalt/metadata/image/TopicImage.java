package dev.basalt.metadata.image;

import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.TopicRecord;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * One topic: id, name and its partitions 0..n-1. Immutable and thread-safe (copy-on-write: a delta
 * builds a new instance only for topics it touched).
 */
public final class TopicImage {
    private final UUID id;
    private final String name;
    private final SortedMap<Integer, PartitionRegistration> partitions;

    /** Takes ownership of {@code partitions}, which must be keyed 0..n-1. */
    public TopicImage(UUID id, String name, TreeMap<Integer, PartitionRegistration> partitions) {
        this.id = Objects.requireNonNull(id, "id");
        this.name = Objects.requireNonNull(name, "name");
        if (!partitions.isEmpty() && (partitions.firstKey() != 0 || partitions.lastKey() != partitions.size() - 1)) {
            throw new IllegalArgumentException("topic " + name + " partitions are not 0.." + (partitions.size() - 1)
                    + ": " + partitions.keySet());
        }
        this.partitions = Collections.unmodifiableSortedMap(partitions);
    }

    public UUID id() {
        return id;
    }

    public String name() {
        return name;
    }

    public SortedMap<Integer, PartitionRegistration> partitions() {
        return partitions;
    }

    public Optional<PartitionRegistration> partition(int partition) {
        return Optional.ofNullable(partitions.get(partition));
    }

    public int partitionCount() {
        return partitions.size();
    }

    public TreeMap<Integer, PartitionRegistration> copyOfPartitions() {
        return new TreeMap<>((Map<Integer, PartitionRegistration>) partitions);
    }

    void toRecords(Map<String, String> configs, Consumer<MetadataRecord> out) {
        out.accept(MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName(name)
                .setTopicId(ProtoIds.toProto(id)).putAllConfigs(configs)).build());
        for (Map.Entry<Integer, PartitionRegistration> e : partitions.entrySet()) {
            PartitionRegistration p = e.getValue();
            out.accept(MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder()
                    .setTopicId(ProtoIds.toProto(id)).setPartition(e.getKey()).addAllReplicas(p.replicas())
                    .addAllIsr(p.isr()).setLeader(p.leader()).setLeaderEpoch(p.leaderEpoch())
                    .setPartitionEpoch(p.partitionEpoch()).addAllEligibleLeaderReplicas(p.elr())
                    .setLeaderRecovering(p.leaderRecovering()).addAllAddingReplicas(p.addingReplicas())
                    .addAllRemovingReplicas(p.removingReplicas()).addAllOriginalReplicas(p.originalOrder())).build());
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TopicImage t && id.equals(t.id) && name.equals(t.name) && partitions.equals(t.partitions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, name, partitions);
    }

    @Override
    public String toString() {
        return "Topic(" + name + ", " + id + ", " + partitions + ")";
    }
}

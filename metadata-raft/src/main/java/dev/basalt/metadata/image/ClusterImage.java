package dev.basalt.metadata.image;

import dev.basalt.proto.v1.BrokerDecommissionRecord;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The registered brokers, by id (ascending). Immutable and thread-safe: the map is an unmodifiable
 * sorted copy made once by the delta that created this image (copy-on-write), so iteration order is
 * deterministic.
 */
public final class ClusterImage {
    public static final ClusterImage EMPTY = new ClusterImage(new TreeMap<>());

    private final SortedMap<Integer, BrokerRegistration> brokers;
    private final SortedSet<Integer> decommissioned;

    /** Takes ownership of {@code brokers}: the caller must not modify it afterwards. No broker decommissioned. */
    public ClusterImage(TreeMap<Integer, BrokerRegistration> brokers) {
        this(brokers, new TreeSet<>());
    }

    /**
     * Takes ownership of both arguments. {@code decommissioned}: brokers an operator is draining
     * (BrokerDecommissionRecord); each must be registered.
     */
    public ClusterImage(TreeMap<Integer, BrokerRegistration> brokers, SortedSet<Integer> decommissioned) {
        this.brokers = Collections.unmodifiableSortedMap(brokers);
        this.decommissioned = Collections.unmodifiableSortedSet(decommissioned);
        for (int id : decommissioned) {
            if (!brokers.containsKey(id)) {
                throw new IllegalArgumentException("decommissioned broker " + id + " is not registered");
            }
        }
    }

    /** Ids of the decommissioned brokers, ascending. */
    public SortedSet<Integer> decommissionedBrokerIds() {
        return decommissioned;
    }

    public boolean isDecommissioned(int brokerId) {
        return decommissioned.contains(brokerId);
    }

    /** Registered, unfenced and not decommissioned: where new replicas may go. Ascending ids. */
    public List<Integer> activeBrokerIds() {
        return brokers.values().stream().filter(b -> !b.fenced() && !decommissioned.contains(b.brokerId()))
                .map(BrokerRegistration::brokerId).toList();
    }

    public SortedMap<Integer, BrokerRegistration> brokers() {
        return brokers;
    }

    public Optional<BrokerRegistration> broker(int brokerId) {
        return Optional.ofNullable(brokers.get(brokerId));
    }

    /** Ids of brokers that are registered and not fenced, ascending. */
    public List<Integer> unfencedBrokerIds() {
        return brokers.values().stream().filter(b -> !b.fenced()).map(BrokerRegistration::brokerId).toList();
    }

    public boolean isUnfenced(int brokerId) {
        BrokerRegistration b = brokers.get(brokerId);
        return b != null && !b.fenced();
    }

    void toRecords(Consumer<MetadataRecord> out) {
        for (BrokerRegistration b : brokers.values()) {
            BrokerRegistrationRecord.Builder record = BrokerRegistrationRecord.newBuilder().setBrokerId(b.brokerId())
                    .setIncarnationId(ProtoIds.toProto(b.incarnationId())).setRack(b.rack().orElse(""))
                    .setFenced(b.fenced());
            for (Endpoint e : b.endpoints()) {
                record.addEndpoints(dev.basalt.proto.v1.BrokerEndpoint.newBuilder().setName(e.name())
                        .setHost(e.host()).setPort(e.port()));
            }
            out.accept(MetadataRecord.newBuilder().setBrokerRegistration(record).build());
            if (!b.offlineReplicas().isEmpty()) {
                out.accept(offlineReplicasRecord(b.brokerId(), b.incarnationId(), b.offlineReplicas()));
            }
        }
        for (int id : decommissioned) {
            out.accept(MetadataRecord.newBuilder().setBrokerDecommission(BrokerDecommissionRecord.newBuilder()
                    .setBrokerId(id).setDecommissioned(true)).build());
        }
    }

    /** The record that sets {@code brokerId}'s offline replicas (replacing what it reported before). */
    public static MetadataRecord offlineReplicasRecord(int brokerId, java.util.UUID incarnationId, List<ReplicaFault> replicas) {
        dev.basalt.proto.v1.BrokerOfflineReplicasRecord.Builder r = dev.basalt.proto.v1.BrokerOfflineReplicasRecord.newBuilder()
                .setBrokerId(brokerId).setIncarnationId(ProtoIds.toProto(incarnationId));
        for (ReplicaFault f : replicas) {
            r.addReplicas(dev.basalt.proto.v1.OfflineReplicaEntry.newBuilder().setTopicId(ProtoIds.toProto(f.topicId()))
                    .setPartition(f.partition()).setReason(f.reason()));
        }
        return MetadataRecord.newBuilder().setBrokerOfflineReplicas(r).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterImage c && brokers.equals(c.brokers) && decommissioned.equals(c.decommissioned);
    }

    @Override
    public int hashCode() {
        return brokers.hashCode() * 31 + decommissioned.hashCode();
    }

    @Override
    public String toString() {
        return "ClusterImage" + brokers.values() + (decommissioned.isEmpty() ? "" : " decommissioned " + decommissioned);
    }

    /** A fresh mutable copy of the broker map, for {@code MetadataDelta} to change. */
    public TreeMap<Integer, BrokerRegistration> copyOfBrokers() {
        return new TreeMap<>((Map<Integer, BrokerRegistration>) brokers);
    }
}

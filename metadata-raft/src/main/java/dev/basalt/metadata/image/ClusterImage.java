package dev.basalt.metadata.image;

import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The registered brokers, by id (ascending). Immutable and thread-safe: the map is an unmodifiable
 * sorted copy made once by the delta that created this image (copy-on-write), so iteration order is
 * deterministic.
 */
public final class ClusterImage {
    public static final ClusterImage EMPTY = new ClusterImage(new TreeMap<>());

    private final SortedMap<Integer, BrokerRegistration> brokers;

    /** Takes ownership of {@code brokers}: the caller must not modify it afterwards. */
    public ClusterImage(TreeMap<Integer, BrokerRegistration> brokers) {
        this.brokers = Collections.unmodifiableSortedMap(brokers);
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
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterImage c && brokers.equals(c.brokers);
    }

    @Override
    public int hashCode() {
        return brokers.hashCode();
    }

    @Override
    public String toString() {
        return "ClusterImage" + brokers.values();
    }

    /** A fresh mutable copy of the broker map, for {@code MetadataDelta} to change. */
    public TreeMap<Integer, BrokerRegistration> copyOfBrokers() {
        return new TreeMap<>((Map<Integer, BrokerRegistration>) brokers);
    }
}

package dev.basalt.broker.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.broker.metadata.MetadataUpdate;
import dev.basalt.metadata.delta.MetadataDelta;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.ProtoIds;
import dev.basalt.proto.v1.BrokerEndpoint;
import dev.basalt.proto.v1.BrokerIdList;
import dev.basalt.proto.v1.BrokerRegistrationRecord;
import dev.basalt.proto.v1.MetadataRecord;
import dev.basalt.proto.v1.PartitionChangeRecord;
import dev.basalt.proto.v1.PartitionRecord;
import dev.basalt.proto.v1.TopicRecord;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Goal: ISR shrinks/expands are counted by the partition's leader, leader elections (and unclean
 * ones: the new leader was in neither the previous ISR nor the ELR) by the active controller, and
 * a partition's creation counts as neither.
 *
 * <p>Method: metadata images built by replaying records (as the quorum would), fed as updates to
 * the meters of broker 1 and broker 2; counters read from the exposition.
 *
 * <p>Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=MetadataMetersTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class MetadataMetersTest {
    private static final UUID A = new UUID(1, 1);

    private static MetadataImage apply(MetadataImage base, MetadataRecord... records) {
        MetadataDelta d = new MetadataDelta(base);
        d.replayAll(List.of(records));
        return d.apply();
    }

    private static MetadataRecord broker(int id) {
        return MetadataRecord.newBuilder().setBrokerRegistration(BrokerRegistrationRecord.newBuilder().setBrokerId(id)
                .setIncarnationId(ProtoIds.toProto(new UUID(7, id))).addEndpoints(BrokerEndpoint.newBuilder()
                        .setName("PLAINTEXT").setHost("127.0.0.1").setPort(9000 + id))).build();
    }

    private static MetadataRecord change(MetadataImage image, Integer leader, List<Integer> isr) {
        int epoch = image.topics().topicsById().get(A).partitions().get(0).partitionEpoch();
        PartitionChangeRecord.Builder b = PartitionChangeRecord.newBuilder().setTopicId(ProtoIds.toProto(A)).setPartition(0)
                .setExpectedPartitionEpoch(epoch);
        if (leader != null) {
            b.setLeader(leader);
        }
        if (isr != null) {
            b.setIsr(BrokerIdList.newBuilder().addAllBrokerIds(isr));
        }
        return MetadataRecord.newBuilder().setPartitionChange(b).build();
    }

    private static Map<String, Double> values(BrokerMetrics m) {
        Map<String, Double> out = new TreeMap<>();
        for (String line : new String(m.scrape(null).body(), StandardCharsets.UTF_8).split("\n")) {
            if (!line.startsWith("#") && !line.isEmpty()) {
                out.put(line.substring(0, line.lastIndexOf(' ')), Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
            }
        }
        return out;
    }

    @Test
    void isrChangesAtTheLeader_electionsAtTheActiveController() {
        BrokerMetrics m1 = new BrokerMetrics(false, false);
        BrokerMetrics m2 = new BrokerMetrics(false, false);
        AtomicBoolean oneIsActive = new AtomicBoolean(true);
        MetadataMeters broker1 = new MetadataMeters(m1, 1, oneIsActive::get);
        MetadataMeters broker2 = new MetadataMeters(m2, 2, () -> !oneIsActive.get());
        MetadataImage[] image = {MetadataImage.EMPTY};
        java.util.function.Consumer<MetadataRecord[]> step = records -> {
            MetadataImage next = apply(image[0], records);
            MetadataUpdate u = new MetadataUpdate(image[0], next, 1, true);
            broker1.onMetadataUpdate(u);
            broker2.onMetadataUpdate(u);
            image[0] = next;
        };
        step.accept(new MetadataRecord[] {broker(1), broker(2), broker(3),
            MetadataRecord.newBuilder().setTopic(TopicRecord.newBuilder().setName("a").setTopicId(ProtoIds.toProto(A))).build(),
            MetadataRecord.newBuilder().setPartition(PartitionRecord.newBuilder().setTopicId(ProtoIds.toProto(A)).setPartition(0)
                    .addAllReplicas(List.of(1, 2, 3)).addAllIsr(List.of(1, 2, 3)).setLeader(1)).build()});
        assertEquals(0.0, values(m1).get("basalt_leader_elections_total"), "a new partition's first leader is no election");

        step.accept(new MetadataRecord[] {change(image[0], null, List.of(1, 2))});
        step.accept(new MetadataRecord[] {change(image[0], null, List.of(1, 2, 3))});
        step.accept(new MetadataRecord[] {change(image[0], null, List.of(1, 3))});
        assertEquals(2.0, values(m1).get("basalt_isr_shrinks_total"), "leader 1 shrank the ISR twice");
        assertEquals(1.0, values(m1).get("basalt_isr_expands_total"));
        assertEquals(0.0, values(m2).get("basalt_isr_shrinks_total"), "a follower counts none");

        // clean: 3 is in the ISR; the new leader's ISR change in the same step is not counted as a shrink
        step.accept(new MetadataRecord[] {change(image[0], 3, List.of(3))});
        assertEquals(1.0, values(m1).get("basalt_leader_elections_total"));
        assertEquals(0.0, values(m1).get("basalt_unclean_leader_elections_total"));
        assertEquals(0.0, values(m2).get("basalt_leader_elections_total"), "not the active controller");

        // unclean: 2 left the ISR earlier; now broker 2 is the active controller
        oneIsActive.set(false);
        step.accept(new MetadataRecord[] {change(image[0], 2, List.of(2))});
        assertEquals(1.0, values(m2).get("basalt_leader_elections_total"));
        assertEquals(1.0, values(m2).get("basalt_unclean_leader_elections_total"));
        assertEquals(1.0, values(m1).get("basalt_leader_elections_total"), "broker 1 was no longer the active controller");
        assertEquals(2.0, values(m1).get("basalt_isr_shrinks_total"));
    }
}

package dev.basalt.metadata.delta;

import static dev.basalt.metadata.testkit.Records.change;
import static dev.basalt.metadata.testkit.Records.config;
import static dev.basalt.metadata.testkit.Records.fence;
import static dev.basalt.metadata.testkit.Records.id;
import static dev.basalt.metadata.testkit.Records.partition;
import static dev.basalt.metadata.testkit.Records.producerIds;
import static dev.basalt.metadata.testkit.Records.register;
import static dev.basalt.metadata.testkit.Records.removeTopic;
import static dev.basalt.metadata.testkit.Records.topic;
import static dev.basalt.metadata.testkit.Records.unfence;
import static dev.basalt.metadata.testkit.Records.voters;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import dev.basalt.proto.v1.MetadataRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Scenario tests of {@link MetadataDelta}: image1 + delta == image2, copy-on-write reuse of untouched
 * sub-images, image → records → replay at every step, and strict rejection of inconsistent records
 * (STYLE.md §3). Deterministic.
 */
class MetadataDeltaTest {
    static final UUID INC1 = id(101);
    static final UUID INC2 = id(102);
    static final UUID INC3 = id(103);
    static final UUID FOO = id(1);
    static final UUID BAR = id(2);

    static List<MetadataRecord> cluster() {
        return List.of(voters(0, 1, 2), register(1, INC1, "a", false), register(2, INC2, "b", false),
                register(3, INC3, null, true));
    }

    static List<MetadataRecord> fooTopic() {
        return List.of(topic("foo", FOO, Map.of("cleanup.policy", "compact")),
                partition(FOO, 0, List.of(1, 2), List.of(1, 2), 1, 0, 0),
                partition(FOO, 1, List.of(2, 1), List.of(2), 2, 0, 0));
    }

    static MetadataImage replay(MetadataImage base, List<MetadataRecord> records) {
        MetadataDelta delta = new MetadataDelta(base);
        delta.replayAll(records);
        return delta.apply();
    }

    static List<MetadataRecord> concat(List<MetadataRecord> a, List<MetadataRecord> b) {
        List<MetadataRecord> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    @Test
    void image1PlusDelta_equalsImage2() {
        MetadataImage image1 = replay(MetadataImage.EMPTY, concat(cluster(), fooTopic()));
        List<MetadataRecord> delta = List.of(change(FOO, 0, 0, 2, List.of(2), null), fence(1, INC1),
                config(true, "foo", "retention.ms", "1000"), producerIds(2, 0, 1000));
        MetadataImage image2 = replay(image1, delta);

        assertEquals(replay(MetadataImage.EMPTY, concat(concat(cluster(), fooTopic()), delta)), image2);
        PartitionRegistration p0 = image2.topics().topic("foo").orElseThrow().partitions().get(0);
        assertEquals(new PartitionRegistration(List.of(1, 2), List.of(2), 2, 1, 1), p0);
        assertTrue(image2.cluster().broker(1).orElseThrow().fenced());
        assertEquals(Map.of("cleanup.policy", "compact", "retention.ms", "1000"),
                image2.configs().configs(ConfigResource.topic("foo")));
        assertEquals(1000, image2.producerIds().nextProducerId());
        assertNotEquals(image1, image2);
    }

    @Test
    void apply_reusesEveryUntouchedSubImage() {
        MetadataImage image1 = replay(MetadataImage.EMPTY, concat(cluster(), concat(fooTopic(), List.of(
                topic("bar", BAR, Map.of()), partition(BAR, 0, List.of(1), List.of(1), 1, 0, 0)))));
        MetadataImage image2 = replay(image1, List.of(change(FOO, 1, 0, null, List.of(2, 1), null)));
        assertSame(image1.cluster(), image2.cluster());
        assertSame(image1.configs(), image2.configs());
        assertSame(image1.producerIds(), image2.producerIds());
        assertSame(image1.quorum(), image2.quorum());
        TopicImage bar1 = image1.topics().topic(BAR).orElseThrow();
        assertSame(bar1, image2.topics().topic(BAR).orElseThrow());
        MetadataImage same = replay(image1, List.of());
        assertSame(image1.topics(), same.topics());
        assertEquals(image1, same);
        MetadataImage image3 = replay(image2, List.of(unfence(3, INC3)));
        assertSame(image2.topics(), image3.topics());
    }

    @Test
    void imageToRecords_replaysToTheSameImage_atEveryStep() {
        List<MetadataRecord> script = concat(concat(cluster(), fooTopic()), List.of(
                change(FOO, 0, 0, -1, List.of(), null), config(false, "", "log.retention.ms", "5"),
                config(false, "2", "rack.aware", "true"), producerIds(1, 10, 100), topic("bar", BAR, Map.of("a", "b")),
                partition(BAR, 0, List.of(3), List.of(), -1, 0, 0), register(3, id(999), "c", false),
                change(BAR, 0, 0, 3, List.of(3), null), config(true, "bar", "a", null), removeTopic(FOO),
                voters(1), config(false, "", "log.retention.ms", null), producerIds(2, 110, 1)));
        MetadataImage image = MetadataImage.EMPTY;
        for (MetadataRecord record : script) {
            image = replay(image, List.of(record));
            assertEquals(image, replay(MetadataImage.EMPTY, image.toRecords()), "after " + record);
        }
        assertTrue(image.topics().topic("foo").isEmpty());
        assertTrue(image.configs().configs(ConfigResource.topic("foo")).isEmpty());
    }

    @Test
    void topicRecreatedWithSameName_getsFreshConfigsAndId() {
        MetadataImage image = replay(MetadataImage.EMPTY, concat(cluster(), concat(fooTopic(), List.of(removeTopic(FOO),
                topic("foo", BAR, Map.of()), partition(BAR, 0, List.of(1), List.of(1), 1, 0, 0)))));
        TopicImage foo = image.topics().topic("foo").orElseThrow();
        assertEquals(BAR, foo.id());
        assertTrue(image.configs().configs(ConfigResource.topic("foo")).isEmpty());
    }

    @Test
    void inconsistentRecords_throwNamingTheRecord() {
        MetadataImage image = replay(MetadataImage.EMPTY, concat(cluster(), fooTopic()));
        assertInconsistent(image, change(FOO, 0, 7, null, List.of(1), null), "expected_partition_epoch: 7",
                "partition epoch is 0");
        assertInconsistent(image, change(FOO, 0, 0, 2, List.of(1), null), "leader 2 is not in isr");
        assertInconsistent(image, change(FOO, 0, 0, null, List.of(1, 3), null), "not a subset of replicas");
        assertInconsistent(image, change(FOO, 5, 0, null, List.of(1), null), "unknown partition 5");
        assertInconsistent(image, change(BAR, 0, 0, null, List.of(1), null), "unknown topic id");
        assertInconsistent(image, topic("foo", BAR, Map.of()), "a topic named foo already exists");
        assertInconsistent(image, topic("bad name", BAR, Map.of()), "illegal character");
        assertInconsistent(image, topic("bar", FOO, Map.of()), "already exists");
        assertInconsistent(image, partition(FOO, 3, List.of(1), List.of(1), 1, 0, 0), "not the next partition");
        assertInconsistent(image, partition(FOO, 2, List.of(1, 9), List.of(1), 1, 0, 0), "broker 9 is not registered");
        assertInconsistent(image, partition(FOO, 2, List.of(1, 1), List.of(1), 1, 0, 0), "repeat");
        assertInconsistent(image, fence(9, INC1), "broker 9 is not registered");
        assertInconsistent(image, fence(1, INC2), "incarnation");
        assertInconsistent(image, fence(3, INC3), "already fenced");
        assertInconsistent(image, unfence(1, INC1), "not fenced");
        assertInconsistent(image, removeTopic(BAR), "unknown topic id");
        assertInconsistent(image, config(true, "nope", "k", "v"), "no live topic named nope");
        assertInconsistent(image, config(false, "", "k", null), "not set");
        assertInconsistent(replay(image, List.of(producerIds(1, 100, 10))), producerIds(1, 50, 10),
                "below the next free id 110");
        assertInconsistent(image, voters(), "empty voter set");
        assertInconsistent(image, MetadataRecord.getDefaultInstance(), "no known kind");
    }

    private static void assertInconsistent(MetadataImage image, MetadataRecord record, String... fragments) {
        MetadataDelta delta = new MetadataDelta(image);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> delta.replay(record));
        assertTrue(e.getMessage().startsWith("inconsistent metadata record"), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), () -> "'" + fragment + "' not in: " + e.getMessage());
        }
        assertThrows(IllegalStateException.class, delta::apply, "a failed delta must not produce an image");
        assertThrows(IllegalStateException.class, () -> delta.replay(register(8, INC1, null, true)));
    }

    @Test
    void eligibleLeaderReplicas_andRecovering_replay_roundTrip_andAbsentFieldsStayUnchanged() {
        MetadataImage image1 = replay(MetadataImage.EMPTY, concat(cluster(), fooTopic()));
        // KIP-966: the ISR shrinks to {1}; 2 becomes eligible. Then only the flag changes.
        MetadataImage image2 = replay(image1, List.of(change(FOO, 0, 0, null, List.of(1), null, List.of(2), null),
                change(FOO, 0, 1, null, null, null, null, true)));
        PartitionRegistration p0 = image2.topics().topic("foo").orElseThrow().partitions().get(0);
        assertEquals(new PartitionRegistration(List.of(1, 2), List.of(1), 1, 0, 2, List.of(2), true), p0);
        MetadataImage rebuilt = replay(MetadataImage.EMPTY, image2.toRecords());
        assertEquals(image2, rebuilt);
        // A record without the new fields (written before KIP-966 support) keeps both.
        MetadataImage image3 = replay(image2, List.of(change(FOO, 0, 2, null, null, null)));
        PartitionRegistration kept = image3.topics().topic("foo").orElseThrow().partitions().get(0);
        assertEquals(List.of(2), kept.elr());
        assertTrue(kept.leaderRecovering());
    }

    @Test
    void eligibleLeaderReplicas_insideTheIsrOrOutsideTheReplicas_areRefused() {
        MetadataImage image1 = replay(MetadataImage.EMPTY, concat(cluster(), fooTopic()));
        assertThrows(IllegalStateException.class, () -> replay(image1,
                List.of(change(FOO, 0, 0, null, null, null, List.of(2), null))), "2 is in the ISR {1, 2}");
        assertThrows(IllegalStateException.class, () -> replay(image1,
                List.of(change(FOO, 1, 0, null, null, null, List.of(3), null))), "3 is not a replica");
        assertThrows(IllegalStateException.class, () -> replay(image1,
                List.of(change(FOO, 1, 0, null, null, null, List.of(1, 1), null))), "repeated");
    }

    /**
     * The original order of a reassignment: kept by changes that do not name it, dropped by a
     * change that ends the reassignment without naming it (a record written before the field),
     * and refused when it is not the original brokers.
     */
    @Test
    void originalOrder_followsTheReassignment_andRecordsWithoutItEndIt() {
        MetadataImage base = replay(MetadataImage.EMPTY, concat(cluster(), List.of(topic("bar", id(9), Map.of()),
                MetadataRecord.newBuilder().setPartition(dev.basalt.proto.v1.PartitionRecord.newBuilder()
                        .setTopicId(dev.basalt.metadata.image.ProtoIds.toProto(id(9))).setPartition(0).addAllReplicas(List.of(3, 2, 1))
                        .addAllIsr(List.of(2, 1)).setLeader(2).addAddingReplicas(3).addRemovingReplicas(1)
                        .addAllOriginalReplicas(List.of(2, 1))).build())));
        PartitionRegistration p = base.topics().topic("bar").orElseThrow().partitions().get(0);
        assertEquals(List.of(2, 1), p.originalReplicas());
        MetadataImage isrMoved = replay(base, List.of(MetadataRecord.newBuilder().setPartitionChange(
                dev.basalt.proto.v1.PartitionChangeRecord.newBuilder().setTopicId(dev.basalt.metadata.image.ProtoIds.toProto(id(9)))
                        .setPartition(0).setExpectedPartitionEpoch(0).setIsr(dev.basalt.proto.v1.BrokerIdList.newBuilder()
                                .addAllBrokerIds(List.of(2, 1, 3)))).build()));
        assertEquals(List.of(2, 1), isrMoved.topics().topic("bar").orElseThrow().partitions().get(0).originalOrder());
        MetadataImage ended = replay(isrMoved, List.of(MetadataRecord.newBuilder().setPartitionChange(
                dev.basalt.proto.v1.PartitionChangeRecord.newBuilder().setTopicId(dev.basalt.metadata.image.ProtoIds.toProto(id(9)))
                        .setPartition(0).setExpectedPartitionEpoch(1)
                        .setReplicas(dev.basalt.proto.v1.BrokerIdList.newBuilder().addAllBrokerIds(List.of(3, 2)))
                        .setIsr(dev.basalt.proto.v1.BrokerIdList.newBuilder().addAllBrokerIds(List.of(2, 3)))
                        .setAddingReplicas(dev.basalt.proto.v1.BrokerIdList.getDefaultInstance())
                        .setRemovingReplicas(dev.basalt.proto.v1.BrokerIdList.getDefaultInstance())).build()));
        assertEquals(List.of(), ended.topics().topic("bar").orElseThrow().partitions().get(0).originalOrder());
        assertThrows(IllegalArgumentException.class, () -> new PartitionRegistration(List.of(3, 2, 1), List.of(2), 2, 0, 0,
                List.of(), false, List.of(3), List.of(1), List.of(3, 2)), "3 is being added: not an original replica");
    }
}

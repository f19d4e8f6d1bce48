package dev.basalt.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.basalt.client.TopicPartition;
import dev.basalt.proto.v1.BrokerNode;
import dev.basalt.proto.v1.MetadataResponse;
import org.junit.jupiter.api.Test;

/**
 * The metadata snapshot's merge rules: an answer from a broker whose image lags (an older leader
 * epoch for a partition of the same topic id) does not move the partition back to a replaced
 * leader (KIP-320); a re-created topic (new id) is taken as it comes; leader hints apply only
 * when newer and naming a known broker (KIP-951).
 */
class ClusterTest {
    private static final TopicPartition TP = new TopicPartition("t", 0);

    private static MetadataResponse answer(String topicId, int leader, int epoch) {
        MetadataResponse.Builder r = MetadataResponse.newBuilder().setControllerId(1).setClusterId("c");
        for (int id = 1; id <= 3; id++) {
            r.addBrokers(BrokerNode.newBuilder().setId(id).setHost("127.0.0.1").setPort(9400 + id));
        }
        return r.addTopics(MetadataResponse.TopicMetadata.newBuilder().setName("t").setTopicId(topicId)
                .addPartitions(MetadataResponse.PartitionMetadata.newBuilder().setPartition(0).setLeaderId(leader)
                        .setLeaderEpoch(epoch).addReplicas(1).addReplicas(2).addReplicas(3))).build();
    }

    @Test
    void olderLeaderEpoch_fromALaggingBroker_isIgnored() {
        Cluster c = Cluster.EMPTY.merge(answer("id-1", 2, 7), 0);
        Cluster lagging = c.merge(answer("id-1", 1, 6), 1);
        assertEquals(2, lagging.leaderFor(TP));
        assertEquals(7, lagging.leaderEpochFor(TP));
        Cluster newer = lagging.merge(answer("id-1", 3, 8), 2);
        assertEquals(3, newer.leaderFor(TP));
    }

    @Test
    void recreatedTopic_takesTheNewAnswer_evenWithALowerEpoch() {
        Cluster c = Cluster.EMPTY.merge(answer("id-1", 2, 7), 0);
        Cluster recreated = c.merge(answer("id-2", 1, 0), 1);
        assertEquals(1, recreated.leaderFor(TP));
        assertEquals(0, recreated.leaderEpochFor(TP));
    }

    private static MetadataResponse at(long metadataOffset, MetadataResponse r) {
        return r.toBuilder().setMetadataOffset(metadataOffset).build();
    }

    private static MetadataResponse unknownTopic(long metadataOffset) {
        return MetadataResponse.newBuilder().setControllerId(1).setClusterId("c").setMetadataOffset(metadataOffset)
                .addTopics(MetadataResponse.TopicMetadata.newBuilder().setName("t")
                        .setErrorCode(dev.basalt.proto.v1.ErrorCode.UNKNOWN_TOPIC)).build();
    }

    @Test
    void anAnswerFromAnOlderImage_doesNotTakeATopicBackToItsOldId_norForgetIt() {
        Cluster recreated = Cluster.EMPTY.merge(at(120, answer("id-2", 1, 0)), 0);
        Cluster lagging = recreated.merge(at(95, answer("id-1", 2, 7)), 1);
        assertEquals("id-2", lagging.topic("t").topicId(), "a lagging broker's image still shows the deleted topic");
        assertEquals(1, lagging.leaderFor(TP));
        Cluster notYet = lagging.merge(unknownTopic(110), 2);
        assertEquals("id-2", notYet.topic("t").topicId(), "a lagging broker's image does not show it created yet");
        assertEquals(null, notYet.topicError("t"));
        Cluster same = notYet.merge(at(120, answer("id-2", 3, 1)), 3);
        assertEquals(3, same.leaderFor(TP), "an answer from the same image applies");
        Cluster deleted = same.merge(unknownTopic(130), 4);
        assertEquals(null, deleted.topic("t"), "a newer image without the topic removes it");
        assertEquals(dev.basalt.proto.v1.ErrorCode.UNKNOWN_TOPIC, deleted.topicError("t"));
        Cluster stale = deleted.merge(at(125, answer("id-2", 3, 1)), 5);
        assertEquals(null, stale.topic("t"), "nor does an older image bring a deleted topic back");
        Cluster again = stale.merge(at(140, answer("id-3", 2, 0)), 6);
        assertEquals("id-3", again.topic("t").topicId());
    }

    @Test
    void olderAnswersAreTakenAfterAll_onceEveryAnswerForThirtySecondsWasOlder() {
        long t0 = 1_000;
        Cluster c = Cluster.EMPTY.merge(at(120, answer("id-2", 1, 0)), t0);
        Cluster first = c.merge(at(5, answer("id-9", 2, 0)), t0 + 1);
        assertEquals("id-2", first.topic("t").topicId());
        assertEquals(true, first.skippedByMerge("t"));
        Cluster still = first.merge(at(6, answer("id-9", 2, 0)), t0 + Cluster.OLDER_ANSWERS_IGNORED_MAX_MS);
        assertEquals("id-2", still.topic("t").topicId(), "older answers for less than the bound");
        Cluster taken = still.merge(at(7, answer("id-9", 2, 0)), t0 + 1 + Cluster.OLDER_ANSWERS_IGNORED_MAX_MS);
        assertEquals("id-9", taken.topic("t").topicId(), "the log behind these addresses started over: taken");
        assertEquals(false, taken.skippedByMerge("t"));
        assertEquals("id-9", taken.merge(at(8, answer("id-9", 3, 1)), t0 + 2 + Cluster.OLDER_ANSWERS_IGNORED_MAX_MS)
                .topic("t").topicId(), "and the new log's answers apply from there");
        // a newer answer between older ones starts the bound again
        Cluster again = first.merge(at(121, answer("id-2", 1, 0)), t0 + 10)
                .merge(at(9, answer("id-9", 2, 0)), t0 + 20 + Cluster.OLDER_ANSWERS_IGNORED_MAX_MS - 5);
        assertEquals("id-2", again.topic("t").topicId());
    }

    @Test
    void answersThatDoNotSayTheirImage_orFromAnotherCluster_applyAsBefore() {
        Cluster c = Cluster.EMPTY.merge(at(120, answer("id-2", 1, 0)), 0);
        assertEquals("id-1", c.merge(answer("id-1", 2, 7), 1).topic("t").topicId(), "an older broker's answer (no index)");
        MetadataResponse otherCluster = at(5, answer("id-9", 2, 0)).toBuilder().setClusterId("c2").build();
        assertEquals("id-9", c.merge(otherCluster, 1).topic("t").topicId(), "another cluster's log starts over");
    }

    @Test
    void leaderHint_appliesOnlyWhenNewer_andForAKnownBroker() {
        Cluster c = Cluster.EMPTY.merge(answer("id-1", 1, 4), 0);
        assertSame(c, c.withLeaderHint(TP, 2, 4), "same epoch");
        assertSame(c, c.withLeaderHint(TP, 2, 3), "older epoch");
        assertSame(c, c.withLeaderHint(TP, 9, 5), "unknown broker");
        assertSame(c, c.withLeaderHint(new TopicPartition("other", 0), 2, 5), "unknown topic");
        Cluster hinted = c.withLeaderHint(TP, 2, 5);
        assertEquals(2, hinted.leaderFor(TP));
        assertEquals(5, hinted.leaderEpochFor(TP));
        assertEquals(c.updatedMs(), hinted.updatedMs(), "a hint is not a refresh");
    }

    /** An expired batch that was never sent says why it waited (it said only "expired" for a partition whose only replica was down). */
    @Test
    void expiryReason_namesALeaderlessPartition_orAnUnknownTopic() {
        Cluster c = Cluster.EMPTY.merge(answer("id-1", -1, 4), 0);
        assertEquals("; the partition has no leader (replicas [1, 2, 3], in sync []; see basalt topics --describe)",
                Sender.leaderlessReason(c, TP));
        assertEquals("; the topic is not in the cluster's metadata", Sender.leaderlessReason(c, new TopicPartition("gone", 0)));
        assertEquals("", Sender.leaderlessReason(Cluster.EMPTY.merge(answer("id-1", 2, 4), 0), TP));
    }
}

package dev.basalt.broker.group.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Scenario tests of the group logic, one KIP-848 rule each (the section of KIP-848 "Consumer Group
 * Heartbeat" / "Reconciliation" behind each is named in the test). Deterministic: time is a field.
 */
class GroupShardTest {
    private static final GroupConfig CONFIG = new GroupConfig(1_000, 200, 5, UniformAssignor.NAME, 60_000, 16);
    private final GroupShard shard = new GroupShard(CONFIG);
    private final List<GroupRecord> log = new ArrayList<>();
    private TopicsView topics = TopicsView.of(Map.of("t", 4));
    private long now = 1_000;

    private Heartbeat.Response hb(String member, int epoch, Assignment owned) {
        return hb(member, null, epoch, owned);
    }

    private Heartbeat.Response hb(String member, String instance, int epoch, Assignment owned) {
        Heartbeat.Request r = new Heartbeat.Request("g", member, epoch, instance, "c", "h", 5_000,
                epoch == 0 ? List.of("t") : null, null, null, owned);
        Result<Heartbeat.Response> res = shard.heartbeat(r, topics, now);
        log.addAll(res.records());
        return res.response();
    }

    /** a joins and takes every partition, b joins, a hands b its share: b's assignment. */
    private Assignment twoMembersReconciled() {
        hb("a", 0, Assignment.EMPTY);
        hb("b", 0, Assignment.EMPTY);
        Assignment kept = hb("a", 1, parts(0, 1, 2, 3)).assignment();
        hb("a", 1, kept);
        return hb("b", 2, Assignment.EMPTY).assignment();
    }

    private Heartbeat.Response hbAskingRebalance(String member, int epoch, Assignment owned) {
        Heartbeat.Request r = new Heartbeat.Request("g", member, epoch, null, "c", "h", 5_000, null, null, null, owned, true);
        Result<Heartbeat.Response> res = shard.heartbeat(r, topics, now);
        log.addAll(res.records());
        return res.response();
    }

    /**
     * A load that skipped records the state refused (GroupCoordinator) restates their keys once
     * loaded, and drops assignments left without a member: skipped member b's current assignment
     * was replayed and kept b's partitions owned by no member, so no one else could ever get them.
     */
    @Test
    void repair_restatesRefusedKeys_andDropsAssignmentsLeftWithoutAMember() {
        Assignment bHas = twoMembersReconciled();
        PartitionKey ofB = bHas.partitions().first();
        GroupShard loaded = new GroupShard(CONFIG);
        for (GroupRecord r : log) {
            if (!(r instanceof GroupRecord.MemberMetadata m && m.memberId().equals("b"))) {
                loaded.replay(r, now);
            }
        }
        ConsumerGroup g = loaded.group("g");
        assertEquals("b", g.ownerOf(ofB), "the orphaned assignment holds b's partition");
        assertFalse(g.members().containsKey("b"));

        assertEquals(List.of(new GroupRecord.Tombstone(new GroupRecord.MemberKey("g", "b"))),
                loaded.restate(new GroupRecord.MemberKey("g", "b"), now).records());
        assertEquals(List.of(new GroupRecord.GroupMetadata("g", g.groupEpoch(), g.targetAssignmentEpoch(), g.assignor(),
                g.subscriptionMetadata())), loaded.restate(new GroupRecord.GroupKey("g"), now).records());
        assertEquals(List.of(new GroupRecord.Tombstone(new GroupRecord.CurrentKey("g", "b")),
                new GroupRecord.Tombstone(new GroupRecord.TargetKey("g", "b"))), loaded.dropAssignmentsWithoutMember("g", now).records());
        assertNull(g.ownerOf(ofB), "released");
        assertEquals(Set.of("a"), g.members().keySet());
        assertTrue(loaded.dropAssignmentsWithoutMember("g", now).records().isEmpty(), "nothing left to drop");
    }

    /**
     * enforceRebalance() (Kafka's semantics over KIP-848): a stable group gets a new group epoch and
     * a recomputed target; the sticky assignor keeps every partition where it is, so members move to
     * the new epoch without revoking anything. While the group reconciles the request is ignored.
     */
    @Test
    void rebalanceRequested_stableGroup_bumpsTheEpoch_reconcilingGroup_ignoresIt() {
        hb("a", 0, Assignment.EMPTY);
        hb("b", 0, Assignment.EMPTY);
        Assignment kept = hb("a", 1, parts(0, 1, 2, 3)).assignment();
        // reconciling (b waits for a's revocation): ignored
        hbAskingRebalance("a", 1, parts(0, 1, 2, 3));
        assertEquals(2, shard.group("g").groupEpoch(), "a rebalance is in progress: no new epoch");
        hb("a", 1, kept);
        Assignment bHas = hb("b", 2, Assignment.EMPTY).assignment();
        assertEquals(GroupState.STABLE, shard.group("g").state());

        Heartbeat.Response a = hbAskingRebalance("a", 2, kept);
        assertEquals(3, shard.group("g").groupEpoch());
        assertEquals(3, a.memberEpoch(), "nothing to revoke: a moves to the new epoch at once");
        assertEquals(kept, a.assignment());
        Heartbeat.Response b = hb("b", 2, bHas);
        assertEquals(3, b.memberEpoch());
        assertEquals(bHas, b.assignment(), "sticky: nothing moved");
        assertEquals(GroupState.STABLE, shard.group("g").state());
    }

    /**
     * The contract behind the double-ownership bug (KIP-848 "Reconciliation"): the coordinator cannot
     * tell a member that stopped consuming a partition from one that under-reports it, so the first
     * heartbeat after the revocation that omits the partitions confirms it and frees them for b.
     * Members must therefore report every partition they may consume (the Java client's
     * GroupMembership reports acknowledged, claimed and assigned ones).
     */
    @Test
    void revocation_isConfirmedByTheFirstReportWithoutThePartitions() {
        hb("a", 0, Assignment.EMPTY);
        hb("b", 0, Assignment.EMPTY);
        Heartbeat.Response a = hb("a", 1, parts(0, 1));
        assertEquals(MemberState.UNREVOKED_PARTITIONS, shard.group("g").member("a").state());
        Assignment revoked = parts(0, 1, 2, 3).minus(a.assignment());
        Assignment reportedWithoutRevoked = parts(0, 1, 2, 3).minus(revoked);
        a = hb("a", 1, reportedWithoutRevoked);
        assertEquals(2, a.memberEpoch(), "confirmed");
        for (PartitionKey p : revoked) {
            assertFalse("a".equals(shard.group("g").ownerOf(p)), p + " is free for b");
        }
    }

    private static Assignment parts(int... ps) {
        List<PartitionKey> l = new ArrayList<>();
        for (int p : ps) {
            l.add(new PartitionKey("t", p));
        }
        return Assignment.of(l);
    }

    @Test
    void join_firstMember_getsEveryPartitionAtEpochOne() {
        Heartbeat.Response r = hb("a", 0, Assignment.EMPTY);
        assertEquals(GroupError.NONE, r.error());
        assertEquals(1, r.memberEpoch());
        assertEquals(parts(0, 1, 2, 3), r.assignment());
        assertEquals(GroupState.STABLE, shard.group("g").state());
    }

    /** KIP-848 "Reconciliation": revoke first, grant once the previous owner confirmed; the unmoved never pause. */
    @Test
    void join_secondMember_getsPartitionsOnlyAfterTheFirstConfirmsRevocation() {
        hb("a", 0, Assignment.EMPTY);
        Heartbeat.Response b = hb("b", 0, Assignment.EMPTY);
        assertEquals(2, b.memberEpoch());
        assertEquals(Assignment.EMPTY, b.assignment(), "a still owns everything: nothing granted yet");
        assertEquals(MemberState.UNRELEASED_PARTITIONS, shard.group("g").member("b").state());

        Heartbeat.Response a = hb("a", 1, parts(0, 1, 2, 3));
        assertEquals(1, a.memberEpoch(), "a keeps its epoch while revoking");
        Assignment kept = a.assignment();
        assertEquals(2, kept.size());
        assertEquals(MemberState.UNREVOKED_PARTITIONS, shard.group("g").member("a").state());
        assertEquals(Assignment.EMPTY, hb("b", 2, Assignment.EMPTY).assignment(), "pending revocation is still a's");

        a = hb("a", 1, kept);
        assertEquals(2, a.memberEpoch());
        assertEquals(kept, a.assignment(), "a's kept partitions never left it");
        Heartbeat.Response b2 = hb("b", 2, Assignment.EMPTY);
        assertEquals(parts(0, 1, 2, 3).minus(kept), b2.assignment());
        assertEquals(GroupState.STABLE, shard.group("g").state());
    }

    @Test
    void heartbeat_wrongEpoch_isFenced_butThePreviousEpochWithOwnedSubsetIsAccepted() {
        hb("a", 0, Assignment.EMPTY);
        hb("b", 0, Assignment.EMPTY);
        Assignment kept = hb("a", 1, parts(0, 1, 2, 3)).assignment();
        hb("a", 1, kept); // now epoch 2
        assertEquals(GroupError.FENCED_MEMBER_EPOCH, hb("a", 7, kept).error());
        // the answer that moved a to epoch 2 was lost: a retries with epoch 1 and what it owns
        Heartbeat.Response retry = hb("a", 1, kept);
        assertEquals(GroupError.NONE, retry.error());
        assertEquals(2, retry.memberEpoch());
        assertEquals(GroupError.FENCED_MEMBER_EPOCH, hb("a", 1, parts(0, 1, 2, 3)).error(), "owning more than assigned");
        assertEquals(GroupError.UNKNOWN_MEMBER_ID, hb("zz", 3, Assignment.EMPTY).error());
    }

    @Test
    void leave_dynamicMember_freesItsPartitionsAtOnce() {
        Assignment bHas = twoMembersReconciled();
        Heartbeat.Response left = hb("a", GroupShard.LEAVE_EPOCH, Assignment.EMPTY);
        assertEquals(GroupShard.LEAVE_EPOCH, left.memberEpoch());
        Heartbeat.Response b = hb("b", shard.group("g").member("b").memberEpoch(), bHas);
        assertEquals(parts(0, 1, 2, 3), b.assignment());
        assertNull(shard.group("g").member("a"));
    }

    /** KIP-848 "Static membership": a restart within the session timeout moves nothing. */
    @Test
    void staticMember_restart_takesOverItsPartitionsWithoutMovingAny() {
        hb("a1", "ia", 0, Assignment.EMPTY);
        hb("b", 0, Assignment.EMPTY);
        Assignment aKept = hb("a1", "ia", 1, parts(0, 1, 2, 3)).assignment();
        hb("a1", "ia", 1, aKept);
        Assignment bHas = hb("b", 2, Assignment.EMPTY).assignment();
        int epochBefore = shard.group("g").groupEpoch();

        assertEquals(GroupShard.LEAVE_STATIC_EPOCH, hb("a1", "ia", GroupShard.LEAVE_STATIC_EPOCH, Assignment.EMPTY).memberEpoch());
        assertEquals(bHas, hb("b", 2, bHas).assignment(), "b is not given a's partitions");
        Heartbeat.Response back = hb("a2", "ia", 0, Assignment.EMPTY);
        assertEquals(GroupError.NONE, back.error());
        assertEquals(aKept, back.assignment());
        assertEquals(epochBefore, shard.group("g").groupEpoch(), "no rebalance");
        assertNull(shard.group("g").member("a1"));
    }

    @Test
    void staticMember_instanceHeldByALiveMember_isUnreleased() {
        hb("a1", "ia", 0, Assignment.EMPTY);
        assertEquals(GroupError.UNRELEASED_INSTANCE_ID, hb("a2", "ia", 0, Assignment.EMPTY).error());
    }

    @Test
    void session_expiresOnlyAfterTheTimeout_andFreesThePartitions() {
        hb("a", 0, Assignment.EMPTY);
        now += CONFIG.sessionTimeoutMs();
        assertTrue(shard.poll(topics, now).records().isEmpty(), "not expired at exactly the timeout");
        now += 1;
        List<GroupRecord> expired = shard.poll(topics, now).records();
        assertFalse(expired.isEmpty());
        assertEquals(0, shard.group("g").memberCount());
        assertTrue(shard.group("g").owners().isEmpty());
        assertEquals(GroupState.EMPTY, shard.group("g").state());
    }

    @Test
    void commit_carriesTheMemberEpoch_andAFencedMemberIsRejected() {
        hb("a", 0, Assignment.EMPTY);
        var ok = shard.commitOffsets("g", "a", 1, List.of(new GroupShard.CommitEntry(new PartitionKey("t", 0), 42, 3, "m")), now);
        assertEquals(GroupError.NONE, ok.response().error());
        assertEquals(1, ok.records().size());
        var stale = shard.commitOffsets("g", "a", 0, List.of(new GroupShard.CommitEntry(new PartitionKey("t", 0), 50, 3, "")), now);
        assertEquals(GroupError.STALE_MEMBER_EPOCH, stale.response().error());
        assertTrue(stale.records().isEmpty());
        var standalone = shard.commitOffsets("g", "", -1, List.of(new GroupShard.CommitEntry(new PartitionKey("t", 0), 1, -1, "")), now);
        assertEquals(GroupError.NON_EMPTY_GROUP, standalone.response().error(), "no admin commit while the group has members");
        var tooLong = shard.commitOffsets("g", "a", 1, List.of(new GroupShard.CommitEntry(new PartitionKey("t", 1), 1, -1,
                "x".repeat(17))), now);
        assertEquals(GroupError.OFFSET_METADATA_TOO_LARGE, tooLong.response().partitions().get(new PartitionKey("t", 1)));
        GroupShard.FetchResponse f = shard.fetchOffsets("g", "a", 1, null);
        assertEquals(42, f.offsets().get(new PartitionKey("t", 0)).offset());
        assertEquals("m", f.offsets().get(new PartitionKey("t", 0)).metadata());
        assertEquals(GroupError.STALE_MEMBER_EPOCH, shard.fetchOffsets("g", "a", 9, null).error());
    }

    @Test
    void deleteGroup_refusedWithMembers_thenRemovesEverything() {
        hb("a", 0, Assignment.EMPTY);
        shard.commitOffsets("g", "a", 1, List.of(new GroupShard.CommitEntry(new PartitionKey("t", 0), 5, -1, "")), now);
        assertEquals(GroupError.NON_EMPTY_GROUP, shard.deleteGroup("g", now).response());
        hb("a", GroupShard.LEAVE_EPOCH, Assignment.EMPTY);
        Result<GroupError> del = shard.deleteGroup("g", now);
        log.addAll(del.records());
        assertEquals(GroupError.NONE, del.response());
        assertNull(shard.group("g"));
        assertEquals(GroupError.GROUP_ID_NOT_FOUND, shard.deleteGroup("g", now).response());
    }

    @Test
    void emptyGroup_expiresAfterTheOffsetsRetention() {
        var c = shard.commitOffsets("g", "", -1, List.of(new GroupShard.CommitEntry(new PartitionKey("t", 0), 5, -1, "")), now);
        assertEquals(GroupError.NONE, c.response().error());
        now += CONFIG.offsetsRetentionMs();
        shard.poll(topics, now);
        assertTrue(shard.group("g") != null);
        now += 1;
        shard.poll(topics, now);
        assertNull(shard.group("g"));
    }

    @Test
    void deletedTopic_offsetsAreRemoved() {
        shard.commitOffsets("g", "", -1, List.of(new GroupShard.CommitEntry(new PartitionKey("t", 0), 5, -1, ""),
                new GroupShard.CommitEntry(new PartitionKey("u", 0), 6, -1, "")), now);
        shard.removeTopicOffsets(Set.of("t"), now);
        assertEquals(Set.of(new PartitionKey("u", 0)), shard.group("g").offsets().keySet());
    }

    @Test
    void regexSubscription_picksUpNewTopicsAndPartitions() {
        Heartbeat.Request join = new Heartbeat.Request("g", "a", 0, null, "c", "h", 5_000, List.of(), "t.*", null, Assignment.EMPTY);
        assertEquals(4, shard.heartbeat(join, topics, now).response().assignment().size());
        topics = TopicsView.of(Map.of("t", 5, "tx", 2, "other", 3, "__consumer_offsets", 50));
        assertFalse(shard.poll(topics, now).records().isEmpty(), "the poll re-targets the group");
        Heartbeat.Response r = hb("a", shard.group("g").member("a").memberEpoch(), parts(0, 1, 2, 3));
        assertEquals(7, r.assignment().size());
    }

    @Test
    void invalidRequests_getTypedErrors() {
        Heartbeat.Request badRegex = new Heartbeat.Request("g", "a", 0, null, "c", "h", 5_000, List.of(), "t(", null, null);
        assertEquals(GroupError.INVALID_REGULAR_EXPRESSION, shard.heartbeat(badRegex, topics, now).response().error());
        Heartbeat.Request badAssignor = new Heartbeat.Request("g", "a", 0, null, "c", "h", 5_000, List.of("t"), null, "sticky", null);
        assertEquals(GroupError.UNSUPPORTED_ASSIGNOR, shard.heartbeat(badAssignor, topics, now).response().error());
        Heartbeat.Request noSubscription = new Heartbeat.Request("g", "a", 0, null, "c", "h", 5_000, null, null, null, null);
        assertEquals(GroupError.INVALID_REQUEST, shard.heartbeat(noSubscription, topics, now).response().error());
        assertNull(shard.group("g"), "nothing written for a refused request");
    }

    @Test
    void groupSize_isLimited() {
        for (int i = 0; i < CONFIG.groupSizeMax(); i++) {
            assertEquals(GroupError.NONE, hb("m" + i, 0, Assignment.EMPTY).error());
        }
        assertEquals(GroupError.GROUP_MAX_SIZE_REACHED, hb("extra", 0, Assignment.EMPTY).error());
    }

    @Test
    void replayOfTheRecords_rebuildsTheSameGroups() {
        hb("a", 0, Assignment.EMPTY);
        hb("b", "ib", 0, Assignment.EMPTY);
        Assignment kept = hb("a", 1, parts(0, 1, 2, 3)).assignment();
        hb("a", 1, kept);
        hb("b", "ib", 2, Assignment.EMPTY);
        log.addAll(shard.commitOffsets("g", "a", 2, List.of(new GroupShard.CommitEntry(new PartitionKey("t", 0), 9, 1, "x")), now)
                .records());
        GroupShard replayed = new GroupShard(CONFIG);
        log.forEach(r -> replayed.replay(r, now));
        assertEquals(shard.group("g").durableState(), replayed.group("g").durableState());
    }
}

package dev.basalt.broker.replica.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Goal: the leader-side replication rules of {@link LeaderState}, one assertion per rule, each
 * citing the KIP or the Kafka behaviour it follows. Method: plain calls with explicit {@code nowMs}.
 * Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=LeaderStateTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class LeaderStateTest {
    private static final long LAG_MS = 10_000;

    /** Leader 1 of replicas [1,2,3], ISR all three, epoch 5 starting at offset 100, HW 100. */
    private static LeaderState threeReplicas(int minIsr, boolean durable) {
        return new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 2, 3), minIsr, durable, 100, 100, 0);
    }

    /**
     * Found probing a cluster: a replica down longer than delete.retention.ms never received a
     * tombstone the leader had compacted away, and kept the deleted value for good. Tombstones are
     * removed only below where every replica, in the ISR or not, holds the log.
     */
    @Test
    void allReplicasOffset_isTheSmallestFlushedOffsetOfEveryReplica_unknownCountingAsZero() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 2), 1, false, 100, 100, 0);
        s.updateLeaderLog(150, 150);
        assertEquals(0, s.allReplicasOffset(), "no follower heard from in this epoch");
        s.recordFollowerFetch(2, 150, 150, 10);
        assertEquals(150, s.highWatermark(), "the ISR [1, 2] has it all");
        assertEquals(0, s.allReplicasOffset(), "replica 3 (out of the ISR, maybe down) was never heard from");
        s.recordFollowerFetch(3, 90, 90, 20);
        assertEquals(90, s.allReplicasOffset(), "replica 3 holds only up to 90");
        s.recordFollowerFetch(3, 150, 120, 30);
        assertEquals(120, s.allReplicasOffset(), "replica 3 has fetched to 150 but fsynced only to 120");
        s.recordFollowerFetch(3, 150, 150, 35);
        assertEquals(150, s.allReplicasOffset());
        s.updateLeaderLog(170, 170);
        assertEquals(150, s.allReplicasOffset(), "the followers have not fetched the new records yet");
        LeaderState alone = new LeaderState(1, 5, 100, 7, List.of(1), List.of(1), 1, false, 100, 100, 0);
        alone.updateLeaderLog(130, 130);
        assertEquals(130, alone.allReplicasOffset(), "a single replica holds its own log");
    }

    @Test
    void hw_isMinimumLogEndOffsetOverIsr_inMemoryMode() {
        LeaderState s = threeReplicas(2, false);
        assertFalse(s.updateLeaderLog(150, 100), "followers have not fetched in this epoch: no HW move (KIP-101)");
        assertEquals(100, s.highWatermark());
        s.recordFollowerFetch(2, 150, 0, 10);
        assertEquals(100, s.highWatermark(), "follower 3 unknown: HW waits for every ISR member");
        assertTrue(s.recordFollowerFetch(3, 120, 0, 10));
        assertEquals(120, s.highWatermark(), "HW = min LEO over ISR = 120");
    }

    @Test
    void hw_durableAcks_countsOnlyFlushedOffsets_leaderIncluded() {
        LeaderState s = threeReplicas(2, true);
        s.updateLeaderLog(150, 110);
        s.recordFollowerFetch(2, 150, 150, 10);
        s.recordFollowerFetch(3, 150, 140, 10);
        assertEquals(110, s.highWatermark(), "the leader's own fsync bounds the HW in durable mode");
        s.updateLeaderLog(150, 150);
        assertEquals(140, s.highWatermark(), "follower 3 fsynced only up to 140");
        s.recordFollowerFetch(3, 150, 150, 20);
        assertEquals(150, s.highWatermark());
    }

    @Test
    void hw_neverMovesBackwards() {
        LeaderState s = threeReplicas(1, false);
        s.updateLeaderLog(150, 150);
        s.recordFollowerFetch(2, 150, 150, 1);
        s.recordFollowerFetch(3, 150, 150, 1);
        assertEquals(150, s.highWatermark());
        // A restarted follower lost its unflushed tail and fetches from a lower offset.
        s.recordFollowerFetch(3, 130, 130, 2);
        assertEquals(150, s.highWatermark(), "the HW is monotonic even when a follower's LEO regresses");
    }

    @Test
    void hw_advancesOnlyWhileIsrHasMinInsyncReplicas_kip966() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1), 2, false, 100, 100, 0);
        s.updateLeaderLog(120, 120);
        assertFalse(s.hasMinIsr());
        assertEquals(100, s.highWatermark(), "KIP-966: ISR of 1 < min ISR 2: the HW stays, even for acks=1 data");
        s.recordFollowerFetch(2, 120, 120, 5);
        Optional<IsrChange> expand = s.maybeProposeIsrChange(5, LAG_MS);
        assertTrue(expand.isPresent());
        assertEquals(List.of(1, 2), expand.get().newIsr());
        assertFalse(expand.get().shrink());
        assertEquals(100, s.highWatermark(), "the committed ISR is still below min ISR while the expansion is pending");
        assertTrue(s.applyCommittedIsr(8, List.of(1, 2)));
        assertEquals(120, s.highWatermark());
        assertTrue(s.hasMinIsr());
    }

    /** KIP-841: a caught-up follower the metadata shows fenced (killed on an idle partition) is not proposed. */
    @Test
    void expand_onlyToEligibleReplicas() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1), 1, false, 100, 100, 0);
        s.updateLeaderLog(120, 120);
        s.recordFollowerFetch(2, 120, 120, 5);
        s.recordFollowerFetch(3, 120, 120, 5);
        assertEquals(List.of(1, 2), s.maybeProposeIsrChange(6, LAG_MS, id -> id != 3).orElseThrow().newIsr(), "3 is fenced");
        s.applyCommittedIsr(8, List.of(1, 2));
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(7, LAG_MS, id -> id != 3), "no eligible follower: nothing to propose");
        assertEquals(List.of(1, 2, 3), s.maybeProposeIsrChange(8, LAG_MS, id -> true).orElseThrow().newIsr());
    }

    /**
     * An expansion that timed out or was refused may still be applied (its request delivered late,
     * or the controller committing after it answered): its joiner keeps holding the HW back until a
     * newer partition epoch rules it out, and when the joiner is no longer in sync the leader
     * commits the ISR as it is (a fence) to get there. Found by the replication simulation, seed
     * 9795199:13: the joiner became an ISR member lacking an acknowledged batch.
     */
    @Test
    void failedExpansion_keepsItsJoinerInTheMaximalIsrUntilANewerPartitionEpoch() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 3), 1, false, 100, 100, 0);
        s.recordFollowerFetch(3, 100, 100, 1);
        s.recordFollowerFetch(2, 100, 100, 1);
        IsrChange expand = s.maybeProposeIsrChange(2, LAG_MS).orElseThrow();
        assertEquals(List.of(1, 2, 3), expand.newIsr());
        s.failPendingIsrChange(expand);
        assertEquals(List.of(2), s.unresolvedJoiners());
        s.updateLeaderLog(150, 150);
        s.recordFollowerFetch(3, 150, 150, 3);
        assertEquals(100, s.highWatermark(), "2 may still join the ISR: the HW waits for it");
        // 2 stops fetching (it crashed). While the metadata shows it unfenced and it is within the
        // lag time, the expansion is retried; once it is fenced, or lags, the leader fences it off.
        assertEquals(expand, s.maybeProposeIsrChange(4, LAG_MS).orElseThrow());
        s.failPendingIsrChange(expand);
        assertEquals(new IsrChange(5, 7, List.of(1, 3), false), s.maybeProposeIsrChange(5, LAG_MS, id -> id != 2).orElseThrow());
        s.failPendingIsrChange(new IsrChange(5, 7, List.of(1, 3), false));
        s.recordFollowerFetch(3, 150, 150, LAG_MS + 2);
        IsrChange fence = s.maybeProposeIsrChange(LAG_MS + 2, LAG_MS).orElseThrow();
        assertEquals(new IsrChange(5, 7, List.of(1, 3), false), fence, "2 last caught up at 1: lagging for longer than " + LAG_MS);
        assertEquals(100, s.highWatermark(), "until the fence commits");
        assertTrue(s.applyCommittedIsr(8, List.of(1, 3)));
        assertEquals(150, s.highWatermark());
        assertEquals(List.of(), s.unresolvedJoiners());
    }

    @Test
    void failedExpansion_isRetriedWhileTheJoinerStaysInSync_andAStaleFailureChangesNothing() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 3), 1, false, 100, 100, 0);
        s.recordFollowerFetch(2, 100, 100, 1);
        IsrChange expand = s.maybeProposeIsrChange(2, LAG_MS).orElseThrow();
        s.failPendingIsrChange(expand);
        IsrChange retry = s.maybeProposeIsrChange(3, LAG_MS).orElseThrow();
        assertEquals(expand, retry, "the same expansion again");
        s.failPendingIsrChange(new IsrChange(5, 6, List.of(1, 2, 3), false)); // an answer to an older attempt
        assertEquals(Optional.of(retry), s.pendingIsrChange());
        s.updateLeaderLog(130, 130);
        s.recordFollowerFetch(2, 120, 120, 4);
        s.recordFollowerFetch(3, 130, 130, 4);
        assertEquals(120, s.highWatermark(), "2 counts from its proposal (KIP-497)");
        s.applyCommittedIsr(8, List.of(1, 2, 3));
        assertEquals(List.of(1, 2, 3), s.isr());
        assertEquals(List.of(), s.unresolvedJoiners());
    }

    /**
     * On a wall-clock timeline (the broker passes epoch milliseconds): a joiner whose expansion
     * failed is tried again up to exactly lagTimeMax after it last caught up, and fenced off only
     * after that. Small test clocks could not tell the lag from a sum of the two times.
     */
    @Test
    void failedExpansion_givesUpOnItsJoinerOnlyPastTheLagTime() {
        long t = 1_764_000_000_000L;
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 3), 1, false, 100, 100, t);
        s.recordFollowerFetch(2, 100, 100, t);
        IsrChange expand = s.maybeProposeIsrChange(t + 1, LAG_MS).orElseThrow();
        s.failPendingIsrChange(expand);
        s.recordFollowerFetch(3, 100, 100, t + LAG_MS);
        assertEquals(expand, s.maybeProposeIsrChange(t + LAG_MS, LAG_MS).orElseThrow(), "caught up exactly lagTimeMax ago");
        s.failPendingIsrChange(expand);
        s.recordFollowerFetch(3, 100, 100, t + LAG_MS + 1);
        assertEquals(new IsrChange(5, 7, List.of(1, 3), false), s.maybeProposeIsrChange(t + LAG_MS + 1, LAG_MS).orElseThrow());
    }

    /** A fetch's own expansion: only the replica that fetched, only when nothing is pending or unresolved. */
    @Test
    void proposeJoin_addsOnlyTheFetchingReplica() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1), 1, false, 100, 100, 0);
        s.recordFollowerFetch(2, 100, 100, 1);
        s.recordFollowerFetch(3, 100, 100, 1);
        assertEquals(Optional.empty(), s.maybeProposeJoin(1, id -> true), "the leader itself");
        assertEquals(Optional.empty(), s.maybeProposeJoin(3, id -> id != 3), "not eligible (fenced)");
        IsrChange join = s.maybeProposeJoin(3, id -> true).orElseThrow();
        assertEquals(new IsrChange(5, 7, List.of(1, 3), false), join, "3 alone, though 2 is in sync too");
        assertEquals(Optional.empty(), s.maybeProposeJoin(2, id -> true), "one change at a time");
        s.failPendingIsrChange(join);
        assertEquals(Optional.empty(), s.maybeProposeJoin(2, id -> true), "an unresolved joiner: left to the periodic check");
        assertEquals(Optional.of(new IsrChange(5, 7, List.of(1, 2, 3), false)), s.maybeProposeIsrChange(2, LAG_MS));
        s.applyCommittedIsr(8, List.of(1, 2, 3));
        assertEquals(Optional.empty(), s.maybeProposeJoin(2, id -> true), "already a member");
        LeaderState behind = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1), 1, false, 100, 100, 0);
        behind.recordFollowerFetch(2, 99, 99, 1);
        assertEquals(Optional.empty(), behind.maybeProposeJoin(2, id -> true), "below the HW");
    }

    @Test
    void isrChanges_needAPositiveLagTime() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 3), 1, false, 100, 100, 0);
        assertThrows(IllegalArgumentException.class, () -> s.maybeProposeIsrChange(1, 0));
        assertThrows(IllegalArgumentException.class, () -> s.maybeProposeIsrChange(1, -1));
    }

    /**
     * With durable acks a joiner must hold this epoch's inherited prefix flushed: writes committed in
     * the previous epoch may lie above the new leader's HW, and an unflushed copy is lost to a power
     * loss, after which the member could be elected. Found by the replication simulation, seed
     * -5165579552139969814:16.
     */
    @Test
    void expand_withDurableAcks_requiresTheInheritedPrefixFlushed() {
        LeaderState s = new LeaderState(2, 1, 3, 7, List.of(1, 2, 3), List.of(2), 1, true, 0, 3, 0);
        s.recordFollowerFetch(3, 3, 0, 1);
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(2, LAG_MS), "3 holds offsets 0..2 but has flushed none of them");
        s.recordFollowerFetch(3, 3, 3, 3);
        assertEquals(List.of(2, 3), s.maybeProposeIsrChange(4, LAG_MS).orElseThrow().newIsr());
        LeaderState inMemory = new LeaderState(2, 1, 3, 7, List.of(1, 2, 3), List.of(2), 1, false, 0, 3, 0);
        inMemory.recordFollowerFetch(3, 3, 0, 1);
        assertEquals(List.of(2, 3), inMemory.maybeProposeIsrChange(2, LAG_MS).orElseThrow().newIsr(), "without durable acks the LEO counts");
    }

    @Test
    void failedShrink_leavesNoUnresolvedJoiner() {
        LeaderState s = threeReplicas(1, false);
        IsrChange c = s.maybeProposeIsrChange(LAG_MS + 1, LAG_MS).orElseThrow();
        s.failPendingIsrChange(c);
        assertEquals(List.of(), s.unresolvedJoiners());
    }

    @Test
    void shrink_dropsFollowerNotCaughtUpForLongerThanLagTime() {
        LeaderState s = threeReplicas(1, false);
        s.updateLeaderLog(200, 200);
        s.recordFollowerFetch(2, 200, 200, 1_000);
        s.recordFollowerFetch(3, 150, 150, 1_000); // behind, and no previous fetch to be measured against
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(LAG_MS, LAG_MS), "exactly lag time: not yet (strictly longer)");
        Optional<IsrChange> c = s.maybeProposeIsrChange(LAG_MS + 1, LAG_MS);
        assertTrue(c.isPresent());
        assertEquals(new IsrChange(5, 7, List.of(1, 2), true), c.get());
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(LAG_MS + 2, LAG_MS), "at most one pending change");
        // Until committed, HW is computed over the maximal ISR (still including 3).
        assertEquals(150, s.highWatermark());
        assertTrue(s.applyCommittedIsr(8, List.of(1, 2)));
        assertEquals(200, s.highWatermark(), "the laggard no longer holds the HW back");
        assertEquals(List.of(1, 2), s.isr());
        assertEquals(8, s.partitionEpoch());
    }

    @Test
    void caughtUp_followerKeepingPaceWithPreviousFetch_isNotLagging() {
        // Kafka Replica.updateFetchState: reaching the leader's LEO of the previous fetch counts as
        // caught up at that previous fetch, so steady produce load never shrinks a healthy follower.
        LeaderState s = threeReplicas(1, false);
        long now = 0;
        long leo = 100;
        for (int i = 0; i < 100; i++) {
            now += 500;
            long fetchOffset = leo;
            leo += 10;
            s.updateLeaderLog(leo, leo);
            s.recordFollowerFetch(2, fetchOffset, fetchOffset, now);
            s.recordFollowerFetch(3, fetchOffset, fetchOffset, now);
        }
        assertEquals(List.of(), s.laggingIsrFollowers(now + 1, LAG_MS));
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(now + 1, LAG_MS));
    }

    @Test
    void shrink_neverRemovesTheLeader_andFailedChangeMayBeRetried() {
        LeaderState s = threeReplicas(1, false);
        IsrChange c = s.maybeProposeIsrChange(LAG_MS + 1, LAG_MS).orElseThrow();
        assertEquals(List.of(1), c.newIsr(), "both silent followers are dropped, never the leader");
        s.failPendingIsrChange(c);
        assertEquals(c, s.maybeProposeIsrChange(LAG_MS + 2, LAG_MS).orElseThrow());
    }

    @Test
    void expand_requiresHwAndEpochStartOffset_kip101() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 2), 1, false, 90, 100, 0);
        s.updateLeaderLog(130, 130);
        s.recordFollowerFetch(2, 130, 130, 1);
        assertEquals(130, s.highWatermark());
        s.recordFollowerFetch(3, 95, 95, 1);
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(2, LAG_MS), "below the epoch start and the HW: not in sync");
        s.recordFollowerFetch(3, 129, 129, 2);
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(3, LAG_MS), "past the epoch start but below HW 130");
        s.recordFollowerFetch(3, 130, 130, 3);
        assertEquals(List.of(1, 2, 3), s.maybeProposeIsrChange(4, LAG_MS).orElseThrow().newIsr());
    }

    @Test
    void expand_pendingMemberCountsForHwAtOnce_maximalIsr() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2), List.of(1), 1, false, 100, 100, 0);
        s.updateLeaderLog(110, 110);
        assertEquals(110, s.highWatermark());
        s.recordFollowerFetch(2, 110, 110, 1);
        s.maybeProposeIsrChange(1, LAG_MS).orElseThrow();
        s.updateLeaderLog(130, 130);
        assertEquals(110, s.highWatermark(), "the proposed member must hold what the HW covers before the controller commits");
        s.recordFollowerFetch(2, 130, 130, 2);
        assertEquals(130, s.highWatermark());
    }

    @Test
    void committedIsr_staleOrReplayedEpochIsIgnored() {
        LeaderState s = threeReplicas(1, false);
        assertFalse(s.applyCommittedIsr(7, List.of(1)));
        assertEquals(List.of(1, 2, 3), s.isr());
        assertThrows(IllegalArgumentException.class, () -> s.applyCommittedIsr(9, List.of(2, 3)),
                "an ISR without the leader comes with a new leader epoch, never within this one");
    }

    /**
     * Found probing: a follower killed on an idle partition (its offsets still equal the HW) was
     * proposed again on those stale offsets as soon as its broker was unfenced, dropped by the next
     * check for its old caught-up time, and added again by its first real fetch: the ISR flapped
     * on every idle partition at each broker restart. It joins only once it has caught up lately.
     */
    @Test
    void restartedFollower_ofAnIdlePartition_joinsOnlyAfterFetchingAgain_andStays() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 2, 3), 1, false, 100, 100, 0);
        s.updateLeaderLog(120, 120);
        s.recordFollowerFetch(2, 120, 120, 1_000);
        s.recordFollowerFetch(3, 120, 120, 1_000); // then broker 3 is killed
        long now = 1_000 + LAG_MS + 1;
        s.recordFollowerFetch(2, 120, 120, now);
        assertEquals(List.of(1, 2), s.maybeProposeIsrChange(now, LAG_MS, id -> id != 3).orElseThrow().newIsr());
        s.applyCommittedIsr(8, List.of(1, 2));
        long back = now + 60_000; // broker 3 restarted and is unfenced, but has not fetched yet
        s.recordFollowerFetch(2, 120, 120, back);
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(back, LAG_MS, id -> true),
                "its offsets are a minute old: not proposed on them");
        s.recordFollowerFetch(3, 120, 120, back + 200);
        assertEquals(List.of(1, 2, 3), s.maybeProposeIsrChange(back + 200, LAG_MS, id -> true).orElseThrow().newIsr());
        s.applyCommittedIsr(9, List.of(1, 2, 3));
        assertEquals(Optional.empty(), s.maybeProposeIsrChange(back + 450, LAG_MS, id -> true), "no shrink right after");
        assertEquals(List.of(), s.laggingIsrFollowers(back + 450, LAG_MS));
    }

    @Test
    void joinedMember_isNotDroppedAtTheNextCheck() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2), List.of(1), 1, false, 100, 100, 0);
        long now = 50_000;
        s.updateLeaderLog(200, 200);
        s.recordFollowerFetch(2, 200, 200, now);
        s.maybeProposeIsrChange(now, LAG_MS).orElseThrow();
        s.updateLeaderLog(210, 210); // more data arrived while the controller commits the change
        s.applyCommittedIsr(8, List.of(1, 2));
        assertEquals(List.of(), s.laggingIsrFollowers(now + LAG_MS, LAG_MS),
                "its lag clock starts at its last in-sync fetch, not at its (older) last caught-up time");
    }

    @Test
    void followerFetchBeyondLeaderLog_isRejected() {
        LeaderState s = threeReplicas(1, false);
        assertThrows(IllegalArgumentException.class, () -> s.recordFollowerFetch(2, 101, 101, 0));
        assertThrows(IllegalArgumentException.class, () -> s.recordFollowerFetch(1, 100, 100, 0), "the leader is no follower");
        assertThrows(IllegalArgumentException.class, () -> s.recordFollowerFetch(4, 100, 100, 0));
    }

    @Test
    void readReplica_mustBeInIsrAndCaughtUpToHw_kip392() {
        LeaderState s = threeReplicas(1, false);
        s.updateLeaderLog(150, 150);
        s.recordFollowerFetch(2, 150, 150, 1);
        s.recordFollowerFetch(3, 120, 120, 1);
        assertEquals(120, s.highWatermark());
        assertTrue(s.isCaughtUpReadReplica(2));
        assertTrue(s.isCaughtUpReadReplica(3));
        s.recordFollowerFetch(3, 150, 150, 2);
        s.updateLeaderLog(170, 170);
        s.recordFollowerFetch(2, 170, 170, 3);
        assertTrue(s.isCaughtUpReadReplica(3), "HW 150 reached");
    }

    /** PIT: the min-ISR checks and the read-only view survived; pin them (found by the mutation run). */
    @Test
    void minIsrBelowOneIsRejectedAtCreationAndOnUpdate() {
        assertThrows(IllegalArgumentException.class,
                () -> new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 2, 3), 0, false, 100, 100, 0));
        LeaderState s = threeReplicas(1, false);
        assertThrows(IllegalArgumentException.class, () -> s.updateConfig(0, false));
        assertEquals(1, s.minInsyncReplicas(), "a refused update changes nothing");
    }

    @Test
    void readOnlyViewReflectsTheConstructorAndUpdates() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(3, 1, 2), List.of(2, 1), 2, true, 90, 95, 0);
        assertEquals(5, s.leaderEpoch());
        assertEquals(100, s.epochStartOffset());
        assertEquals(7, s.partitionEpoch());
        assertEquals(List.of(3, 1, 2), s.replicas());
        assertEquals(List.of(1, 2), s.isr(), "the ISR is kept sorted");
        assertEquals(2, s.minInsyncReplicas());
        assertTrue(s.durableAcks());
        assertEquals(100, s.leaderLogEndOffset());
        assertEquals(95, s.leaderFlushedOffset());
        assertTrue(s.follower(2).isPresent());
        assertFalse(s.follower(1).isPresent(), "the leader is not its own follower");
        assertFalse(s.follower(9).isPresent());
        s.updateConfig(1, false);
        assertEquals(1, s.minInsyncReplicas());
        assertFalse(s.durableAcks());
    }

    @Test
    void readReplicaMustBeInTheIsrAndCaughtUpToTheHighWatermark() {
        LeaderState s = new LeaderState(1, 5, 100, 7, List.of(1, 2, 3), List.of(1, 2), 1, false, 100, 100, 0);
        assertTrue(s.isCaughtUpReadReplica(1), "the leader itself");
        assertFalse(s.isCaughtUpReadReplica(2), "no fetch yet in this epoch");
        s.recordFollowerFetch(2, 100, 100, 10);
        assertTrue(s.isCaughtUpReadReplica(2));
        s.recordFollowerFetch(3, 100, 100, 10);
        assertFalse(s.isCaughtUpReadReplica(3), "caught up but outside the committed ISR");
        assertFalse(s.isCaughtUpReadReplica(9), "not a replica");
    }
}

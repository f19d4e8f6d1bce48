package dev.basalt.log.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.EpochEndOffset;
import dev.basalt.log.StaleLeaderEpochException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The leader-epoch cache against Kafka's LeaderEpochFileCache semantics (KIP-101, KIP-279):
 * assignment, OffsetForLeaderEpoch answers, truncation from either end, and the state codec.
 * Pure and deterministic; reproduce with {@code ./mvnw -B -ntp -pl log-engine -am verify
 * -Dtest=LeaderEpochCacheTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class LeaderEpochCacheTest {
    @Test
    void assign_keepsEpochsAndOffsetsStrictlyIncreasing() {
        LeaderEpochCache c = new LeaderEpochCache();
        assertTrue(c.assign(1, 0));
        assertFalse(c.assign(1, 5), "same epoch at a later offset is not a new entry");
        assertTrue(c.assign(3, 10));
        assertEquals(List.of(new LeaderEpochCache.EpochEntry(1, 0), new LeaderEpochCache.EpochEntry(3, 10)), c.entries());
    }

    /**
     * Found probing: a leader elected twice at the same log end (two restarts of an RF-1
     * partition's node, no append between) held 4@5 and 6@5; epochAt(5) named epoch 4, and the
     * first read of the records then written in epoch 6 took them for a damaged epoch field: on an
     * only copy, acknowledged records declared lost and appends refused.
     */
    @Test
    void aNewerEpochAtTheLatestStart_replacesTheEpochThatWroteNothing() {
        LeaderEpochCache c = new LeaderEpochCache();
        assertTrue(c.assign(2, 0));
        assertTrue(c.assign(4, 5));
        assertTrue(c.assign(6, 5));
        assertEquals(List.of(new LeaderEpochCache.EpochEntry(2, 0), new LeaderEpochCache.EpochEntry(6, 5)), c.entries());
        assertEquals(6, c.epochAt(5));
        assertEquals(6, c.epochAt(9));
        assertEquals(2, c.epochAt(4));
        assertEquals(new EpochEndOffset(2, 5), c.endOffsetFor(4, 10), "epoch 4 ended where it began");
    }

    @Test
    void assign_refusesAnOlderEpochInsteadOfDroppingTheNewer() {
        // Issue 9 §1: a deposed leader's append in epoch 2 after epoch 3 began must fail, not erase epoch 3.
        LeaderEpochCache c = new LeaderEpochCache();
        c.assign(1, 0);
        c.assign(3, 10);
        StaleLeaderEpochException e = assertThrows(StaleLeaderEpochException.class, () -> c.assign(2, 12));
        assertEquals(2, e.staleEpoch());
        assertEquals(3, e.latestEpoch());
        assertThrows(IllegalStateException.class, () -> c.assign(4, 7), "offsets never go back without a truncation");
        assertEquals(List.of(new LeaderEpochCache.EpochEntry(1, 0), new LeaderEpochCache.EpochEntry(3, 10)), c.entries(),
                "refusals leave the cache untouched");
        // After a truncation (a follower's KIP-101 step) an older epoch may continue.
        c.truncateFromEnd(10);
        assertTrue(c.assign(2, 10));
    }

    @Test
    void assignFromLog_followsTheSegmentsDuringRecovery() {
        LeaderEpochCache c = new LeaderEpochCache(List.of(new LeaderEpochCache.EpochEntry(4, 0),
                new LeaderEpochCache.EpochEntry(5, 100)));
        assertFalse(c.assignFromLog(4, 50), "a batch of the epoch already covering its offset changes nothing");
        assertFalse(c.assignFromLog(5, 120));
        assertTrue(c.assignFromLog(3, 60), "the segment outranks the cache: conflicting entries go");
        assertEquals(List.of(new LeaderEpochCache.EpochEntry(3, 60)), c.entries());
    }

    @Test
    void endOffsetFor_matchesOffsetForLeaderEpoch() {
        LeaderEpochCache c = new LeaderEpochCache(List.of(new LeaderEpochCache.EpochEntry(2, 10),
                new LeaderEpochCache.EpochEntry(4, 20), new LeaderEpochCache.EpochEntry(7, 35)));
        long leo = 50;
        assertEquals(new EpochEndOffset(7, 50), c.endOffsetFor(7, leo), "current epoch: log end");
        assertEquals(new EpochEndOffset(4, 35), c.endOffsetFor(5, leo), "gap epoch: floor epoch, next start");
        assertEquals(new EpochEndOffset(4, 35), c.endOffsetFor(4, leo));
        assertEquals(new EpochEndOffset(1, 10), c.endOffsetFor(1, leo), "older than all: requested, first start");
        assertEquals(EpochEndOffset.UNDEFINED, c.endOffsetFor(8, leo), "newer than all");
        assertEquals(EpochEndOffset.UNDEFINED, c.endOffsetFor(-1, leo));
        assertEquals(EpochEndOffset.UNDEFINED, new LeaderEpochCache().endOffsetFor(3, leo));
    }

    @Test
    void truncation_fromEndAndStart() {
        LeaderEpochCache c = new LeaderEpochCache(List.of(new LeaderEpochCache.EpochEntry(2, 10),
                new LeaderEpochCache.EpochEntry(4, 20), new LeaderEpochCache.EpochEntry(7, 35)));
        assertTrue(c.truncateFromEnd(35));
        assertEquals(4, c.latestEpoch());
        assertTrue(c.truncateFromStart(25));
        assertEquals(List.of(new LeaderEpochCache.EpochEntry(4, 25)), c.entries());
        assertFalse(c.truncateFromStart(25));
        assertFalse(c.truncateFromStart(5));
    }

    @Test
    void partitionState_roundTrips() {
        PartitionState s = new PartitionState(42, 100, 150, 140, -1,
                List.of(new LeaderEpochCache.EpochEntry(3, 100), new LeaderEpochCache.EpochEntry(5, 120)));
        assertEquals(s, PartitionState.decode(s.encode()));
    }

    @Test
    void epochAt_namesTheEpochThatWroteAnOffset_andFollowsEveryChange() {
        LeaderEpochCache c = new LeaderEpochCache(List.of(new LeaderEpochCache.EpochEntry(2, 10),
                new LeaderEpochCache.EpochEntry(4, 20)));
        assertEquals(-1, c.epochAt(9), "before the first epoch's start");
        assertEquals(2, c.epochAt(10));
        assertEquals(2, c.epochAt(19));
        assertEquals(4, c.epochAt(20));
        assertEquals(4, c.epochAt(Long.MAX_VALUE));
        c.assign(7, 35);
        assertEquals(7, c.epochAt(35));
        assertEquals(4, c.epochAt(34));
        c.truncateFromEnd(30);
        assertEquals(4, c.epochAt(35), "epoch 7 went with the truncation");
        c.truncateFromStart(25);
        assertEquals(-1, c.epochAt(24));
        assertEquals(4, c.epochAt(25));
        c.assignFromLog(3, 22);
        assertEquals(3, c.epochAt(25), "recovery's view of the segment replaced epoch 4");
        c.clear();
        assertEquals(-1, c.epochAt(25));
    }
}

package dev.basalt.log.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.EpochEndOffset;
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
        // A smaller epoch or an earlier offset (after truncation) replaces the conflicting entries.
        assertTrue(c.assign(2, 7));
        assertEquals(List.of(new LeaderEpochCache.EpochEntry(1, 0), new LeaderEpochCache.EpochEntry(2, 7)), c.entries());
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
}

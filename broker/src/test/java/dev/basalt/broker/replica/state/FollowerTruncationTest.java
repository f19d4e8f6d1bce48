package dev.basalt.broker.replica.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.basalt.log.EpochEndOffset;
import dev.basalt.log.index.LeaderEpochCache;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Goal: the follower's truncation rule, KIP-101 (truncate to the leader's end offset of our latest
 * epoch) and KIP-279 (when the leader never wrote in our latest epoch, descend epoch by epoch).
 * Method: a local {@link LeaderEpochCache} as the follower's epochs, leader answers written out.
 * Reproduce: {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=FollowerTruncationTest
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class FollowerTruncationTest {

    private static FollowerTruncation.LocalEpochs local(LeaderEpochCache cache, long leo) {
        return epoch -> cache.endOffsetFor(epoch, leo);
    }

    @Test
    void kip101_sameEpoch_truncatesToLeadersEndOffset() {
        // Follower wrote epoch 3 up to 120; the leader's epoch 3 ended at 110 (it led epoch 4 from there).
        LeaderEpochCache ours = new LeaderEpochCache(List.of(new LeaderEpochCache.EpochEntry(3, 50)));
        var d = FollowerTruncation.decide(120, 100, 3, new EpochEndOffset(3, 110), local(ours, 120));
        assertEquals(new FollowerTruncation.Decision(110, false), d);
    }

    @Test
    void kip101_leaderAhead_nothingToTruncate() {
        LeaderEpochCache ours = new LeaderEpochCache(List.of(new LeaderEpochCache.EpochEntry(3, 50)));
        var d = FollowerTruncation.decide(90, 80, 3, new EpochEndOffset(3, 110), local(ours, 90));
        assertEquals(new FollowerTruncation.Decision(90, false), d, "min(our LEO, leader's end) keeps all we have");
    }

    @Test
    void kip279_leaderNeverWroteOurEpoch_descendsAndAsksAgain() {
        // KIP-279's scenario: we (old leader) wrote epoch 2 at [100, 130) that nobody replicated;
        // the leader answers epoch 1 ending at 105 (it wrote epoch 1 up to 105 before epoch 3).
        LeaderEpochCache ours = new LeaderEpochCache(List.of(new LeaderEpochCache.EpochEntry(1, 0),
                new LeaderEpochCache.EpochEntry(2, 100)));
        var d = FollowerTruncation.decide(130, 90, 2, new EpochEndOffset(1, 105), local(ours, 130));
        assertEquals(new FollowerTruncation.Decision(100, true), d, "min(our end of epoch 1 = 100, leader's 105)");
        // Second round after truncating to 100: our latest epoch is 1, the leader agrees at 105.
        ours.truncateFromEnd(100);
        assertEquals(1, ours.latestEpoch());
        var d2 = FollowerTruncation.decide(100, 90, 1, new EpochEndOffset(1, 105), local(ours, 100));
        assertEquals(new FollowerTruncation.Decision(100, false), d2);
    }

    @Test
    void undefinedAnswer_fallsBackToHighWatermark() {
        LeaderEpochCache ours = new LeaderEpochCache(List.of(new LeaderEpochCache.EpochEntry(4, 10)));
        assertEquals(new FollowerTruncation.Decision(40, false),
                FollowerTruncation.decide(60, 40, 4, EpochEndOffset.UNDEFINED, local(ours, 60)));
        assertEquals(new FollowerTruncation.Decision(0, false),
                FollowerTruncation.decide(0, 0, EpochEndOffset.UNDEFINED_EPOCH, EpochEndOffset.UNDEFINED, e -> EpochEndOffset.UNDEFINED),
                "an empty follower has nothing to truncate");
    }

    @Test
    void leaderAnsweringANewerEpoch_isAProtocolViolation() {
        assertThrows(IllegalArgumentException.class,
                () -> FollowerTruncation.decide(10, 0, 2, new EpochEndOffset(3, 10), e -> EpochEndOffset.UNDEFINED));
    }
}

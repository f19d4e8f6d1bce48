package dev.basalt.broker.replica.state;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.basalt.broker.testkit.SeededRuns;
import dev.basalt.log.EpochEndOffset;
import dev.basalt.log.index.LeaderEpochCache;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/**
 * Goal: the KIP-101/279 truncation exchange, run to completion between a follower and a leader
 * whose logs diverge, truncates the follower exactly to the first offset where the logs differ:
 * no divergent entry survives and no common entry is lost.
 *
 * <p>Method: differential against a naive model. Each seed builds a common prefix and two
 * divergent tails that respect the leader-epoch invariant (one writer per epoch, so the two tails
 * use disjoint epochs; at most one tail continues the last common epoch; the leader's current
 * epoch is the newest and is recorded at its log end even with no entry). The per-offset epochs
 * are compared to find the divergence point; the exchange uses {@link LeaderEpochCache} on both
 * sides and {@link FollowerTruncation#decide}, round after round, as the fetcher does.
 *
 * <p>Reproduce: a failure prints {@code ./mvnw -B -ntp -o -pl broker -am verify
 * -Dtest=FollowerTruncationProperties#replay -Dbasalt.seed=SEED -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class FollowerTruncationProperties {

    @Property(tries = 1_000)
    void truncatesExactlyToTheDivergencePoint(@ForAll long seed) {
        runOne(seed);
    }

    @Test
    void replay() {
        runOne(SeededRuns.replaySeed());
    }

    private static void runOne(long seed) {
        SeededRuns.run(FollowerTruncationProperties.class, seed, FollowerTruncationProperties::check);
    }

    /** Appends {@code count} entries of {@code epoch} to a per-offset epoch list. */
    private static void write(List<Integer> log, int epoch, int count) {
        for (int i = 0; i < count; i++) {
            log.add(epoch);
        }
    }

    private static LeaderEpochCache cacheOf(List<Integer> log) {
        LeaderEpochCache c = new LeaderEpochCache();
        for (int off = 0; off < log.size(); off++) {
            c.assign(log.get(off), off);
        }
        return c;
    }

    private static void check(SplittableRandom r) {
        List<Integer> common = new ArrayList<>();
        int epoch = -1;
        int commonEpochs = r.nextInt(4);
        for (int i = 0; i < commonEpochs; i++) {
            epoch += 1 + r.nextInt(3);
            write(common, epoch, 1 + r.nextInt(5));
        }
        int lastCommonEpoch = epoch;
        // Epochs after the prefix are handed out in increasing order to one writer each.
        List<Integer> leader = new ArrayList<>(common);
        List<Integer> follower = new ArrayList<>(common);
        boolean followerContinues = lastCommonEpoch >= 0 && r.nextBoolean();
        boolean leaderContinues = lastCommonEpoch >= 0 && !followerContinues && r.nextBoolean();
        if (followerContinues) {
            write(follower, lastCommonEpoch, r.nextInt(4));
        }
        if (leaderContinues) {
            write(leader, lastCommonEpoch, r.nextInt(4));
        }
        int next = lastCommonEpoch;
        int tailEpochs = r.nextInt(6);
        for (int i = 0; i < tailEpochs; i++) {
            next += 1 + r.nextInt(2);
            write(r.nextBoolean() ? follower : leader, next, r.nextInt(4)); // an epoch may write nothing
        }
        int leaderCurrent = next + 1; // the leader's election: newer than everything
        LeaderEpochCache followerCache = cacheOf(follower);
        LeaderEpochCache leaderCache = cacheOf(leader);
        leaderCache.assign(leaderCurrent, leader.size());

        int divergence = 0;
        while (divergence < follower.size() && divergence < leader.size()
                && follower.get(divergence).equals(leader.get(divergence))) {
            divergence++;
        }

        long followerEnd = follower.size();
        long followerHw = Math.min(common.size(), r.nextInt(common.size() + 1)); // committed ⊆ common prefix
        for (int round = 0; ; round++) {
            if (round > 64) {
                throw new AssertionError("the exchange did not end");
            }
            int requested = followerCache.latestEpoch();
            EpochEndOffset answer = requested == EpochEndOffset.UNDEFINED_EPOCH ? EpochEndOffset.UNDEFINED
                    : leaderCache.endOffsetFor(requested, leader.size());
            long end = followerEnd;
            FollowerTruncation.Decision d = FollowerTruncation.decide(followerEnd, followerHw, requested, answer,
                    e -> followerCache.endOffsetFor(e, end));
            if (d.truncateToOffset() > followerEnd) {
                throw new AssertionError("truncation above the log end: " + d);
            }
            followerEnd = d.truncateToOffset();
            followerCache.truncateFromEnd(followerEnd);
            if (!d.askAgain()) {
                break;
            }
        }
        assertEquals(divergence, followerEnd, "follower " + follower + " vs leader " + leader + " (current epoch " + leaderCurrent + ")");
    }
}

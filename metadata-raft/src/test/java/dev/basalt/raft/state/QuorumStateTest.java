package dev.basalt.raft.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.log.HardState;
import dev.basalt.raft.quorum.ProgressTracker;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Goal: every role transition listed in {@link QuorumState}'s javadoc works and every other one
 * is refused; term and vote changes mark the hard state dirty (Raft Figure 2: persisted before
 * answering). Method: drive a QuorumState directly. Reproduce: deterministic (fixed seed 1).
 */
class QuorumStateTest {
    private static QuorumState fresh() {
        return new QuorumState(1, new SplittableRandom(1), 300, 600, HardState.INITIAL, 0);
    }

    private static LeaderState makeLeader(QuorumState q) {
        q.transitionToProspective(0);
        q.transitionToCandidate(0, false);
        return q.transitionToLeader(new ProgressTracker(1), 1, 0, 50);
    }

    @Test
    void startsUnattachedWithRestoredTermAndVote() {
        QuorumState q = new QuorumState(1, new SplittableRandom(1), 300, 600, new HardState(7, 3, 0), 0);
        assertInstanceOf(UnattachedState.class, q.state());
        assertEquals(7, q.term());
        assertEquals(3, q.votedFor());
        assertFalse(q.takeHardStateDirty());
    }

    @Test
    void electionDeadlineIsRandomizedWithinBounds_section5_2() {
        QuorumState q = fresh();
        for (int i = 0; i < 100; i++) {
            long d = q.randomDeadline(1_000);
            assertTrue(d >= 1_300 && d < 1_600, "deadline " + d);
        }
    }

    @Test
    void prospectiveThenCandidateIncrementsTermAndVotesForSelf_section5_2() {
        QuorumState q = fresh();
        q.transitionToProspective(0);
        assertEquals(0, q.term(), "pre-vote does not increment the term (§9.6)");
        CandidateState c = q.transitionToCandidate(0, false);
        assertEquals(1, c.term());
        assertEquals(1, c.votedFor());
        assertTrue(q.takeHardStateDirty());
    }

    @Test
    void candidateOnlyFromProspective_unlessTransfer() {
        QuorumState q = fresh();
        assertThrows(IllegalStateException.class, () -> q.transitionToCandidate(0, false));
        q.transitionToFollower(1, 2, 0);
        assertThrows(IllegalStateException.class, () -> q.transitionToCandidate(0, false));
        CandidateState c = q.transitionToCandidate(0, true); // TimeoutNow (§3.10)
        assertTrue(c.transfer());
        assertEquals(2, c.term());
    }

    @Test
    void leaderOnlyFromCandidate() {
        QuorumState q = fresh();
        assertThrows(IllegalStateException.class, () -> q.transitionToLeader(new ProgressTracker(1), 1, 0, 50));
        LeaderState l = makeLeader(q);
        assertEquals(1, l.term());
        assertEquals(1, l.leaderId());
    }

    @Test
    void twoLeadersInOneTermAreRefused_section5_2() {
        QuorumState q = fresh();
        makeLeader(q);
        assertThrows(IllegalStateException.class, () -> q.transitionToFollower(1, 2, 0));
        QuorumState f = fresh();
        f.transitionToFollower(3, 2, 0);
        assertThrows(IllegalStateException.class, () -> f.transitionToFollower(3, 4, 0));
    }

    @Test
    void leaderStepsDownToUnattachedInSameTermKeepingItsVote_checkQuorum() {
        QuorumState q = fresh();
        makeLeader(q);
        q.takeHardStateDirty();
        q.transitionToUnattached(1, 0);
        assertEquals(1, q.votedFor());
        assertFalse(q.takeHardStateDirty(), "same term and vote: nothing to persist");
    }

    @Test
    void unattachedInSameTermOnlyFromLeader_andNeverBackwards() {
        QuorumState q = fresh();
        q.transitionToFollower(2, 5, 0);
        assertThrows(IllegalStateException.class, () -> q.transitionToUnattached(2, 0));
        assertThrows(IllegalStateException.class, () -> q.transitionToUnattached(1, 0));
        q.transitionToUnattached(3, 0);
        assertEquals(HardState.NO_VOTE, q.votedFor(), "a new term starts without a vote");
    }

    @Test
    void resignedOnlyFromLeader_andNeverCampaigns() {
        QuorumState q = fresh();
        assertThrows(IllegalStateException.class, q::transitionToResigned);
        makeLeader(q);
        q.transitionToResigned();
        assertEquals(Long.MAX_VALUE, q.state().electionDeadlineMs());
        assertThrows(IllegalStateException.class, () -> q.transitionToProspective(0));
        q.transitionToFollower(2, 3, 0);
        assertInstanceOf(FollowerState.class, q.state());
    }

    @Test
    void oneVotePerTerm_section5_2() {
        QuorumState q = fresh();
        q.transitionToUnattached(4, 0);
        q.recordVote(2, 0);
        assertTrue(q.takeHardStateDirty());
        q.recordVote(2, 0); // the same candidate again is idempotent
        assertThrows(IllegalStateException.class, () -> q.recordVote(3, 0));
    }
}

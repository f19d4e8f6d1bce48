package dev.basalt.raft.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.log.HardState;
import dev.basalt.raft.quorum.ProgressTracker;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Goal: each role class keeps exactly the state the Raft paper gives that role. Method: one nested
 * class per role, constructing it directly. Reproduce: deterministic.
 */
class RoleStatesTest {
    @Nested
    class Unattached {
        @Test
        void knowsNoLeader_andRecordsOneVote_section5_2() {
            UnattachedState s = new UnattachedState(3, HardState.NO_VOTE, 100);
            assertEquals(EpochState.NO_LEADER, s.leaderId());
            s.recordVote(2);
            assertEquals(2, s.votedFor());
        }
    }

    @Nested
    class Follower {
        @Test
        void leaderLeaseExpiresAfterElectionTimeoutMin_section4_2_3() {
            FollowerState s = new FollowerState(3, 2, HardState.NO_VOTE, 400, 100);
            assertTrue(s.leaderLeaseValid(399, 300));
            assertFalse(s.leaderLeaseValid(400, 300));
            s.leaderContact(500, 900);
            assertTrue(s.leaderLeaseValid(799, 300));
            assertEquals(900, s.electionDeadlineMs());
        }
    }

    @Nested
    class Prospective {
        @Test
        void campaignsForNextTermWithoutIncrementing_section9_6() {
            ProspectiveState s = new ProspectiveState(5, HardState.NO_VOTE, 1, 100);
            assertEquals(5, s.term());
            assertEquals(6, s.campaignTerm());
            assertTrue(s.granted().contains(1), "votes for itself");
            s.recordPreVote(2, true);
            s.recordPreVote(3, false);
            assertEquals(2, s.granted().size());
        }
    }

    @Nested
    class Candidate {
        @Test
        void votesForItselfAndCountsGrants_section5_2() {
            CandidateState s = new CandidateState(6, 1, 100, false);
            assertEquals(1, s.votedFor());
            s.recordVote(2, true);
            s.recordVote(3, false);
            assertEquals(java.util.Set.of(1, 2), s.granted());
        }
    }

    @Nested
    class Leader {
        @Test
        void tracksTimersReadsAndTransfer_sections6_2_6_4_3_10() {
            LeaderState s = new LeaderState(7, 1, new ProgressTracker(1), 10, 1_000, 50, 300);
            assertEquals(1_050, s.heartbeatDeadlineMs());
            assertEquals(1_300, s.checkQuorumDeadlineMs());
            assertEquals(10, s.noopIndex());
            assertEquals(1, s.nextReadSeq());
            s.readsAwaitingCommit().add(5L);
            assertEquals(1, s.pendingReadCount());
            s.startTransfer(3, 2_000);
            assertEquals(3, s.transferTarget());
            s.abortTransfer();
            assertEquals(EpochState.NO_LEADER, s.transferTarget());
            assertEquals(Long.MAX_VALUE, s.electionDeadlineMs(), "a leader has no election timer");
        }
    }

    @Nested
    class Resigned {
        @Test
        void neverCampaignsAndKnowsNoLeader_section4_2_2() {
            ResignedState s = new ResignedState(8, 1);
            assertEquals(Long.MAX_VALUE, s.electionDeadlineMs());
            assertEquals(EpochState.NO_LEADER, s.leaderId());
            assertEquals(1, s.votedFor());
        }
    }
}

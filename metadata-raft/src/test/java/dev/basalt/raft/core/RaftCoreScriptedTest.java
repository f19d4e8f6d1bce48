package dev.basalt.raft.core;

import static dev.basalt.raft.core.RaftCoreTest.CONFIG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.core.Output.ReadResult;
import dev.basalt.raft.core.Output.Refusal;
import dev.basalt.raft.core.RaftCoreTest.Cluster;
import dev.basalt.raft.core.RaftMessage.AppendRequest;
import dev.basalt.raft.core.RaftMessage.AppendResponse;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotRequest;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotResponse;
import dev.basalt.raft.core.RaftMessage.VoteRequest;
import dev.basalt.raft.core.RaftMessage.VoteResponse;
import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.state.EpochState;
import dev.basalt.raft.state.FollowerState;
import dev.basalt.raft.state.ResignedState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Goal: pin the exact outputs of rules the simulations cannot tell apart from a slower or quieter
 * core (read refusals on step-down, reject hints and where the leader resumes, the removed leader's
 * last round, a rejoining node's refusal, snapshot chunk bookkeeping), found as PIT survivors.
 * Method: one or a few cores driven by hand-built messages and explicit times; assertions on the
 * messages and results each call returns. Reproduce: deterministic (fixed seeds).
 */
class RaftCoreScriptedTest {
    private static ReadResult notLeader(long readId) {
        return new ReadResult(readId, false, 0, Refusal.NOT_LEADER, EpochState.NO_LEADER);
    }

    private static List<ReadResult> readsOf(Cluster c, long readId) {
        return c.outputs.stream().flatMap(o -> o.reads().stream()).filter(r -> r.readId() == readId).toList();
    }

    private static List<AppendRequest> appends(Output o) {
        return o.messages().stream().filter(m -> m instanceof AppendRequest).map(m -> (AppendRequest) m).toList();
    }

    private static List<LogEntry> dataEntries(long term, long from, long to) {
        List<LogEntry> entries = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            entries.add(new LogEntry(term, i, LogEntry.EntryType.DATA, new byte[0]));
        }
        return entries;
    }

    private static InstallSnapshotRequest chunk(int from, long term, long lastIndex, int offset, String data,
                                                boolean done) {
        return new InstallSnapshotRequest(from, 3, term, lastIndex, 1, List.of(1, 2, 3), List.of(9), offset,
                data.getBytes(StandardCharsets.UTF_8), done);
    }

    // ---------------------------------------------------------------- reads (§6.4)

    /** §6.4: a leader deposed by a newer term fails its pending reads with NOT_LEADER and no leader hint. */
    @Test
    void pendingReadFailsWhenANewerLeaderDeposesTheLeader_section6_4() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.heartbeat(1);
        c.isolated.add(2);
        c.isolated.add(3);
        assertTrue(c.record(leader.readIndex(42, c.nowMs)).reads().isEmpty());
        Output deposed = leader.step(new AppendRequest(2, 1, leader.term() + 1, 0, 0, List.of(), 0, 0), c.nowMs);
        assertEquals(List.of(notLeader(42)), deposed.reads());
        assertEquals(2, leader.leaderId());
    }

    /** §6.4: a read waiting for the term's first commit fails when a newer term makes the leader unattached. */
    @Test
    void readAwaitingTheFirstCommitFailsWhenANewerTermAppears_section6_4() {
        Cluster c = new Cluster(3);
        c.tick(1, 700);
        c.deliverAll(m -> m instanceof AppendResponse);
        RaftCore leader = c.cores.get(1);
        assertTrue(leader.isLeader());
        assertEquals(0, leader.commitIndex(), "the no-op is not acknowledged yet");
        assertTrue(leader.readIndex(7, c.nowMs).reads().isEmpty());
        Output o = leader.step(new AppendResponse(2, 1, leader.term() + 1, false, 0, 0, 0, 0), c.nowMs);
        assertEquals(List.of(notLeader(7)), o.reads());
        assertFalse(leader.isLeader());
    }

    /** §6.4: a read that arrived before the term's first commit is served once, at that commit. */
    @Test
    void readBeforeTheFirstCommitIsServedExactlyOnceAtThatCommit_section6_4() {
        Cluster c = new Cluster(3);
        c.tick(1, 700);
        c.deliverAll(m -> m instanceof AppendResponse);
        RaftCore leader = c.cores.get(1);
        assertTrue(c.record(leader.readIndex(42, c.nowMs)).reads().isEmpty());
        c.heartbeat(1);
        assertEquals(1, leader.commitIndex());
        assertEquals(List.of(new ReadResult(42, true, 1, null, 1)), readsOf(c, 42));
        c.record(leader.propose(List.of(new byte[] {1}), c.nowMs));
        c.deliverAll();
        c.heartbeat(1);
        assertEquals(2, leader.commitIndex());
        assertEquals(1, readsOf(c, 42).size(), "a later commit does not answer the read again");
    }

    /**
     * §6.4: a read starts its own heartbeat round at once, an empty append at each follower's match
     * index (not past entries still in flight), and is served when a majority answers it.
     */
    @Test
    void readStartsAnImmediateRoundAtEachFollowersMatchIndex_section6_4() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.heartbeat(1);
        leader.propose(List.of(new byte[] {1}), c.nowMs); // entry 2 is in flight (its append is lost)
        Output o = c.record(leader.readIndex(5, c.nowMs));
        List<AppendRequest> round = appends(o);
        assertEquals(List.of(2, 3), round.stream().map(AppendRequest::to).sorted().toList());
        for (AppendRequest a : round) {
            assertEquals(1, a.prevLogIndex(), "the match index, not the next index");
            assertEquals(1, a.prevLogTerm());
            assertTrue(a.entries().isEmpty());
        }
        c.deliverAll(); // no tick: the read's own round serves it
        assertEquals(List.of(new ReadResult(5, true, 1, null, 1)), readsOf(c, 5));
    }

    /** Shutdown fallback: resign gives up leadership and fails pending reads; on a non-leader it does nothing. */
    @Test
    void resignFailsPendingReadsAndLeavesTheTerm() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.heartbeat(1);
        long term = leader.term();
        c.isolated.add(2);
        c.isolated.add(3);
        c.record(leader.readIndex(11, c.nowMs));
        Output o = leader.resign(c.nowMs);
        assertNotNull(o);
        assertEquals(List.of(notLeader(11)), o.reads());
        assertTrue(leader.role() instanceof ResignedState, leader.role().toString());
        assertEquals(term, leader.term());
        RaftCore follower = c.cores.get(2);
        Output none = follower.resign(c.nowMs);
        assertTrue(none.reads().isEmpty() && none.messages().isEmpty());
        assertTrue(follower.role() instanceof FollowerState);
    }

    /** The driver's view of replication: a leader reports each peer's match index, anyone else -1. */
    @Test
    void peerMatchIndexIsKnownOnlyToTheLeaderForMembers() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.record(leader.propose(List.of(new byte[] {1}), c.nowMs));
        c.deliverAll();
        assertEquals(2, leader.peerMatchIndex(2));
        assertEquals(2, leader.peerMatchIndex(3));
        assertEquals(-1, leader.peerMatchIndex(7), "not a member");
        assertEquals(-1, c.cores.get(2).peerMatchIndex(3), "not leading");
    }

    // ---------------------------------------------------------------- membership (§4.1, §4.2.2)

    /**
     * §4.2.2: a leader removed from the voters steps down once the removal commits, after one last
     * round that tells the remaining voters the commit index; its pending reads fail.
     */
    @Test
    void removedLeaderSendsTheCommitIndexAndFailsReadsAsItStepsDown_section4_2_2() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.heartbeat(1);
        Output change = c.record(leader.changeConfiguration(new ConfigChange(ConfigChange.Kind.REMOVE_VOTER, 1),
                c.nowMs));
        long removal = change.proposal().firstIndex();
        assertTrue(c.record(leader.readIndex(9, c.nowMs)).reads().isEmpty());
        c.deliverAll();
        assertTrue(leader.role() instanceof ResignedState, leader.role().toString());
        assertEquals(removal, c.cores.get(2).commitIndex(), "the last round carries the commit");
        assertEquals(removal, c.cores.get(3).commitIndex());
        assertEquals(List.of(notLeader(9)), readsOf(c, 9));
    }

    /**
     * §4.1 (lost log): a rejoining node answers every vote and pre-vote request with an explicit
     * refusal in its own term, so candidates count it as a no instead of waiting.
     */
    @Test
    void rejoiningNodeRefusesVotesAndPreVotesExplicitly_section4_1() {
        RaftCore n = RaftCore.restore(3, CONFIG, new SplittableRandom(3), Configuration.of(List.of(1, 2), List.of(3)),
                HardState.INITIAL, SnapshotMeta.NONE, new byte[0], List.of(), 0);
        Output pre = n.step(new VoteRequest(2, 3, 1, 0, 0, true, false), 1_000);
        assertEquals(List.of(new VoteResponse(3, 2, 0, false, true)), pre.messages());
        Output vote = n.step(new VoteRequest(2, 3, 1, 0, 0, false, false), 1_000);
        assertEquals(List.of(new VoteResponse(3, 2, 1, false, false)), vote.messages());
        assertEquals(HardState.NO_VOTE, vote.hardState().votedFor());
    }

    // ---------------------------------------------------------------- reject hints (§5.3)

    /** §5.3 optimization: the hint skips the whole conflicting term, landing on the last entry of the term before. */
    @Test
    void rejectHintSkipsTheConflictingTerm_section5_3() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        List<LogEntry> entries = new ArrayList<>(dataEntries(1, 1, 3));
        entries.addAll(dataEntries(2, 4, 5));
        n.step(new AppendRequest(2, 3, 2, 0, 0, entries, 0, 0), 0);
        AppendResponse r = (AppendResponse) n.step(new AppendRequest(1, 3, 3, 5, 3, List.of(), 0, 0), 1)
                .messages().get(0);
        assertFalse(r.success());
        assertEquals(5, r.rejectedIndex());
        assertEquals(3, r.hintIndex(), "entries 4-5 of term 2 are suspect, 3 may agree");
        AppendResponse beyond = (AppendResponse) n.step(new AppendRequest(1, 3, 3, 8, 3, List.of(), 0, 0), 2)
                .messages().get(0);
        assertEquals(5, beyond.hintIndex(), "a probe past the end is answered with the log's end");
    }

    /** §5.3 hint: never below the commit index, even when the committed entries have the conflicting term. */
    @Test
    void rejectHintStopsAtTheCommitIndex_section5_3() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        n.step(new AppendRequest(1, 3, 1, 0, 0, dataEntries(1, 1, 5), 3, 0), 0);
        assertEquals(3, n.commitIndex());
        AppendResponse r = (AppendResponse) n.step(new AppendRequest(2, 3, 2, 5, 2, List.of(), 3, 0), 1)
                .messages().get(0);
        assertFalse(r.success());
        assertEquals(3, r.hintIndex());
    }

    /**
     * A follower learns the leader's commit index from every AppendEntries of a current leader,
     * also one it rejects: its own commit index stays where its log agrees (what the broker needs
     * to tell a restarted node, whose log lags, from one caught up).
     */
    @Test
    void leaderCommitSeenIsLearnedEvenFromARejectedAppend() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        assertEquals(0, n.leaderCommitSeen());
        n.step(new AppendRequest(1, 3, 2, 0, 0, dataEntries(1, 1, 5), 3, 0), 0);
        assertEquals(3, n.commitIndex());
        assertEquals(3, n.leaderCommitSeen());
        AppendResponse r = (AppendResponse) n.step(new AppendRequest(1, 3, 2, 9, 1, List.of(), 9, 0), 1).messages().get(0);
        assertFalse(r.success());
        assertEquals(3, n.commitIndex(), "entries 6-9 are not in this log");
        assertEquals(9, n.leaderCommitSeen());
        n.step(new AppendRequest(2, 3, 1, 5, 1, List.of(), 12, 0), 2);
        assertEquals(9, n.leaderCommitSeen(), "a stale term's leader is not heard");
    }

    /** §5.3: after a fresh rejection the leader resumes right after the follower's hint. */
    @Test
    void leaderResumesAfterTheHintOfAFreshRejection_section5_3() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.heartbeat(1);
        for (int i = 0; i < 5; i++) {
            leader.propose(List.of(new byte[] {(byte) i}), c.nowMs); // appends with prev 1..5, all lost
        }
        assertEquals(6, leader.lastIndex());
        Output o = leader.step(new AppendResponse(2, 1, leader.term(), false, 0, 5, 3, 0), c.nowMs);
        List<AppendRequest> sent = appends(o);
        assertEquals(1, sent.size(), sent.toString());
        AppendRequest a = sent.get(0);
        assertEquals(2, a.to());
        assertEquals(3, a.prevLogIndex());
        assertEquals(1, a.prevLogTerm());
        assertEquals(List.of(4L, 5L, 6L), a.entries().stream().map(LogEntry::index).toList());
    }

    /** A rejection at or below what the follower acknowledged, naming no shorter log, is stale: nothing is resent. */
    @Test
    void staleRejectionIsIgnored_section5_3() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.heartbeat(1);
        assertEquals(1, leader.peerMatchIndex(2));
        Output o = leader.step(new AppendResponse(2, 1, leader.term(), false, 0, 1, 1, 0), c.nowMs);
        assertTrue(o.messages().isEmpty(), o.messages().toString());
        assertEquals(1, leader.peerMatchIndex(2));
    }

    /** A rejection at exactly the acknowledged index from a shorter log means a lost log: re-probe from its end now. */
    @Test
    void followerThatLostItsLogIsReprobedFromItsLogEnd() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.record(leader.propose(List.of(new byte[] {1}), c.nowMs));
        c.deliverAll();
        assertEquals(2, leader.peerMatchIndex(3));
        Output o = leader.step(new AppendResponse(3, 1, leader.term(), false, 0, 2, 0, 0), c.nowMs);
        assertEquals(0, leader.peerMatchIndex(3), "entries it no longer holds are not counted");
        List<AppendRequest> sent = appends(o);
        assertEquals(1, sent.size(), sent.toString());
        assertEquals(3, sent.get(0).to());
        assertEquals(0, sent.get(0).prevLogIndex());
        assertEquals(List.of(1L, 2L), sent.get(0).entries().stream().map(LogEntry::index).toList());
    }

    // ---------------------------------------------------------------- snapshots (§7)

    /**
     * §7 receiver: chunks are accepted only in order and only for the snapshot being received (a
     * gap or another snapshot's chunk is answered with the offset expected), the buffer grows across
     * chunks of any size, and the last chunk installs the snapshot and its configuration.
     */
    @Test
    void snapshotChunksAreAssembledInOrderOnly_section7() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        assertEquals(List.of(new InstallSnapshotResponse(3, 1, 1, 10, 3, false)),
                n.step(chunk(1, 1, 10, 0, "abc", false), 0).messages());
        assertEquals(1, n.leaderId());
        assertEquals(List.of(new InstallSnapshotResponse(3, 1, 1, 10, 3, false)),
                n.step(chunk(1, 1, 10, 5, "zz", false), 1).messages(), "a gap: resend from 3");
        assertEquals(List.of(new InstallSnapshotResponse(3, 1, 1, 12, 0, false)),
                n.step(chunk(1, 1, 12, 3, "de", false), 2).messages(), "another snapshot's chunk continues nothing");
        assertEquals(List.of(new InstallSnapshotResponse(3, 1, 1, 10, 4, false)),
                n.step(chunk(1, 1, 10, 3, "d", false), 3).messages());
        assertEquals(List.of(new InstallSnapshotResponse(3, 1, 1, 10, 7, false)),
                n.step(chunk(1, 1, 10, 4, "efg", false), 4).messages());
        Output done = n.step(chunk(1, 1, 10, 7, "hi", true), 5);
        assertEquals(List.of(new InstallSnapshotResponse(3, 1, 1, 10, 0, true)), done.messages());
        assertEquals("abcdefghi", new String(done.snapshot().data(), StandardCharsets.UTF_8));
        assertEquals(new SnapshotMeta(10, 1, Set.of(1, 2, 3), Set.of(9)), done.snapshot().meta());
        assertEquals(Configuration.of(List.of(1, 2, 3), List.of(9)), n.configuration());
        assertEquals(10, n.commitIndex());
        // a chunk of a snapshot it already covers is acknowledged as done without installing anything
        Output again = n.step(chunk(1, 1, 10, 0, "abc", false), 6);
        assertEquals(List.of(new InstallSnapshotResponse(3, 1, 1, 10, 0, true)), again.messages());
        assertNull(again.snapshot());
    }

    /** §7 + §5.1: a partly received snapshot is dropped when a newer term's leader sends chunks; it restarts at 0. */
    @Test
    void newTermLeaderRestartsAPartlyReceivedSnapshot_section7() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        n.step(chunk(1, 1, 10, 0, "abcd", false), 0);
        assertEquals(List.of(new InstallSnapshotResponse(3, 2, 2, 10, 0, false)),
                n.step(chunk(2, 2, 10, 4, "efgh", false), 1).messages());
        assertEquals(List.of(new InstallSnapshotResponse(3, 2, 2, 10, 4, false)),
                n.step(chunk(2, 2, 10, 0, "abcd", false), 2).messages());
    }

    /** §7 + §5.1: an older term's chunk is refused with the current term; a same-term sender is the leader. */
    @Test
    void snapshotChunkTermRules_section7() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        Output vote = n.step(new VoteRequest(2, 3, 2, 0, 0, false, false), 0);
        assertTrue(((VoteResponse) vote.messages().get(0)).granted());
        assertEquals(EpochState.NO_LEADER, n.leaderId());
        assertEquals(List.of(new InstallSnapshotResponse(3, 1, 2, 10, 0, false)),
                n.step(chunk(1, 1, 10, 0, "abcd", false), 1).messages());
        assertEquals(EpochState.NO_LEADER, n.leaderId());
        assertEquals(List.of(new InstallSnapshotResponse(3, 2, 2, 10, 4, false)),
                n.step(chunk(2, 2, 10, 0, "abcd", false), 2).messages());
        assertEquals(2, n.leaderId(), "the same-term sender of a chunk is the leader");
        assertTrue(n.role() instanceof FollowerState);
    }

    /**
     * §7 leader: while a follower catches up by snapshot its chunk answers keep it active for
     * check-quorum (§6.2), one chunk at a time is in flight, and the answer to the last chunk
     * immediately resumes appends right after the snapshot.
     */
    @Test
    void snapshotStreamingKeepsTheQuorumAndResumesAppendsAtOnce_section7() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.leaderWithALaggingFollower();
        SnapshotMeta meta = leader.snapshotMetaAt(leader.appliedIndex());
        leader.compact(meta, new byte[400]); // 100 chunks of 4 bytes
        // now node 2 is silent and node 3 only answers snapshot chunks, one delivered per heartbeat
        c.isolated.clear();
        c.isolated.add(2);
        long start = c.nowMs;
        for (int k = 1; k <= 24; k++) {
            c.tick(1, start + 50L * k);
            int[] delivered = {0};
            c.deliverAll(m -> m instanceof InstallSnapshotRequest && delivered[0]++ > 0);
            assertTrue(leader.isLeader(), "chunk answers count for check-quorum, at " + (50L * k) + " ms");
        }
        Output p = leader.propose(List.of(new byte[] {9}), c.nowMs);
        assertFalse(p.messages().stream().anyMatch(m -> m instanceof InstallSnapshotRequest),
                "a chunk is in flight already: " + p.messages());
        c.inFlight.clear();
        c.isolated.clear();
        Output afterDone = null;
        for (int k = 0; k < 10 && afterDone == null; k++) {
            c.tick(1, c.nowMs + 50);
            while (!c.inFlight.isEmpty()) {
                RaftMessage m = c.inFlight.poll();
                Output o = c.record(c.cores.get(m.to()).step(m, c.nowMs));
                if (m instanceof InstallSnapshotResponse r && r.done()) {
                    afterDone = o;
                }
            }
        }
        assertNotNull(afterDone, "the snapshot was installed");
        List<AppendRequest> resumed = appends(afterDone).stream().filter(a -> a.to() == 3).toList();
        assertEquals(1, resumed.size(), afterDone.messages().toString());
        assertEquals(meta.lastIndex(), resumed.get(0).prevLogIndex());
        assertEquals(meta.lastTerm(), resumed.get(0).prevLogTerm());
        c.heartbeat(1);
        assertEquals(leader.commitIndex(), c.cores.get(3).commitIndex());
    }
}

package dev.basalt.raft.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.raft.core.Output.Refusal;
import dev.basalt.raft.core.RaftMessage.AppendRequest;
import dev.basalt.raft.core.RaftMessage.AppendResponse;
import dev.basalt.raft.core.RaftMessage.InstallSnapshotRequest;
import dev.basalt.raft.core.RaftMessage.VoteRequest;
import dev.basalt.raft.core.RaftMessage.VoteResponse;
import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import dev.basalt.raft.quorum.Configuration;
import dev.basalt.raft.state.CandidateState;
import dev.basalt.raft.state.FollowerState;
import dev.basalt.raft.state.ProspectiveState;
import dev.basalt.raft.state.ResignedState;
import dev.basalt.raft.state.UnattachedState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Goal: scripted protocol scenarios for the Raft core, one per rule of the paper (section cited in
 * each test name). Method: a few cores connected by a hand-driven message queue; time advances
 * only when a test says so. Reproduce: deterministic (fixed seeds).
 */
class RaftCoreTest {
    static final RaftConfig CONFIG = new RaftConfig(300, 600, 50, 1 << 20, 8, 4, 100);

    /** A tiny hand-driven cluster: outputs are collected; messages delivered on request. */
    static final class Cluster {
        final TreeMap<Integer, RaftCore> cores = new TreeMap<>();
        final ArrayDeque<RaftMessage> inFlight = new ArrayDeque<>();
        final List<Output> outputs = new ArrayList<>();
        final Set<Integer> isolated = new HashSet<>();
        long nowMs;

        Cluster(int voters) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 1; i <= voters; i++) {
                ids.add(i);
            }
            for (int id : ids) {
                add(id, Configuration.of(ids, List.of()));
            }
        }

        void add(int id, Configuration bootstrap) {
            cores.put(id, RaftCore.restore(id, CONFIG, new SplittableRandom(id), bootstrap, HardState.INITIAL,
                    SnapshotMeta.NONE, new byte[0], List.of(), nowMs));
        }

        Output record(Output o) {
            outputs.add(o);
            inFlight.addAll(o.messages());
            return o;
        }

        Output tick(int id, long atMs) {
            nowMs = atMs;
            return record(cores.get(id).tick(atMs));
        }

        /** Delivers messages (and the messages they cause) until none remain or a filter drops them. */
        void deliverAll(Predicate<RaftMessage> drop) {
            int guard = 0;
            while (!inFlight.isEmpty() && guard++ < 10_000) {
                RaftMessage m = inFlight.poll();
                if (drop.test(m) || isolated.contains(m.from()) || isolated.contains(m.to()) || !cores.containsKey(m.to())) {
                    continue;
                }
                record(cores.get(m.to()).step(m, nowMs));
            }
        }

        void deliverAll() {
            deliverAll(m -> false);
        }

        /** Node 1 elected, node 3 cut off, five one-byte entries committed by nodes 1 and 2: node 3 lags. */
        RaftCore leaderWithALaggingFollower() {
            RaftCore leader = elect(1);
            isolated.add(3);
            for (int i = 0; i < 5; i++) {
                record(leader.propose(List.of(new byte[] {(byte) i}), nowMs));
                deliverAll();
            }
            return leader;
        }

        RaftCore elect(int id) {
            tick(id, nowMs + 700);
            deliverAll();
            assertTrue(cores.get(id).isLeader(), "node " + id + " should lead: " + cores.get(id).role());
            return cores.get(id);
        }

        /** Heartbeat round so followers learn the commit index. */
        void heartbeat(int leader) {
            tick(leader, nowMs + 50);
            deliverAll();
        }
    }

    /** The append batch stops at appendEntriesMax entries or appendBytesMax bytes, but holds at least one. */
    @Test
    void appendBatchRespectsEntryAndByteLimits() {
        List<LogEntry> entries = new ArrayList<>();
        entries.add(new LogEntry(1, 1, LogEntry.EntryType.NOOP, new byte[0]));
        entries.add(new LogEntry(1, 2, LogEntry.EntryType.NOOP, new byte[0]));
        entries.add(new LogEntry(1, 3, LogEntry.EntryType.DATA, new byte[10]));
        entries.add(new LogEntry(2, 4, LogEntry.EntryType.DATA, new byte[10]));
        RaftLog log = new RaftLog(SnapshotMeta.NONE, new byte[0], entries);
        assertEquals(1, log.slice(1, 4, 1 << 20, 1).size(), "one entry per message");
        assertEquals(2, log.slice(1, 4, 1 << 20, 2).size());
        assertEquals(4, log.slice(1, 4, 1 << 20, 4).size());
        assertEquals(3, log.slice(1, 4, 10, 100).size(), "empty entries cost no bytes");
        assertEquals(1, log.slice(3, 4, 1, 100).size(), "at least one entry, even over the byte limit");
        assertThrows(IllegalArgumentException.class, () -> new RaftConfig(300, 600, 50, 1, 1, 1, 1, 0));
        assertEquals(RaftConfig.DEFAULT_APPEND_ENTRIES_MAX, RaftConfig.DEFAULT.appendEntriesMax());
    }

    /**
     * §4.2.3 disruptive servers: a follower that heard from its leader within the minimum
     * election timeout neither grants a vote nor adopts the candidate's higher term; once the
     * lease has run out it does both. (PIT: "leaseActive returns false" survived the simulation.)
     */
    @Test
    void followerWithALiveLeaderRefusesVotesAndKeepsItsTerm_section4_2_3() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.heartbeat(1);
        RaftCore follower = c.cores.get(2);
        long term = follower.term();
        long lastIndex = follower.lastIndex();
        long lastTerm = follower.termAt(lastIndex);
        Output refused = follower.step(new VoteRequest(3, 2, term + 1, lastIndex + 5, lastTerm + 1, false, false),
                c.nowMs + 10);
        assertEquals(term, follower.term(), "a leased follower keeps its term");
        assertFalse(((VoteResponse) refused.messages().get(0)).granted());
        assertEquals(null, refused.hardState());
        Output granted = follower.step(new VoteRequest(3, 2, term + 1, lastIndex + 5, lastTerm + 1, false, false),
                c.nowMs + CONFIG.electionTimeoutMaxMs() + 1);
        assertEquals(term + 1, follower.term());
        assertTrue(((VoteResponse) granted.messages().get(0)).granted());
        assertEquals(new HardState(term + 1, 3, granted.hardState().commitIndex()), granted.hardState());
        assertTrue(leader.isLeader(), "the leader itself is not touched by the follower's vote");
    }

    /** The leader holds the lease too: a higher-term vote request neither deposes it nor wins its vote. */
    @Test
    void leaderRefusesVotesAndKeepsLeading_section4_2_3() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        long term = leader.term();
        Output o = leader.step(new VoteRequest(3, 1, term + 1, leader.lastIndex() + 5, term + 1, false, false),
                c.nowMs + 10);
        assertTrue(leader.isLeader());
        assertEquals(term, leader.term());
        assertFalse(((VoteResponse) o.messages().get(0)).granted());
        assertEquals(null, o.hardState());
    }

    @Test
    void singleVoterElectsItselfAndCommitsItsNoop_section5_2_section8() {
        Cluster c = new Cluster(1);
        Output o = c.tick(1, 700);
        RaftCore n = c.cores.get(1);
        assertTrue(n.isLeader());
        assertEquals(1, n.term());
        assertEquals(LogEntry.EntryType.NOOP, o.committed().get(0).type());
        assertEquals(new HardState(1, 1, 0), o.hardState(), "term and self-vote are persisted");
        Output p = c.record(n.propose(List.of(new byte[] {7}), 701));
        assertTrue(p.proposal().accepted());
        assertEquals(2, p.committed().get(0).index());
    }

    @Test
    void preVoteThenVoteThenNoopReplication_section5_2_section9_6() {
        Cluster c = new Cluster(3);
        Output o = c.tick(1, 700);
        assertTrue(c.cores.get(1).role() instanceof ProspectiveState);
        assertEquals(0, c.cores.get(1).term(), "pre-vote does not increment the term");
        assertTrue(o.messages().stream().allMatch(m -> m instanceof VoteRequest v && v.preVote() && v.term() == 1));
        c.deliverAll();
        RaftCore leader = c.cores.get(1);
        assertTrue(leader.isLeader());
        assertEquals(1, leader.commitIndex(), "noop committed once a majority stored it");
        c.heartbeat(1);
        assertEquals(1, c.cores.get(2).commitIndex());
        assertEquals(1, c.cores.get(3).commitIndex());
    }

    @Test
    void proposalCommitsOnlyWithMajority_section5_3() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.isolated.add(2);
        c.isolated.add(3);
        c.record(leader.propose(List.of(new byte[] {1}), c.nowMs));
        c.deliverAll();
        assertEquals(1, leader.commitIndex(), "no majority, no commit");
        c.isolated.remove(2);
        for (int i = 0; i < 3; i++) {
            c.heartbeat(1); // the lost pipelined append is resent once two rounds show no progress
        }
        assertEquals(2, leader.commitIndex());
    }

    @Test
    void staleTermMessagesAreRejectedWithTheCurrentTerm_section5_1() {
        Cluster c = new Cluster(3);
        c.elect(1);
        RaftCore follower = c.cores.get(2);
        Output o = follower.step(new AppendRequest(3, 2, 0, 0, 0, List.of(), 0, 0), c.nowMs);
        AppendResponse r = (AppendResponse) o.messages().get(0);
        assertFalse(r.success());
        assertEquals(1, r.term());
        assertEquals(1, follower.leaderId(), "the stale sender does not become leader");
    }

    @Test
    void conflictingSuffixIsTruncatedAndReplaced_section5_3() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        List<LogEntry> old = List.of(new LogEntry(1, 1, LogEntry.EntryType.NOOP, new byte[0]),
                new LogEntry(1, 2, LogEntry.EntryType.DATA, new byte[] {1}));
        n.step(new AppendRequest(1, 3, 1, 0, 0, old, 0, 0), 0);
        LogEntry replacement = new LogEntry(2, 2, LogEntry.EntryType.NOOP, new byte[0]);
        Output o = n.step(new AppendRequest(2, 3, 2, 1, 1, List.of(replacement), 0, 0), 1);
        assertEquals(List.of(replacement), o.entries(), "the store truncates from index 2 and appends");
        assertEquals(2, n.termAt(2));
        // a stale, reordered copy of the old request must not truncate anything now
        Output stale = n.step(new AppendRequest(2, 3, 2, 0, 0, List.of(old.get(0)), 0, 0), 2);
        assertTrue(stale.entries().isEmpty());
        assertEquals(2, n.lastIndex());
    }

    @Test
    void rejectionCarriesHintSoLeaderSkipsAConflictingTerm_section5_3() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        List<LogEntry> entries = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            entries.add(new LogEntry(1, i, LogEntry.EntryType.DATA, new byte[0]));
        }
        n.step(new AppendRequest(1, 3, 1, 0, 0, entries, 0, 0), 0);
        Output o = n.step(new AppendRequest(2, 3, 3, 5, 2, List.of(), 0, 0), 1);
        AppendResponse r = (AppendResponse) o.messages().get(0);
        assertFalse(r.success());
        assertEquals(0, r.hintIndex(), "all of term 1 is suspect: retry from the start");
    }

    @Test
    void newLeaderCommitsOldEntriesOnlyThroughItsOwnNoop_section5_4_2() {
        Cluster c = new Cluster(3);
        RaftCore one = c.elect(1);
        c.record(one.propose(List.of(new byte[] {9}), c.nowMs));
        // entry 2 reaches node 2 only; node 1 then fails
        c.deliverAll(m -> m.to() == 3 || (m instanceof AppendResponse));
        c.isolated.add(1);
        RaftCore two = c.cores.get(2);
        c.tick(2, c.nowMs + 700);
        c.deliverAll();
        assertTrue(two.isLeader());
        assertEquals(3, two.lastIndex(), "entries 1-2 plus its own noop at 3");
        assertEquals(3, two.commitIndex(), "entry 2 commits together with the current-term noop");
        assertEquals(2, two.termAt(3));
    }

    @Test
    void partitionedNodeDoesNotDisruptTheLeader_section9_6_preVote() {
        Cluster c = new Cluster(3);
        c.elect(1);
        c.heartbeat(1);
        long term = c.cores.get(1).term();
        // node 3 stops hearing the leader (one-way loss) and times out; node 2 still hears it
        long start = c.nowMs;
        for (int step = 1; step <= 40; step++) {
            for (int id = 1; id <= 3; id++) {
                c.tick(id, start + 50L * step);
            }
            c.deliverAll(m -> m.from() == 1 && m.to() == 3);
        }
        assertTrue(c.outputs.stream().flatMap(o -> o.messages().stream())
                .anyMatch(m -> m instanceof VoteRequest v && v.from() == 3), "node 3 did campaign");
        assertTrue(c.cores.get(1).isLeader());
        assertEquals(term, c.cores.get(1).term(), "pre-vote failed: no term inflation");
        assertEquals(term, c.cores.get(3).term());
    }

    @Test
    void isolatedLeaderStepsDownAfterCheckQuorum_section6_2() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.isolated.add(1);
        long t = c.nowMs;
        for (int i = 1; i <= 20 && leader.isLeader(); i++) {
            c.tick(1, t + 50L * i);
            c.deliverAll();
        }
        assertTrue(leader.role() instanceof UnattachedState, "leader without a quorum steps down: " + leader.role());
        assertTrue(c.nowMs - t <= 2 * CONFIG.electionTimeoutMinMs(), "within two check-quorum periods");
    }

    /**
     * Found probing: a controller election under load left no reason in any node's log. Every role
     * change now carries one: the election timer (with how long the leader was silent), the pre-vote
     * and votes won, the higher term seen, check-quorum (with whom the leader heard from).
     */
    @Test
    void everyRoleChange_saysWhy() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        List<RaftCore.RoleChange> won = leader.takeRoleChanges();
        assertEquals(List.of("Prospective", "Candidate", "Leader"), won.stream().map(RaftCore.RoleChange::role).toList(), won.toString());
        assertTrue(won.get(0).reason().contains("no leader known in term 0"), won.toString());
        assertTrue(won.get(1).reason().startsWith("pre-vote granted by [1, "), won.toString());
        assertTrue(won.get(2).reason().startsWith("elected with votes from [1, "), won.toString());
        List<RaftCore.RoleChange> followed = c.cores.get(2).takeRoleChanges();
        assertTrue(followed.stream().anyMatch(r -> r.role().equals("Follower") && r.reason().startsWith("leader 1 of term 1 heard from")),
                followed.toString());
        assertTrue(leader.takeRoleChanges().isEmpty(), "taken once");

        long lastHeard = c.nowMs;
        c.isolated.add(1);
        for (int i = 1; i <= 20 && leader.isLeader(); i++) {
            c.tick(1, lastHeard + 50L * i);
            c.deliverAll();
        }
        List<RaftCore.RoleChange> down = leader.takeRoleChanges();
        assertEquals(1, down.size(), down.toString());
        assertEquals("Unattached", down.get(0).role());
        assertTrue(down.get(0).reason().startsWith("stepped down as leader (check-quorum): heard from only [1] of voters [1, 2, 3]"),
                down.toString());

        c.tick(2, lastHeard + 1_000);
        List<RaftCore.RoleChange> timedOut = c.cores.get(2).takeRoleChanges();
        assertEquals("Prospective", timedOut.get(0).role(), timedOut.toString());
        assertEquals("pre-vote for term 2: nothing heard from leader 1 of term 1 for 1000 ms (election timeout)",
                timedOut.get(0).reason());
        assertFalse(timedOut.get(0).repeat());
        c.isolated.add(3);
        c.deliverAll(); // nobody grants: the pre-vote stays open
        c.tick(2, lastHeard + 2_000);
        List<RaftCore.RoleChange> again = c.cores.get(2).takeRoleChanges();
        assertTrue(again.get(0).repeat(), "a pre-vote started again is a repeat: " + again);
        assertTrue(again.get(0).reason().contains("was not granted by a majority in time (granted by [2])"), again.toString());
    }

    @Test
    void readIndexWaitsForHeartbeatQuorum_section6_4() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.isolated.add(2);
        c.isolated.add(3);
        Output o = c.record(leader.readIndex(42, c.nowMs));
        assertTrue(o.reads().isEmpty(), "no answer without a majority's heartbeat acknowledgement");
        c.deliverAll();
        c.isolated.remove(3);
        c.heartbeat(1);
        Output.ReadResult r = c.outputs.stream().flatMap(x -> x.reads().stream()).filter(x -> x.readId() == 42)
                .findFirst().orElseThrow();
        assertTrue(r.ok());
        assertEquals(leader.commitIndex(), r.readIndex());
        Output follower = c.cores.get(2).readIndex(7, c.nowMs);
        assertEquals(Refusal.NOT_LEADER, follower.reads().get(0).refusal());
    }

    @Test
    void laggingFollowerReceivesSnapshotInChunks_section7() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.leaderWithALaggingFollower();
        byte[] state = "0123456789".getBytes(); // 10 bytes, chunks of 4 (CONFIG)
        SnapshotMeta meta = leader.snapshotMetaAt(leader.appliedIndex());
        leader.compact(meta, state);
        assertEquals(meta.lastIndex() + 1, leader.firstIndex());
        c.isolated.remove(3);
        c.heartbeat(1);
        long chunks = c.outputs.stream().flatMap(o -> o.messages().stream())
                .filter(m -> m instanceof InstallSnapshotRequest).count();
        assertEquals(3, chunks, "10 bytes in chunks of 4");
        Output installed = c.outputs.stream().filter(o -> o.snapshot() != null).findFirst().orElseThrow();
        assertEquals(meta, installed.snapshot().meta());
        assertEquals("0123456789", new String(installed.snapshot().data()));
        c.heartbeat(1);
        assertEquals(leader.commitIndex(), c.cores.get(3).commitIndex());
    }

    @Test
    void leadershipTransferHandsOverToTheTarget_section3_10() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.heartbeat(1);
        c.record(leader.transferLeadership(3, c.nowMs));
        Output refused = leader.propose(List.of(new byte[] {1}), c.nowMs);
        assertEquals(Refusal.TRANSFER_IN_PROGRESS, refused.proposal().refusal());
        c.deliverAll();
        assertTrue(c.cores.get(3).isLeader(), "target leads: " + c.cores.get(3).role());
        assertFalse(leader.isLeader());
    }

    @Test
    void addVoterThenRefuseAConcurrentChange_section4_1() {
        Cluster c = new Cluster(3);
        c.add(4, c.cores.get(1).configuration());
        RaftCore leader = c.elect(1);
        Output o = c.record(leader.changeConfiguration(new ConfigChange(ConfigChange.Kind.ADD_VOTER, 4), c.nowMs));
        assertTrue(o.proposal().accepted());
        assertTrue(leader.configuration().isVoter(4), "takes effect when appended");
        Output second = leader.changeConfiguration(new ConfigChange(ConfigChange.Kind.REMOVE_VOTER, 2), c.nowMs);
        assertEquals(Refusal.CONFIGURATION_CHANGE_IN_PROGRESS, second.proposal().refusal());
        c.deliverAll();
        assertTrue(c.cores.get(4).configuration().isVoter(4), "the new voter learns it from the log");
        assertTrue(leader.commitIndex() >= o.proposal().firstIndex());
    }

    /**
     * An invalid change or transfer is refused with the core untouched: the calls after it work.
     * Found probing: remove-voter of a node that was not a voter threw inside the call, left it
     * open, and the next tick failed as a re-entrant call, halting the active controller.
     */
    @Test
    void anInvalidChangeOrTransfer_throwsAndLeavesTheCoreUsable() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        assertThrows(IllegalArgumentException.class,
                () -> leader.changeConfiguration(new ConfigChange(ConfigChange.Kind.REMOVE_VOTER, 8), c.nowMs));
        assertThrows(IllegalArgumentException.class,
                () -> leader.changeConfiguration(new ConfigChange(ConfigChange.Kind.ADD_VOTER, 2), c.nowMs));
        assertThrows(IllegalArgumentException.class, () -> leader.transferLeadership(8, c.nowMs));
        c.record(leader.tick(c.nowMs + 10));
        Output o = c.record(leader.propose(List.of(new byte[] {1}), c.nowMs + 10));
        assertTrue(o.proposal().accepted(), o.proposal().toString());
        c.deliverAll();
        assertTrue(leader.commitIndex() >= o.proposal().firstIndex());
        assertTrue(c.record(leader.changeConfiguration(new ConfigChange(ConfigChange.Kind.REMOVE_VOTER, 3), c.nowMs + 20))
                .proposal().accepted());
    }

    @Test
    void removedLeaderStepsDownOnceRemovalCommits_section4_2_2() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.record(leader.changeConfiguration(new ConfigChange(ConfigChange.Kind.REMOVE_VOTER, 1), c.nowMs));
        c.deliverAll();
        assertTrue(leader.role() instanceof ResignedState, leader.role().toString());
        c.tick(2, c.nowMs + 700);
        c.deliverAll();
        assertTrue(c.cores.get(2).isLeader(), c.cores.get(2).role().toString());
    }

    /**
     * A voter that lost its log (and so its vote record) rejoins with a bootstrap naming it an
     * observer: it replicates but grants no vote, not even in a term it never saw, until a voter
     * change (remove, then add, one at a time: §4.1) names it a voter in the log again.
     */
    @Test
    void rejoiningVoterWithALostLogGrantsNoVoteUntilAVoterChangeReAddsIt_section4_1() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        c.record(leader.propose(List.of(new byte[] {1}), c.nowMs));
        c.deliverAll();
        // node 3 loses its store and comes back with an empty log, bootstrapped as an observer
        c.add(3, Configuration.of(List.of(1, 2), List.of(3)));
        for (int i = 0; i < 3; i++) {
            c.heartbeat(1);
        }
        RaftCore rejoined = c.cores.get(3);
        assertEquals(leader.lastIndex(), rejoined.lastIndex(), "it replicates the log");
        assertFalse(rejoined.configuration().isVoter(3));
        // node 1 fails; node 2 needs a second vote, and node 3 must not give it
        c.isolated.add(1);
        c.tick(2, c.nowMs + 700);
        c.deliverAll();
        c.tick(2, c.nowMs + 1_400);
        c.deliverAll();
        assertFalse(c.cores.get(2).isLeader(), "no leader from the vote of a node that forgot its votes");
        assertFalse(rejoined.isLeader());
        c.tick(3, c.nowMs + 2_000);
        c.deliverAll();
        assertFalse(rejoined.role() instanceof CandidateState, "a rejoining node never campaigns");
        // node 1 returns; the operator re-adds node 3 through two single-server changes
        c.isolated.clear();
        RaftCore back = c.elect(1);
        c.record(back.changeConfiguration(new ConfigChange(ConfigChange.Kind.REMOVE_VOTER, 3), c.nowMs));
        c.deliverAll();
        c.heartbeat(1);
        c.record(back.changeConfiguration(new ConfigChange(ConfigChange.Kind.ADD_VOTER, 3), c.nowMs));
        c.deliverAll();
        c.heartbeat(1);
        assertTrue(rejoined.configuration().isVoter(3), "the voter change reached node 3");
        // now node 3 votes again: with node 1 gone, node 2 is elected with node 3's vote
        c.isolated.add(1);
        c.tick(2, c.nowMs + 2_000);
        c.deliverAll();
        assertTrue(c.cores.get(2).isLeader(), c.cores.get(2).role().toString());
    }

    @Test
    void observerReceivesEntriesButNeverVotesOrCounts() {
        Cluster c = new Cluster(1);
        c.add(9, c.cores.get(1).configuration());
        RaftCore leader = c.elect(1);
        c.record(leader.changeConfiguration(new ConfigChange(ConfigChange.Kind.ADD_OBSERVER, 9), c.nowMs));
        c.record(leader.propose(List.of(new byte[] {5}), c.nowMs));
        c.deliverAll();
        c.heartbeat(1);
        RaftCore observer = c.cores.get(9);
        assertEquals(leader.commitIndex(), observer.commitIndex());
        assertTrue(observer.role() instanceof FollowerState);
        c.tick(9, c.nowMs + 5_000);
        assertFalse(observer.role() instanceof ProspectiveState || observer.role() instanceof CandidateState,
                "an observer never campaigns");
    }

    @Test
    void voteIsGrantedOncePerTermAndPersistedBeforeTheReply_figure2() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(3);
        Output o = n.step(new VoteRequest(1, 3, 1, 0, 0, false, false), 0);
        assertTrue(((VoteResponse) o.messages().get(0)).granted());
        assertEquals(new HardState(1, 1, 0), o.hardState());
        Output second = n.step(new VoteRequest(2, 3, 1, 0, 0, false, false), 1);
        assertFalse(((VoteResponse) second.messages().get(0)).granted());
    }

    @Test
    void malformedMessagesAreRejectedBeforeAnyStateChange() {
        Cluster c = new Cluster(3);
        RaftCore n = c.cores.get(2);
        LogEntry gap = new LogEntry(1, 5, LogEntry.EntryType.DATA, new byte[0]);
        assertThrows(IllegalArgumentException.class,
                () -> n.step(new AppendRequest(1, 2, 1, 0, 0, List.of(gap), 0, 0), 0));
        assertThrows(IllegalArgumentException.class,
                () -> n.step(new AppendRequest(1, 3, 1, 0, 0, List.of(), 0, 0), 0));
        assertEquals(0, n.term(), "no state changed");
        assertNotNull(n.role());
    }

    /**
     * Malformed content that only a handler used to decode (a membership entry's bytes, a
     * snapshot's member lists, chunk offsets, indexes in answers) is refused before the call
     * begins: the node is unchanged and its next call works. Before, the membership entries and
     * the snapshot's member lists threw inside the call, which stayed open (the bad entry already
     * in the log), and the next tick halted the node ("re-entrant call"); the other cases were
     * handled with nonsense values.
     */
    @Test
    void malformedContentIsRejectedBeforeTheCallBegins() {
        Cluster c = new Cluster(3);
        RaftCore leader = c.elect(1);
        RaftCore follower = c.cores.get(2);
        long term = leader.term();
        long last = follower.lastIndex();
        byte[] garbage = {0, 0, 0, 1, 0, 0, 0, 7};
        LogEntry badConfig = new LogEntry(term, last + 1, LogEntry.EntryType.CONFIGURATION, garbage);
        byte[] overlapping = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
        LogEntry bothRoles = new LogEntry(term, last + 1, LogEntry.EntryType.CONFIGURATION, overlapping);
        List<Integer> tooMany = new ArrayList<>();
        for (int i = 0; i <= Configuration.MEMBERS_MAX; i++) {
            tooMany.add(i);
        }
        List<RaftMessage> bad = List.of(
                new AppendRequest(1, 2, term, last, follower.termAt(last), List.of(badConfig), 0, 1),
                new AppendRequest(1, 2, term, last, follower.termAt(last), List.of(bothRoles), 0, 1),
                new AppendRequest(1, 2, term, last, follower.termAt(last), List.of(), 0, -1),
                new InstallSnapshotRequest(1, 2, term, last + 5, term, List.of(1, 2, 3), List.of(3), 0, new byte[1], true),
                new InstallSnapshotRequest(1, 2, term, last + 5, term, tooMany, List.of(), 0, new byte[1], true),
                new InstallSnapshotRequest(1, 2, term, last + 5, term, List.of(1, 2, 3), List.of(),
                        Integer.MAX_VALUE - 10, new byte[16], false),
                new VoteRequest(1, 2, term + 1, -1, 0, false, false),
                new VoteRequest(1, 2, term + 1, 3, term + 2, false, false));
        for (RaftMessage m : bad) {
            assertThrows(IllegalArgumentException.class, () -> follower.step(m, c.nowMs), m.toString());
            assertEquals(term, follower.term(), "unchanged after " + m);
            assertEquals(last, follower.lastIndex(), "unchanged after " + m);
            assertEquals(3, follower.configuration().voters().size(), "unchanged after " + m);
            follower.tick(c.nowMs); // the node goes on: no call was left open
        }
        for (RaftMessage m : List.of(
                new AppendResponse(2, 1, term, true, -4, 0, 0, 0),
                new AppendResponse(2, 1, term, false, 0, 0, -1, 0),
                new RaftMessage.InstallSnapshotResponse(2, 1, term, 3, -8, false))) {
            assertThrows(IllegalArgumentException.class, () -> leader.step(m, c.nowMs), m.toString());
            assertTrue(leader.isLeader(), "unchanged after " + m);
            leader.tick(c.nowMs);
        }
        c.record(leader.propose(List.of(new byte[] {42}), c.nowMs));
        c.deliverAll();
        assertEquals(leader.lastIndex(), leader.commitIndex(), "the cluster still commits");
    }
}

package dev.basalt.raft.sim;

import dev.basalt.raft.core.Output;
import dev.basalt.raft.core.RaftMessage;
import dev.basalt.raft.log.HardState;
import dev.basalt.raft.log.LogEntry;
import dev.basalt.raft.log.SnapshotMeta;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The safety properties of Raft (paper Figure 3), checked by {@link Simulation} after every event.
 * Not thread-safe.
 * <ul>
 *   <li>Election safety: at most one leader per term.</li>
 *   <li>Log matching: two entries with the same index and term hold the same payload and follow
 *       entries of the same term (checked inductively on every append of every node).</li>
 *   <li>Leader completeness: a new leader's log holds every entry any node applied while in a term
 *       no newer than the leader's. Entries applied only in newer terms are exempt: votes
 *       delivered late can make a stale candidate leader of an old term after a newer leader
 *       committed entries it lacks (Raft's property is about leaders of later terms; such a
 *       leader can commit nothing, its term has no majority left).</li>
 *   <li>State-machine safety: every node applies the same entry at a given index.</li>
 *   <li>A node never truncates or replaces a committed entry it holds.</li>
 *   <li>Vote safety across restarts: a node grants at most one candidate a vote per term, in any
 *       incarnation; a granted vote is durable before it is sent; and after every restart the
 *       durable hard state covers every vote the node sent (its term is at least the vote's, and
 *       in the same term it names the same candidate).</li>
 * </ul>
 *
 * <p>It also counts, without failing, how often the run reached the Raft paper's Figure 8 state:
 * an entry held by a majority of voters while their term was newer than the entry's, later
 * replaced. That is allowed only because such an entry is never committed by counting; the
 * committed-entry checks above fail if it was.
 */
final class Invariants {
    private record Seen(LogEntry entry, Long prevTerm) {
    }

    private final TreeMap<Long, LogEntry> committed = new TreeMap<>();
    /**
     * Per committed index: the lowest term in which any node applied it. At least the term of the
     * leader that committed it (a node applies an entry only once a leader of its term, or a later
     * one, told it the entry is committed), so requiring it of leaders of that term and later
     * never flags a correct run.
     */
    private final Map<Long, Long> appliedInTerm = new HashMap<>();
    private final Map<Long, Integer> leaderByTerm = new HashMap<>();
    private final Map<Long, Map<Long, Seen>> seen = new HashMap<>();
    private final Set<String> probes = new HashSet<>();
    private boolean probeCommitted;
    /** Votes granted: node id, then term, then the candidate. Survives the node's restarts. */
    private final Map<Integer, TreeMap<Long, Integer>> votes = new HashMap<>();
    /** "index/term" of entries a majority held while in a newer term (Figure 8 candidates). */
    private final Set<String> heldByMajorityLater = new HashSet<>();
    private final Set<String> figure8 = new HashSet<>();

    void checkAppend(Simulation sim, SimNode n, List<LogEntry> entries) {
        long first = entries.get(0).index();
        long last = entries.get(entries.size() - 1).index();
        // A node may receive a stale leader's entry at an index that is already committed
        // elsewhere (it is uncommitted in its log and will be replaced); what it must never do is
        // remove or replace a committed entry it holds.
        for (long i = first; i <= n.store.lastIndex(); i++) {
            if (i > last && holdsCommitted(n, i)) {
                throw sim.failure("node " + n.id + " truncates committed entry " + committed.get(i));
            }
        }
        for (long i = first; i <= n.store.lastIndex(); i++) {
            long oldTerm = n.store.termAt(i).orElse(-1L);
            boolean kept = i <= last && entries.get((int) (i - first)).term() == oldTerm;
            if (!kept && heldByMajorityLater.contains(i + "/" + oldTerm)) {
                figure8.add(i + "/" + oldTerm);
            }
        }
        Optional<Long> prevTerm = n.store.termAt(first - 1);
        for (LogEntry e : entries) {
            LogEntry c = committed.get(e.index());
            if (c != null && !c.equals(e) && holdsCommitted(n, e.index())) {
                throw sim.failure("node " + n.id + " overwrites committed " + c + " with " + e);
            }
            Seen now = new Seen(e, prevTerm.orElse(null));
            Seen before = seen.computeIfAbsent(e.index(), k -> new HashMap<>()).putIfAbsent(e.term(), now);
            if (before != null) {
                boolean samePrev = before.prevTerm == null || now.prevTerm == null || before.prevTerm.equals(now.prevTerm);
                if (!before.entry.equals(e) || !samePrev) {
                    throw sim.failure("log matching: node " + n.id + " has " + e + " after term " + now.prevTerm
                            + " but another log had " + before.entry + " after term " + before.prevTerm);
                }
            }
            prevTerm = Optional.of(e.term());
        }
    }

    /** Notes entries that a majority of voters now holds in a term newer than theirs. */
    void afterAppend(Simulation sim, SimNode n, List<LogEntry> entries) {
        if (n.core == null) {
            return;
        }
        Set<Integer> voters = n.core.configuration().voters();
        for (LogEntry e : entries) {
            if (e.term() >= n.core.term()) {
                continue;
            }
            int holders = 0;
            for (Integer v : voters) {
                SimNode other = sim.node(v);
                if (other != null && other.store.termAt(e.index()).equals(Optional.of(e.term()))) {
                    holders++;
                }
            }
            if (holders > voters.size() / 2) {
                heldByMajorityLater.add(e.index() + "/" + e.term());
            }
        }
    }

    /** A granted vote about to be sent: durable first (unless turned off), never two candidates. */
    void checkVoteSent(Simulation sim, SimNode n, RaftMessage.VoteResponse v,
                       boolean checkDurable) {
        if (checkDurable) {
            HardState hs = n.store.hardState();
            if (hs.term() != v.term() || hs.votedFor() != v.to()) {
                throw sim.failure("vote durability: node " + n.id + " sends its vote for " + v.to() + " in term "
                        + v.term() + " but its durable hard state is " + hs);
            }
        }
        Integer before = votes.computeIfAbsent(n.id, k -> new TreeMap<>()).putIfAbsent(v.term(), v.to());
        if (before != null && before != v.to()) {
            throw sim.failure("vote safety: node " + n.id + " granted its vote in term " + v.term() + " to " + before
                    + " and then to " + v.to() + " (incarnation " + n.incarnation + ")");
        }
    }

    /** After a restart the durable hard state must cover every vote the node ever sent. */
    void checkVotesAfterRestart(Simulation sim, SimNode n) {
        HardState hs = n.store.hardState();
        TreeMap<Long, Integer> sent = votes.getOrDefault(n.id, new TreeMap<>());
        for (Map.Entry<Long, Integer> v : sent.tailMap(hs.term(), true).entrySet()) {
            if (v.getKey() > hs.term() || v.getValue() != hs.votedFor()) {
                throw sim.failure("vote durability: node " + n.id + " restarts with hard state " + hs
                        + " but voted for " + v.getValue() + " in term " + v.getKey());
            }
        }
    }

    int oldTermMajorities() {
        return heldByMajorityLater.size();
    }

    int figure8Overwrites() {
        return figure8.size();
    }

    private boolean holdsCommitted(SimNode n, long index) {
        LogEntry c = committed.get(index);
        return c != null && n.store.termAt(index).equals(Optional.of(c.term()));
    }

    void checkRoles(Simulation sim, SimNode n, Output o) {
        if (n.core == null || !n.core.isLeader()) {
            return;
        }
        Integer other = leaderByTerm.putIfAbsent(n.core.term(), n.id);
        if (other != null && other != n.id) {
            throw sim.failure("two leaders in term " + n.core.term() + ": " + other + " and " + n.id);
        }
        if (o.leaderChange() != null && o.leaderChange().leaderId() == n.id) {
            long snapshotIndex = n.core.snapshot().lastIndex();
            for (LogEntry c : committed.tailMap(snapshotIndex, false).values()) {
                if (appliedInTerm.get(c.index()) > n.core.term()) {
                    continue; // committed in a newer term: a stale leader of an older term may lack it
                }
                if (c.index() > n.core.lastIndex() || !n.core.entry(c.index()).equals(c)) {
                    throw sim.failure("leader completeness: new leader " + n.id + " of term " + n.core.term()
                            + " lacks committed " + c + " (applied in term " + appliedInTerm.get(c.index()) + ")");
                }
            }
        }
    }

    void checkApply(Simulation sim, SimNode n, LogEntry e) {
        if (e.index() != n.applied + 1) {
            throw sim.failure("node " + n.id + " applies " + e.index() + " after " + n.applied);
        }
        LogEntry before = committed.putIfAbsent(e.index(), e);
        appliedInTerm.merge(e.index(), n.core.term(), Math::min);
        if (before != null && !before.equals(e)) {
            throw sim.failure("state-machine safety: node " + n.id + " applies " + e + " where another applied "
                    + before + " (" + Arrays.toString(before.data()) + ")");
        }
        if (probes.contains(e.term() + "/" + e.index())) {
            probeCommitted = true;
        }
    }

    void checkSnapshot(Simulation sim, SnapshotMeta meta, SimNode n) {
        LogEntry c = committed.get(meta.lastIndex());
        if (c != null && c.term() != meta.lastTerm()) {
            throw sim.failure("node " + n.id + " installs snapshot " + meta + " contradicting committed " + c);
        }
    }

    void checkNothingLost(Simulation sim, SimNode leader) {
        long snapshotIndex = leader.core.snapshot().lastIndex();
        for (LogEntry c : committed.tailMap(snapshotIndex, false).values()) {
            if (c.index() > leader.core.lastIndex() || !leader.core.entry(c.index()).equals(c)) {
                throw sim.failure("committed entry lost: final leader " + leader.id + " lacks " + c);
            }
        }
    }

    int committedCount() {
        return committed.size();
    }

    int leaderTerms() {
        return leaderByTerm.size();
    }

    void livenessProbe(long term, long index) {
        probes.add(term + "/" + index);
    }

    boolean livenessProbeCommitted() {
        return probeCommitted;
    }
}

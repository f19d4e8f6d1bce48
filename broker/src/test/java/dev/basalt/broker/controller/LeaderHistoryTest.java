package dev.basalt.broker.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * Goal: the active controller names as predecessors exactly the other nodes that led an earlier
 * term whose leadership ended within the window before its activation (the brokers it fences
 * without waiting for a session). Examples for each rule, then a property against a reference
 * written from that sentence over the whole event history.
 *
 * <p>Reproduce a property failure: jqwik prints the failing sample and the seed to pin with
 * {@code @Property(seed=...)}.
 */
class LeaderHistoryTest {
    private static final long WINDOW = 10_000;

    @Test
    void nothingSeenMeansUnknownNotNone() {
        LeaderHistory h = new LeaderHistory(1, WINDOW);
        h.onLeaderChange(1, -1, 0);
        h.onLeaderChange(2, 1, 5); // this node itself
        assertNull(h.predecessorsOf(2, 10), "never saw another leader: unknown");
    }

    @Test
    void theLeaderJustReplacedIsAPredecessor() {
        LeaderHistory h = new LeaderHistory(1, WINDOW);
        h.onLeaderChange(3, 2, 0);
        h.onLeaderChange(4, -1, 1_000); // term 4 election: node 2's term ended at 1,000
        h.onLeaderChange(4, 1, 1_500);
        assertEquals(Set.of(2), h.predecessorsOf(4, 1_600));
        assertEquals(Set.of(2), h.predecessorsOf(4, 1_000 + WINDOW), "the window's end is inside it");
        assertEquals(Set.of(), h.predecessorsOf(4, 1_001 + WINDOW), "ended longer ago than the window");
    }

    @Test
    void aLeaderStillCurrentAsFarAsThisNodeSawEndsNow() {
        LeaderHistory h = new LeaderHistory(1, WINDOW);
        h.onLeaderChange(3, 2, 0);
        // this node's own term 4 arrives without an intermediate leaderless report
        h.onLeaderChange(4, 1, 100 * WINDOW);
        assertEquals(Set.of(2), h.predecessorsOf(4, 100 * WINDOW + 1));
    }

    @Test
    void aLeaderOfALaterTermIsNoPredecessor() {
        LeaderHistory h = new LeaderHistory(1, WINDOW);
        h.onLeaderChange(3, 2, 0);
        h.onLeaderChange(5, 3, 10);
        assertEquals(Set.of(2), h.predecessorsOf(4, 20), "node 3 led term 5, after term 4");
        assertEquals(Set.of(2, 3), h.predecessorsOf(6, 20));
    }

    @Test
    void onlyEachNodesLatestTermCounts() {
        LeaderHistory h = new LeaderHistory(1, WINDOW);
        h.onLeaderChange(2, 2, 0);
        h.onLeaderChange(3, 3, 100);
        h.onLeaderChange(4, 2, 200);
        h.onLeaderChange(5, 1, 300 + 2 * WINDOW); // node 3's term ended at 200, node 2's at 300 + 2 windows
        assertEquals(Set.of(2), h.predecessorsOf(5, 300 + 2 * WINDOW));
    }

    @Test
    void aLateReportOfAnOlderTermDoesNotReopenIt() {
        LeaderHistory h = new LeaderHistory(1, WINDOW);
        h.onLeaderChange(4, 2, 0);
        h.onLeaderChange(5, 3, 10); // node 2's term 4 ended at 10
        h.onLeaderChange(3, 2, 20); // a stale report: node 2 led term 3, before
        h.onLeaderChange(4, 2, 30); // a stale report of node 2's ended term itself
        h.onLeaderChange(4, 4, 40); // ... and one naming another node for an older term
        assertEquals(Set.of(2, 3), h.predecessorsOf(6, 10 + WINDOW));
        assertEquals(Set.of(3), h.predecessorsOf(6, 11 + WINDOW));
    }

    @Test
    void refusesANegativeWindow() {
        assertThrows(IllegalArgumentException.class, () -> new LeaderHistory(1, -1));
    }

    /** One quorum report: term, leader (-1: none), and the time since the previous report. */
    record Report(long term, int leader, long atNanos) {
    }

    @Property(tries = 2_000)
    void matchesTheReference(@ForAll @Size(min = 1, max = 20) List<@IntRange(min = 0, max = 2) Integer> termSteps,
                             @ForAll @Size(min = 20, max = 20) List<@IntRange(min = -1, max = 4) Integer> leaders,
                             @ForAll @Size(min = 20, max = 20) List<@IntRange(min = 0, max = 8_000) Integer> gaps,
                             @ForAll @IntRange(min = 0, max = 3) int activationTermStep,
                             @ForAll @IntRange(min = 0, max = 25_000) int activationDelay) {
        int self = 1;
        List<Report> reports = new ArrayList<>();
        long term = 1;
        long now = 0;
        for (int i = 0; i < termSteps.size(); i++) {
            term += termSteps.get(i); // terms never go back in a node's reports
            now += gaps.get(i);
            reports.add(new Report(term, leaders.get(i), now));
        }
        LeaderHistory h = new LeaderHistory(self, WINDOW);
        for (Report r : reports) {
            h.onLeaderChange(r.term(), r.leader(), r.atNanos());
        }
        long activation = term + activationTermStep;
        long at = now + activationDelay;
        assertEquals(reference(reports, self, activation, at), h.predecessorsOf(activation, at),
                () -> "reports " + reports + ", activation of term " + activation + " at " + at);
    }

    /**
     * The rule as worded: another node whose latest term led is before the activation's, and which
     * was still leading (as far as this node saw) no longer than the window before it: its term
     * ends at the first report of a later term, or at the activation if none came.
     */
    static Set<Integer> reference(List<Report> reports, int self, long activation, long at) {
        boolean anyOther = reports.stream().anyMatch(r -> r.leader() >= 0 && r.leader() != self);
        if (!anyOther) {
            return null;
        }
        Set<Integer> out = new HashSet<>();
        for (int id = 0; id <= 4; id++) {
            if (id == self) {
                continue;
            }
            long latest = -1;
            for (Report r : reports) {
                if (r.leader() == id) {
                    latest = Math.max(latest, r.term());
                }
            }
            if (latest < 0 || latest >= activation) {
                continue;
            }
            long ended = at;
            for (Report r : reports) {
                if (r.term() > latest) {
                    ended = Math.min(ended, r.atNanos());
                    break;
                }
            }
            if (at - ended <= WINDOW) {
                out.add(id);
            }
        }
        return Set.copyOf(out);
    }
}

package dev.basalt.raft.state;

import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/**
 * The votes one campaign received (a pre-vote round, §9.6 of the dissertation, or an election,
 * Raft paper §5.2): who granted and who refused. The campaigner's own vote is granted from the
 * start. A grant is never taken back: a late or duplicated refusal from the same voter does not
 * remove it (a voter grants at most once per term). Mutable, confined to the core's thread.
 */
final class VoteTally {
    private final Set<Integer> granted = new TreeSet<>();
    private final Set<Integer> rejected = new TreeSet<>();

    VoteTally(int selfId) {
        granted.add(selfId);
    }

    void record(int voterId, boolean grant) {
        (grant ? granted : rejected).add(voterId);
    }

    Set<Integer> granted() {
        return Collections.unmodifiableSet(granted);
    }

    Set<Integer> rejected() {
        return Collections.unmodifiableSet(rejected);
    }
}

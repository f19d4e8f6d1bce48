package dev.basalt.raft.quorum;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The leader's {@link Progress} for every other member of the current configuration, in node-id
 * order (so the messages the leader emits are in a deterministic order). Mutable; owned by the
 * leader state, used only on the core's thread.
 */
public final class ProgressTracker {
    private final int localId;
    private final TreeMap<Integer, Progress> peers = new TreeMap<>();

    public ProgressTracker(int localId) {
        this.localId = localId;
    }

    /** Adds progress for new members (probing from {@code nextIndex}) and drops removed ones. */
    public void sync(Configuration configuration, long nextIndex) {
        peers.keySet().removeIf(id -> !configuration.isMember(id));
        for (Integer id : configuration.members()) {
            if (id != localId && !peers.containsKey(id)) {
                peers.put(id, new Progress(id, nextIndex));
            }
        }
    }

    public Progress get(int nodeId) {
        return peers.get(nodeId);
    }

    public Collection<Progress> all() {
        return peers.values();
    }

    /** Highest index matched by a majority of voters; the leader counts {@code localLastIndex} if a voter. */
    public long majorityMatchIndex(Configuration configuration, long localLastIndex) {
        Map<Integer, Long> match = new HashMap<>();
        for (Integer id : configuration.voters()) {
            if (id == localId) {
                match.put(id, localLastIndex);
            } else {
                Progress p = peers.get(id);
                match.put(id, p == null ? 0L : p.matchIndex());
            }
        }
        return Majority.majorityMatchIndex(configuration.voters(), match);
    }

    /**
     * Check-quorum (dissertation §6.2): whether a majority of voters (the leader included if a voter)
     * was heard from since the previous call. Clears the activity flags.
     */
    public boolean takeQuorumActive(Configuration configuration) {
        int active = configuration.isVoter(localId) ? 1 : 0;
        for (Progress p : peers.values()) {
            if (p.takeRecentActive() && configuration.isVoter(p.nodeId())) {
                active++;
            }
        }
        return active >= Majority.quorumSize(configuration.voters().size());
    }

    /** The voters heard from since the last check-quorum round (this node counts when a voter), for its reason. */
    public java.util.SortedSet<Integer> recentlyActiveVoters(Configuration configuration) {
        java.util.SortedSet<Integer> active = new java.util.TreeSet<>();
        if (configuration.isVoter(localId)) {
            active.add(localId);
        }
        for (Progress p : peers.values()) {
            if (p.recentActive() && configuration.isVoter(p.nodeId())) {
                active.add(p.nodeId());
            }
        }
        return active;
    }

    /** Whether a majority of voters acknowledged read round {@code seq} (ReadIndex, dissertation §6.4). */
    public boolean readQuorum(Configuration configuration, long seq) {
        int acks = configuration.isVoter(localId) ? 1 : 0;
        for (Progress p : peers.values()) {
            if (configuration.isVoter(p.nodeId()) && p.readAckSeq() >= seq) {
                acks++;
            }
        }
        return acks >= Majority.quorumSize(configuration.voters().size());
    }
}

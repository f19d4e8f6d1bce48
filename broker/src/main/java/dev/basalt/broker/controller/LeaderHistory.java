package dev.basalt.broker.controller;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which other metadata-quorum leaders this node has seen, and when each one's term ended, so that
 * a node becoming the active controller can name the leaders it takes over from (see
 * {@link MetadataQuorum#predecessorsOf}). Pure: the caller passes the time (nanoTime) of every
 * event; no clock is read here.
 *
 * <p>A leader whose term ended more than {@code windowNanos} before the activation is no
 * predecessor: its live broker moved its session long since, or its dead broker was fenced by a
 * controller in between. A node that has seen no other leader since it started knows nothing of
 * its predecessors ({@code null}): the controller then treats every broker without a session as
 * suspect.
 *
 * <p>Thread-safety: not thread-safe; the caller serialises calls.
 */
final class LeaderHistory {

    /** Another node seen leading in {@code term}; {@code endedAtNanos} is MAX_VALUE until a later term is seen. */
    private record SeenLeader(long term, long endedAtNanos) {
    }

    private final int selfId;
    private final long windowNanos;
    /** The latest term each other node was seen leading, by node id. */
    private final Map<Integer, SeenLeader> seen = new HashMap<>();
    private boolean seenAnotherLeader;
    /** The highest term reported so far; reports of lower terms are ignored. */
    private long highestTerm = Long.MIN_VALUE;

    LeaderHistory(int selfId, long windowNanos) {
        if (windowNanos < 0) {
            throw new IllegalArgumentException("windowNanos must be >= 0: " + windowNanos);
        }
        this.selfId = selfId;
        this.windowNanos = windowNanos;
    }

    /** The quorum reports {@code leaderId} (negative: none known) for {@code term}, at {@code nowNanos}. */
    void onLeaderChange(long term, int leaderId, long nowNanos) {
        if (term < highestTerm) {
            return; // a late report of an older term: nothing this node does not know already
        }
        highestTerm = term;
        // every leader of an earlier term has been replaced by now
        seen.replaceAll((id, l) -> l.term() < term && l.endedAtNanos() == Long.MAX_VALUE
                ? new SeenLeader(l.term(), nowNanos) : l);
        if (leaderId >= 0 && leaderId != selfId) {
            seen.put(leaderId, new SeenLeader(term, Long.MAX_VALUE));
            seenAnotherLeader = true;
        }
    }

    /**
     * The other nodes that led a term earlier than {@code term} and whose leadership ended at most
     * the window before {@code nowNanos} (one still current as far as this node saw ends now); a
     * node seen leading a later term is none. {@code null} if this node has seen no other leader.
     */
    Set<Integer> predecessorsOf(long term, long nowNanos) {
        if (!seenAnotherLeader) {
            return null;
        }
        return seen.entrySet().stream()
                .filter(e -> e.getValue().term() < term
                        && nowNanos - Math.min(nowNanos, e.getValue().endedAtNanos()) <= windowNanos)
                .map(Map.Entry::getKey)
                .collect(Collectors.toUnmodifiableSet());
    }
}

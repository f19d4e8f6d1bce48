package dev.basalt.raft.driver;

/**
 * Another voter's replication as this Raft leader last saw it.
 *
 * @param matchIndex           its replicated (match) index, or -1 when unknown
 * @param millisSinceContact   how long ago it last answered this leader, or -1 if it has not since
 *                             this node became leader
 * @param millisSinceCaughtUp  how long ago it last answered with its log caught up to the leader's
 *                             end, or -1 if it has not since this node became leader
 */
public record VoterProgress(long matchIndex, long millisSinceContact, long millisSinceCaughtUp) {
}

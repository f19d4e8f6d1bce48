package dev.basalt.broker.group.state;

/**
 * A committed offset: the next record the group will read, the leader epoch of the record before
 * it (or -1), the client's metadata string and when the coordinator accepted the commit.
 *
 * <p>Immutable value; thread-safe.
 */
public record OffsetAndMetadata(long offset, int leaderEpoch, String metadata, long commitTimestampMs) {
}

package dev.basalt.log;

/** A record's timestamp and offset: the answer of a ListOffsets-by-timestamp lookup. Immutable; thread-safe. */
public record TimestampOffset(long timestamp, long offset) {
}

/**
 * The pure replication rules of one partition (DESIGN.md §6 "Replication"): the leader's view of
 * its followers in one leader epoch ({@link dev.basalt.broker.replica.state.LeaderState}: high
 * watermark, ISR shrink and expand, one pending ISR change at a time) and the follower's
 * truncation rule ({@link dev.basalt.broker.replica.state.FollowerTruncation}, KIP-101/279).
 *
 * <p>No I/O, no clock reads (time comes in as {@code nowMs}), no threads, no randomness: the build
 * runs forbidden-apis over this package, and the seeded replication simulation drives these
 * classes directly. The broker's {@code Partition} owns one instance under its lock and performs
 * what the rules decide (log appends, fsyncs, AlterPartition requests).
 */
package dev.basalt.broker.replica.state;

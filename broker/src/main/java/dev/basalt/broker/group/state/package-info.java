/**
 * The pure consumer-group logic (DESIGN.md §6 "Consumer groups", KIP-848's model): a group's
 * state rebuilt from its records ({@link dev.basalt.broker.group.state.ConsumerGroup}), the
 * heartbeat, expiry and offset decisions of one {@code __consumer_offsets} partition
 * ({@link dev.basalt.broker.group.state.GroupShard}), the server-side assignors
 * ({@link dev.basalt.broker.group.state.UniformAssignor}, {@link dev.basalt.broker.group.state.RangeAssignor})
 * and incremental reconciliation ({@link dev.basalt.broker.group.state.Reconciler}).
 *
 * <p>No I/O, no clock reads (time comes in as {@code nowMs}), no threads, no randomness, and only
 * ordered collections where order reaches an output: the build runs forbidden-apis over this
 * package, and the seeded group simulation drives these classes directly. The coordinator's event
 * loop owns one {@code GroupShard} per {@code __consumer_offsets} partition it leads, writes the
 * records it returns, and answers once they are committed.
 */
package dev.basalt.broker.group.state;

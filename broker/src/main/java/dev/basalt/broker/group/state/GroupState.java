package dev.basalt.broker.group.state;

/**
 * A consumer group's state as {@code basalt groups --describe --state} shows it (KIP-848's names).
 * Derived from the members, never stored.
 *
 * <ul>
 *   <li>{@code EMPTY}: no members (offsets may remain; the group expires after
 *       {@code offsets.retention.minutes} like this).</li>
 *   <li>{@code RECONCILING}: some member has not reached the target assignment yet.</li>
 *   <li>{@code STABLE}: every member holds its target at the target epoch.</li>
 *   <li>{@code DEAD}: deleted (only ever seen in answers about a group that was just removed).</li>
 * </ul>
 * The assignment is computed in the same step as the epoch bump, so KIP-848's ASSIGNING state
 * never lasts beyond one heartbeat and is not reported.
 */
public enum GroupState {
    EMPTY,
    RECONCILING,
    STABLE,
    DEAD
}

package dev.basalt.broker.group.state;

/**
 * Where a member stands in reconciling toward its target assignment (KIP-848).
 *
 * <pre>
 *            target epoch bumped, some owned partitions not in the target
 *   STABLE ───────────────────────────────────────────────▶ UNREVOKED_PARTITIONS
 *     ▲  ▲                                                      │ member's heartbeat no longer
 *     │  │ every new partition free                             │ reports the revoked partitions
 *     │  └───────────────────────────────────┐                  ▼
 *     │                                      └──── (recompute against the target)
 *     │ the last ones freed by their previous owners            │ a new partition is still
 *     │                                                         ▼ held by its previous owner
 *     └──────────────────────────────────────────────── UNRELEASED_PARTITIONS
 * </pre>
 *
 * <ul>
 *   <li>{@code STABLE}: the member holds its whole target and is at the target epoch.</li>
 *   <li>{@code UNREVOKED_PARTITIONS}: the member must give up partitions first; it keeps its epoch
 *       until its heartbeat shows them gone (then it may move on, and the partitions are free for
 *       their new owners).</li>
 *   <li>{@code UNRELEASED_PARTITIONS}: the member is at the target epoch and holds the partitions
 *       already free; the others are still being revoked by their previous owners and are granted
 *       on a later heartbeat once free.</li>
 * </ul>
 */
public enum MemberState {
    STABLE,
    UNREVOKED_PARTITIONS,
    UNRELEASED_PARTITIONS
}

package dev.basalt.broker.group.state;

import java.util.function.Function;

/**
 * KIP-848's incremental reconciliation of one member toward its target assignment, without a
 * group-wide barrier. Pure function.
 *
 * <ol>
 *   <li>A member waiting in {@link MemberState#UNREVOKED_PARTITIONS} moves on only once its
 *       heartbeat reports owned partitions that no longer include any it was asked to revoke; until
 *       then nothing changes (it keeps its epoch, and the partitions stay its own).</li>
 *   <li>If the member owns partitions outside its target, it is asked to revoke them: it keeps the
 *       rest, keeps its epoch, and the revoked ones are pending (still owned) until confirmed.</li>
 *   <li>Otherwise it moves to the target epoch and receives every target partition nobody else
 *       owns; partitions still owned (assigned or pending revocation) by another member are withheld
 *       ({@link MemberState#UNRELEASED_PARTITIONS}) and granted by a later heartbeat once free.</li>
 * </ol>
 * So a partition changes owner only after its previous owner confirmed the revocation, and a member
 * whose partitions do not move keeps consuming them throughout: it never pauses.
 *
 * <p>Stateless; thread-safe.
 */
public final class Reconciler {
    private Reconciler() {
    }

    /**
     * @param member      the member now
     * @param targetEpoch the group's target assignment epoch
     * @param target      the member's partitions in the target assignment
     * @param owned       the partitions the member's heartbeat reports owning, or null if not reported
     * @param ownerOf     current owner of a partition in the group (member id) or null
     * @return the member's next current assignment (equal to the present one when nothing changes)
     */
    public static GroupRecord.CurrentAssignment reconcile(ConsumerGroupMember member, int targetEpoch, Assignment target,
                                                          Assignment owned, Function<PartitionKey, String> ownerOf) {
        GroupRecord.CurrentAssignment c = member.current();
        if (member.leftTemporarily()) {
            throw new IllegalArgumentException("member " + member.memberId() + " left; it does not reconcile");
        }
        Assignment assigned = c.assigned();
        if (c.state() == MemberState.UNREVOKED_PARTITIONS) {
            if (owned == null || owned.intersects(c.pendingRevocation())) {
                return c;
            }
        } else if (c.state() == MemberState.STABLE && c.memberEpoch() == targetEpoch && assigned.equals(target)) {
            return c;
        }
        Assignment revoke = assigned.minus(target);
        if (!revoke.isEmpty()) {
            return new GroupRecord.CurrentAssignment(c.groupId(), c.memberId(), c.memberEpoch(), c.previousMemberEpoch(),
                    MemberState.UNREVOKED_PARTITIONS, assigned.intersect(target), revoke);
        }
        Assignment wanted = target.minus(assigned);
        String me = member.memberId();
        Assignment free = wanted.filter(p -> {
            String owner = ownerOf.apply(p);
            return owner == null || owner.equals(me);
        });
        MemberState state = free.size() == wanted.size() ? MemberState.STABLE : MemberState.UNRELEASED_PARTITIONS;
        int previous = c.memberEpoch() == targetEpoch ? c.previousMemberEpoch() : c.memberEpoch();
        return new GroupRecord.CurrentAssignment(c.groupId(), me, targetEpoch, previous, state, assigned.union(free),
                Assignment.EMPTY);
    }
}

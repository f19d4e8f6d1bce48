package dev.basalt.broker.group.state;

/**
 * A member as the coordinator sees it: its identity and subscription ({@link GroupRecord.MemberMetadata})
 * and what it holds now ({@link GroupRecord.CurrentAssignment}).
 *
 * <p>Immutable value; thread-safe.
 */
public record ConsumerGroupMember(GroupRecord.MemberMetadata metadata, GroupRecord.CurrentAssignment current) {
    public String memberId() {
        return metadata.memberId();
    }

    public String instanceId() {
        return metadata.instanceId();
    }

    public int memberEpoch() {
        return current.memberEpoch();
    }

    public int previousMemberEpoch() {
        return current.previousMemberEpoch();
    }

    public MemberState state() {
        return current.state();
    }

    public Assignment assigned() {
        return current.assigned();
    }

    public Assignment pendingRevocation() {
        return current.pendingRevocation();
    }

    /** A static member that left with epoch -2 and whose instance may come back. */
    public boolean leftTemporarily() {
        return current.memberEpoch() == GroupShard.LEAVE_STATIC_EPOCH;
    }
}

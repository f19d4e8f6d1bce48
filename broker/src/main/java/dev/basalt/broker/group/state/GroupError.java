package dev.basalt.broker.group.state;

/**
 * The outcomes of the group logic that a client acts on. The coordinator's gRPC edge maps each to
 * the {@code ErrorCode} of the same name in errors.proto.
 */
public enum GroupError {
    NONE,
    /** The request is malformed: a field missing, too long, or out of range. */
    INVALID_REQUEST,
    /** No such group (or, for a commit with a member epoch, a group the member never joined). */
    GROUP_ID_NOT_FOUND,
    /** The member id is not (or no longer) in the group: rejoin with epoch 0. */
    UNKNOWN_MEMBER_ID,
    /** A heartbeat's member epoch is not the member's: it lost its partitions, rejoin with epoch 0. */
    FENCED_MEMBER_EPOCH,
    /** An offset commit or fetch carried another member epoch than the member's current one. */
    STALE_MEMBER_EPOCH,
    /** The static member's instance id is held by another member that has not left. */
    UNRELEASED_INSTANCE_ID,
    /** The group holds {@code group.consumer.max.size} members. */
    GROUP_MAX_SIZE_REACHED,
    /** The requested server assignor does not exist. */
    UNSUPPORTED_ASSIGNOR,
    /** The requested assignor differs from the one the group's members use. */
    INCONSISTENT_ASSIGNOR,
    /** The subscription regex does not compile or is too long. */
    INVALID_REGULAR_EXPRESSION,
    /** The operation needs a group without members (delete, offset reset). */
    NON_EMPTY_GROUP,
    /** An offset commit's metadata string is longer than {@code offset.metadata.max.bytes}. */
    OFFSET_METADATA_TOO_LARGE
}

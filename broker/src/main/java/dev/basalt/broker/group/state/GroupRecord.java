package dev.basalt.broker.group.state;

import java.util.List;
import java.util.Objects;
import java.util.SortedMap;

/**
 * The records a group coordinator writes to its {@code __consumer_offsets} partition: everything
 * durable about a group (KIP-848's record types). Replaying them in log order rebuilds the groups
 * exactly ({@link GroupShard#replay}); that is how a new coordinator takes over.
 *
 * <p>The partition is compacted: each record has a {@link Key}, and only the latest record per key
 * survives (a {@link Tombstone} deletes the key). Every key's surviving records are thus a suffix
 * of the records written under it, so a replay of a compacted log passes through states that are
 * each a subset of a state the live coordinator had, and never shows a partition with two owners.
 * Because compaction reorders records of different keys, replay accepts a member's records in
 * any order relative to its group's.
 *
 * <p>All types are immutable values; thread-safe.
 */
public sealed interface GroupRecord {
    String groupId();

    Key key();

    /** The compaction key of a record. */
    sealed interface Key {
        String groupId();
    }

    record GroupKey(String groupId) implements Key {
    }

    record MemberKey(String groupId, String memberId) implements Key {
    }

    record TargetKey(String groupId, String memberId) implements Key {
    }

    record CurrentKey(String groupId, String memberId) implements Key {
    }

    record OffsetKey(String groupId, PartitionKey partition) implements Key {
    }

    /**
     * The group's epochs, assignor and the subscribed topics' partition counts at the last epoch
     * bump (so a change in those counts bumps the epoch once, on the next heartbeat or tick).
     */
    record GroupMetadata(String groupId, int groupEpoch, int targetAssignmentEpoch, String assignor,
                         SortedMap<String, Integer> subscriptionMetadata) implements GroupRecord {
        public GroupMetadata {
            Objects.requireNonNull(assignor, "assignor");
            subscriptionMetadata = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(subscriptionMetadata));
            if (targetAssignmentEpoch > groupEpoch) {
                throw new IllegalArgumentException("target epoch " + targetAssignmentEpoch + " > group epoch " + groupEpoch);
            }
        }

        @Override
        public Key key() {
            return new GroupKey(groupId);
        }
    }

    /**
     * A member's identity and subscription.
     *
     * @param instanceId     {@code group.instance.id} of a static member, or null
     * @param topicNames     subscribed topic names, sorted (empty with a regex subscription)
     * @param topicRegex     subscribed regex, or null
     */
    record MemberMetadata(String groupId, String memberId, String instanceId, String clientId, String clientHost,
                          List<String> topicNames, String topicRegex, int rebalanceTimeoutMs) implements GroupRecord {
        public MemberMetadata {
            Objects.requireNonNull(memberId, "memberId");
            Objects.requireNonNull(clientId, "clientId");
            Objects.requireNonNull(clientHost, "clientHost");
            topicNames = List.copyOf(new java.util.TreeSet<>(topicNames));
        }

        @Override
        public Key key() {
            return new MemberKey(groupId, memberId);
        }
    }

    /** The member's partitions in the target assignment. */
    record TargetAssignment(String groupId, String memberId, Assignment assignment) implements GroupRecord {
        public TargetAssignment {
            Objects.requireNonNull(assignment, "assignment");
        }

        @Override
        public Key key() {
            return new TargetKey(groupId, memberId);
        }
    }

    /**
     * What the member holds now: its epoch, its reconciliation state, the partitions it owns and the
     * ones it was asked to revoke but has not confirmed yet (still its own: nobody else gets them).
     * A member epoch of {@link GroupShard#LEAVE_STATIC_EPOCH} marks a static member that left for a
     * restart; its partitions wait for it until its session times out.
     */
    record CurrentAssignment(String groupId, String memberId, int memberEpoch, int previousMemberEpoch, MemberState state,
                             Assignment assigned, Assignment pendingRevocation) implements GroupRecord {
        public CurrentAssignment {
            Objects.requireNonNull(state, "state");
            Objects.requireNonNull(assigned, "assigned");
            Objects.requireNonNull(pendingRevocation, "pendingRevocation");
            if (assigned.intersects(pendingRevocation)) {
                throw new IllegalArgumentException("member " + memberId + " both owns and revokes " + assigned.intersect(pendingRevocation));
            }
            if ((state == MemberState.UNREVOKED_PARTITIONS) == pendingRevocation.isEmpty()) {
                throw new IllegalArgumentException("member " + memberId + " in " + state + " with pending revocation " + pendingRevocation);
            }
        }

        @Override
        public Key key() {
            return new CurrentKey(groupId, memberId);
        }

        /** Everything the member may still be consuming. */
        public Assignment owned() {
            return assigned.union(pendingRevocation);
        }
    }

    /** A committed offset. */
    record OffsetCommit(String groupId, PartitionKey partition, long offset, int leaderEpoch, String metadata,
                        long commitTimestampMs) implements GroupRecord {
        public OffsetCommit {
            Objects.requireNonNull(partition, "partition");
            Objects.requireNonNull(metadata, "metadata");
            if (offset < 0) {
                throw new IllegalArgumentException("offset " + offset + " < 0");
            }
        }

        @Override
        public Key key() {
            return new OffsetKey(groupId, partition);
        }
    }

    /** Deletes its key. */
    record Tombstone(Key key) implements GroupRecord {
        public Tombstone {
            Objects.requireNonNull(key, "key");
        }

        @Override
        public String groupId() {
            return key.groupId();
        }
    }
}

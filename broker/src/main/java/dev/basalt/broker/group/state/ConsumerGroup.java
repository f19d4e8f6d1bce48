package dev.basalt.broker.group.state;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One consumer group as its coordinator holds it: the durable part, changed only by
 * {@link #apply(GroupRecord)} (so the live coordinator and a replaying one hold the same), and
 * timers that live in memory only (session deadlines: a new coordinator restarts
 * them from its load time, as Kafka's does).
 *
 * <p>Invariant, asserted on every record: a partition is owned (assigned or pending revocation) by
 * at most one member.
 *
 * <p>Thread-safety: not thread-safe; owned by one {@link GroupShard}, whose event loop serializes
 * every call.
 */
public final class ConsumerGroup {
    private final String groupId;
    private int groupEpoch;
    private int targetEpoch;
    private String assignor;
    private SortedMap<String, Integer> subscriptionMetadata = Collections.emptySortedMap();
    private final TreeMap<String, GroupRecord.MemberMetadata> metadata = new TreeMap<>();
    private final TreeMap<String, GroupRecord.CurrentAssignment> current = new TreeMap<>();
    private final TreeMap<String, Assignment> target = new TreeMap<>();
    private final TreeMap<String, String> staticMembers = new TreeMap<>();
    private final TreeMap<PartitionKey, String> owners = new TreeMap<>();
    private final TreeMap<PartitionKey, OffsetAndMetadata> offsets = new TreeMap<>();

    // in memory only
    private final TreeMap<String, Long> sessionDeadlineMs = new TreeMap<>();
    private final Map<String, Pattern> compiledRegex = new HashMap<>();
    private long emptySinceMs;

    ConsumerGroup(String groupId, String assignor, long nowMs) {
        this.groupId = Objects.requireNonNull(groupId, "groupId");
        this.assignor = assignor;
        this.emptySinceMs = nowMs;
    }

    public String groupId() {
        return groupId;
    }

    public int groupEpoch() {
        return groupEpoch;
    }

    public int targetAssignmentEpoch() {
        return targetEpoch;
    }

    public String assignor() {
        return assignor;
    }

    public SortedMap<String, Integer> subscriptionMetadata() {
        return subscriptionMetadata;
    }

    /** Members by id: those with both metadata and a current assignment. */
    public SortedMap<String, ConsumerGroupMember> members() {
        TreeMap<String, ConsumerGroupMember> out = new TreeMap<>();
        metadata.forEach((id, md) -> {
            ConsumerGroupMember m = member(id);
            if (m != null) {
                out.put(id, m);
            }
        });
        return out;
    }

    public int memberCount() {
        return metadata.size();
    }

    /** The member, or null. A member replayed without its current assignment yet holds nothing at epoch 0. */
    public ConsumerGroupMember member(String memberId) {
        GroupRecord.MemberMetadata md = metadata.get(memberId);
        if (md == null) {
            return null;
        }
        GroupRecord.CurrentAssignment c = current.get(memberId);
        if (c == null) {
            c = new GroupRecord.CurrentAssignment(groupId, memberId, 0, 0, MemberState.STABLE, Assignment.EMPTY, Assignment.EMPTY);
        }
        return new ConsumerGroupMember(md, c);
    }

    /** The current assignment record of {@code memberId}, member or not, or null. */
    GroupRecord.CurrentAssignment currentRecord(String memberId) {
        return current.get(memberId);
    }

    /**
     * Ids with a current or target assignment but no member record: none in a log the coordinator
     * wrote; left when a load skipped the member's record (GroupShard#dropAssignmentsWithoutMember).
     */
    java.util.SortedSet<String> assignmentsWithoutMember() {
        java.util.TreeSet<String> out = new java.util.TreeSet<>(current.keySet());
        out.addAll(target.keySet());
        out.removeAll(metadata.keySet());
        return out;
    }

    /** The member id holding this static instance id, or null. */
    public String staticMemberId(String instanceId) {
        return staticMembers.get(instanceId);
    }

    public Assignment targetAssignment(String memberId) {
        return target.getOrDefault(memberId, Assignment.EMPTY);
    }

    public SortedMap<String, Assignment> targetAssignment() {
        return Collections.unmodifiableSortedMap(target);
    }

    /** The member that owns the partition (assigned or pending revocation), or null. */
    public String ownerOf(PartitionKey p) {
        return owners.get(p);
    }

    public SortedMap<PartitionKey, String> owners() {
        return Collections.unmodifiableSortedMap(owners);
    }

    public SortedMap<PartitionKey, OffsetAndMetadata> offsets() {
        return Collections.unmodifiableSortedMap(offsets);
    }

    public GroupState state() {
        if (metadata.isEmpty()) {
            return GroupState.EMPTY;
        }
        for (String id : metadata.keySet()) {
            ConsumerGroupMember m = member(id);
            if (m.leftTemporarily()) {
                continue;
            }
            if (m.memberEpoch() != targetEpoch || m.state() != MemberState.STABLE) {
                return GroupState.RECONCILING;
            }
        }
        return GroupState.STABLE;
    }

    /** Applies one record: the only way the durable state changes. */
    void apply(GroupRecord record, long nowMs) {
        // Java 17: no pattern matching in switch, hence the instanceof chain over the sealed type
        if (record instanceof GroupRecord.GroupMetadata r) {
            if (r.groupEpoch() < groupEpoch) {
                throw new IllegalStateException(r + ": group epoch goes back from " + groupEpoch);
            }
            groupEpoch = r.groupEpoch();
            targetEpoch = r.targetAssignmentEpoch();
            assignor = r.assignor();
            subscriptionMetadata = r.subscriptionMetadata();
        } else if (record instanceof GroupRecord.MemberMetadata r) {
            // Checked before anything changes: a refused record leaves the group as it was (a shard
            // load skips it and goes on).
            if (r.instanceId() != null) {
                String holder = staticMembers.get(r.instanceId());
                if (holder != null && !holder.equals(r.memberId()) && metadata.containsKey(holder)) {
                    throw new IllegalStateException(r + ": instance id " + r.instanceId() + " still held by member " + holder);
                }
            }
            GroupRecord.MemberMetadata old = metadata.put(r.memberId(), r);
            if (old != null && old.instanceId() != null) {
                staticMembers.remove(old.instanceId(), r.memberId());
            }
            if (r.instanceId() != null) {
                staticMembers.put(r.instanceId(), r.memberId());
            }
        } else if (record instanceof GroupRecord.TargetAssignment r) {
            target.put(r.memberId(), r.assignment());
        } else if (record instanceof GroupRecord.CurrentAssignment r) {
            setOwnership(r.memberId(), current.get(r.memberId()), r);
            current.put(r.memberId(), r);
        } else if (record instanceof GroupRecord.OffsetCommit r) {
            offsets.put(r.partition(), new OffsetAndMetadata(r.offset(), r.leaderEpoch(), r.metadata(), r.commitTimestampMs()));
        } else if (record instanceof GroupRecord.Tombstone t) {
            applyTombstone(t.key(), nowMs);
        } else {
            throw new IllegalStateException("unknown record " + record);
        }
    }

    private void applyTombstone(GroupRecord.Key key, long nowMs) {
        if (key instanceof GroupRecord.GroupKey k) {
            throw new IllegalStateException("group tombstone for " + k.groupId() + " reached the group");
        } else if (key instanceof GroupRecord.MemberKey k) {
            GroupRecord.MemberMetadata old = metadata.remove(k.memberId());
            if (old != null && old.instanceId() != null) {
                staticMembers.remove(old.instanceId(), k.memberId());
            }
            sessionDeadlineMs.remove(k.memberId());
            if (old != null && metadata.isEmpty()) {
                emptySinceMs = nowMs;
            }
        } else if (key instanceof GroupRecord.TargetKey k) {
            target.remove(k.memberId());
        } else if (key instanceof GroupRecord.CurrentKey k) {
            GroupRecord.CurrentAssignment old = current.remove(k.memberId());
            setOwnership(k.memberId(), old, null);
        } else if (key instanceof GroupRecord.OffsetKey k) {
            offsets.remove(k.partition());
        }
    }

    private void setOwnership(String memberId, GroupRecord.CurrentAssignment before, GroupRecord.CurrentAssignment after) {
        if (after != null) {
            // Checked before anything changes, as above.
            for (PartitionKey p : after.owned()) {
                String other = owners.get(p);
                if (other != null && !other.equals(memberId)) {
                    throw new IllegalStateException(after + ": partition " + p + " is owned by member " + other);
                }
            }
        }
        if (before != null) {
            for (PartitionKey p : before.owned()) {
                owners.remove(p, memberId);
            }
        }
        if (after != null) {
            for (PartitionKey p : after.owned()) {
                owners.put(p, memberId);
            }
        }
    }

    // ---- in-memory timers ----

    void setSessionDeadline(String memberId, long deadlineMs) {
        sessionDeadlineMs.put(memberId, deadlineMs);
    }

    Long sessionDeadline(String memberId) {
        return sessionDeadlineMs.get(memberId);
    }

    long emptySinceMs() {
        return emptySinceMs;
    }

    Pattern compiled(String regex) {
        return compiledRegex.computeIfAbsent(regex, Pattern::compile);
    }

    /**
     * The durable state as a comparable value: a replayed group must equal the live one
     * (the simulation checks this at every coordinator failover).
     */
    public String durableState() {
        return "group=" + groupId + " epoch=" + groupEpoch + " target=" + targetEpoch + " assignor=" + assignor
                + " subscription=" + subscriptionMetadata + " members=" + metadata + " current=" + current
                + " targets=" + target + " offsets=" + offsets;
    }
}

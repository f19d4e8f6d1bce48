package dev.basalt.broker.group;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.basalt.broker.group.state.Assignment;
import dev.basalt.broker.group.state.GroupRecord;
import dev.basalt.broker.group.state.MemberState;
import dev.basalt.broker.group.state.PartitionKey;
import dev.basalt.proto.v1.CurrentAssignmentValue;
import dev.basalt.proto.v1.GroupMetadataValue;
import dev.basalt.proto.v1.GroupRecordKey;
import dev.basalt.proto.v1.GroupRecordValue;
import dev.basalt.proto.v1.MemberMetadataValue;
import dev.basalt.proto.v1.OffsetCommitValue;
import dev.basalt.proto.v1.TopicPartitions;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeMap;

/**
 * Encodes {@link GroupRecord}s as the key and value of a record in {@code __consumer_offsets}
 * (group_records.proto): the key is what compaction keeps the latest value of, a null value is a
 * tombstone. Keys are built field by field in a fixed order, so equal keys have equal bytes.
 *
 * <p>Stateless; thread-safe.
 */
public final class GroupRecordCodec {
    static final int TYPE_GROUP = 1;
    static final int TYPE_MEMBER = 2;
    static final int TYPE_TARGET = 3;
    static final int TYPE_CURRENT = 4;
    static final int TYPE_OFFSET = 5;

    private GroupRecordCodec() {
    }

    /** The record's key and value (null for a tombstone). */
    public record Encoded(byte[] key, byte[] value) {
    }

    public static Encoded encode(GroupRecord r) {
        byte[] key = encodeKey(r.key()).toByteArray();
        if (r instanceof GroupRecord.Tombstone) {
            return new Encoded(key, null);
        }
        GroupRecordValue.Builder v = GroupRecordValue.newBuilder();
        if (r instanceof GroupRecord.GroupMetadata g) {
            v.setGroup(GroupMetadataValue.newBuilder().setGroupEpoch(g.groupEpoch()).setTargetAssignmentEpoch(g.targetAssignmentEpoch())
                    .setAssignor(g.assignor()).putAllSubscriptionMetadata(g.subscriptionMetadata()));
        } else if (r instanceof GroupRecord.MemberMetadata m) {
            v.setMember(MemberMetadataValue.newBuilder().setInstanceId(m.instanceId() == null ? "" : m.instanceId())
                    .setClientId(m.clientId()).setClientHost(m.clientHost()).addAllTopicNames(m.topicNames())
                    .setTopicRegex(m.topicRegex() == null ? "" : m.topicRegex()).setRebalanceTimeoutMs(m.rebalanceTimeoutMs()));
        } else if (r instanceof GroupRecord.TargetAssignment t) {
            v.setTargetAssignment(toProto(t.assignment()));
        } else if (r instanceof GroupRecord.CurrentAssignment c) {
            v.setCurrentAssignment(CurrentAssignmentValue.newBuilder().setMemberEpoch(c.memberEpoch())
                    .setPreviousMemberEpoch(c.previousMemberEpoch()).setState(c.state().name()).setAssigned(toProto(c.assigned()))
                    .setPendingRevocation(toProto(c.pendingRevocation())));
        } else if (r instanceof GroupRecord.OffsetCommit o) {
            v.setOffsetCommit(OffsetCommitValue.newBuilder().setOffset(o.offset()).setLeaderEpoch(o.leaderEpoch())
                    .setMetadata(o.metadata()).setCommitTimestampMs(o.commitTimestampMs()));
        } else {
            throw new IllegalArgumentException("unknown record " + r);
        }
        return new Encoded(key, v.build().toByteArray());
    }

    private static GroupRecordKey encodeKey(GroupRecord.Key key) {
        GroupRecordKey.Builder k = GroupRecordKey.newBuilder().setGroupId(key.groupId());
        if (key instanceof GroupRecord.GroupKey) {
            k.setType(TYPE_GROUP);
        } else if (key instanceof GroupRecord.MemberKey m) {
            k.setType(TYPE_MEMBER).setMemberId(m.memberId());
        } else if (key instanceof GroupRecord.TargetKey t) {
            k.setType(TYPE_TARGET).setMemberId(t.memberId());
        } else if (key instanceof GroupRecord.CurrentKey c) {
            k.setType(TYPE_CURRENT).setMemberId(c.memberId());
        } else if (key instanceof GroupRecord.OffsetKey o) {
            k.setType(TYPE_OFFSET).setTopic(o.partition().topic()).setPartition(o.partition().partition());
        }
        return k.build();
    }

    /**
     * Decodes one record of the partition.
     *
     * @throws IllegalStateException if the bytes are not a group record (a corrupt or foreign record
     *                               in {@code __consumer_offsets}: the coordinator must not guess)
     */
    public static GroupRecord decode(byte[] keyBytes, byte[] valueBytes) {
        try {
            GroupRecordKey k = GroupRecordKey.parseFrom(keyBytes);
            String g = k.getGroupId();
            GroupRecord.Key key = switch (k.getType()) {
                case TYPE_GROUP -> new GroupRecord.GroupKey(g);
                case TYPE_MEMBER -> new GroupRecord.MemberKey(g, k.getMemberId());
                case TYPE_TARGET -> new GroupRecord.TargetKey(g, k.getMemberId());
                case TYPE_CURRENT -> new GroupRecord.CurrentKey(g, k.getMemberId());
                case TYPE_OFFSET -> new GroupRecord.OffsetKey(g, new PartitionKey(k.getTopic(), k.getPartition()));
                default -> throw new IllegalStateException("unknown group record key type " + k.getType());
            };
            if (valueBytes == null) {
                return new GroupRecord.Tombstone(key);
            }
            GroupRecordValue v = GroupRecordValue.parseFrom(valueBytes);
            return switch (k.getType()) {
                case TYPE_GROUP -> {
                    GroupMetadataValue m = v.getGroup();
                    yield new GroupRecord.GroupMetadata(g, m.getGroupEpoch(), m.getTargetAssignmentEpoch(), m.getAssignor(),
                            new TreeMap<>(m.getSubscriptionMetadataMap()));
                }
                case TYPE_MEMBER -> {
                    MemberMetadataValue m = v.getMember();
                    yield new GroupRecord.MemberMetadata(g, k.getMemberId(), m.getInstanceId().isEmpty() ? null : m.getInstanceId(),
                            m.getClientId(), m.getClientHost(), m.getTopicNamesList(),
                            m.getTopicRegex().isEmpty() ? null : m.getTopicRegex(), m.getRebalanceTimeoutMs());
                }
                case TYPE_TARGET -> new GroupRecord.TargetAssignment(g, k.getMemberId(), fromProto(v.getTargetAssignment()));
                case TYPE_CURRENT -> {
                    CurrentAssignmentValue c = v.getCurrentAssignment();
                    yield new GroupRecord.CurrentAssignment(g, k.getMemberId(), c.getMemberEpoch(), c.getPreviousMemberEpoch(),
                            MemberState.valueOf(c.getState()), fromProto(c.getAssigned()), fromProto(c.getPendingRevocation()));
                }
                default -> {
                    OffsetCommitValue o = v.getOffsetCommit();
                    yield new GroupRecord.OffsetCommit(g, new PartitionKey(k.getTopic(), k.getPartition()), o.getOffset(),
                            o.getLeaderEpoch(), o.getMetadata(), o.getCommitTimestampMs());
                }
            };
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            throw new IllegalStateException("not a group record: " + e.getMessage(), e);
        }
    }

    public static dev.basalt.proto.v1.Assignment toProto(Assignment a) {
        dev.basalt.proto.v1.Assignment.Builder b = dev.basalt.proto.v1.Assignment.newBuilder();
        a.byTopic().forEach((topic, ps) -> b.addTopics(TopicPartitions.newBuilder().setTopic(topic).addAllPartitions(ps)));
        return b.build();
    }

    public static Assignment fromProto(dev.basalt.proto.v1.Assignment a) {
        return fromProto(a.getTopicsList());
    }

    public static Assignment fromProto(List<TopicPartitions> topics) {
        List<PartitionKey> out = new ArrayList<>();
        for (TopicPartitions tp : topics) {
            for (int p : tp.getPartitionsList()) {
                out.add(new PartitionKey(tp.getTopic(), p));
            }
        }
        return Assignment.of(out);
    }

    static List<TopicPartitions> toProto(SortedSet<PartitionKey> set) {
        return toProto(Assignment.of(set)).getTopicsList();
    }
}

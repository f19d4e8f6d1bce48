package dev.basalt.broker.group.state;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The groups of one {@code __consumer_offsets} partition and every decision about them: the
 * KIP-848 heartbeat (join, leave, subscription changes, target assignment, reconciliation), session
 * expiry, offset commits and fetches, group deletion and expiry. Pure: no I/O, no
 * clock (time comes in as {@code nowMs}), no threads; the coordinator's event loop for the
 * partition owns one instance.
 *
 * <h2>Records first</h2>
 * Every decision is expressed as {@link GroupRecord}s which are applied to the state through
 * {@link #replay} as they are produced, exactly as a new coordinator applies them when it loads the
 * partition; the caller writes them to the log and answers once they are committed. If a write
 * fails (leadership lost), the caller drops this instance: the next coordinator rebuilds from what
 * was committed.
 *
 * <h2>Epochs</h2>
 * The group epoch is bumped whenever the membership, a subscription, the subscribed topics'
 * partition counts or the regex matches change, and when a member of a stable group asks for it
 * (enforceRebalance); the target assignment is recomputed in the same
 * step with the group's assignor, so the target epoch always equals the group epoch after a call.
 * Members then reconcile toward it one heartbeat at a time ({@link Reconciler}). A revocation is
 * confirmed by the member's first heartbeat whose owned partitions omit it: members must report
 * every partition they may consume, including those they are still taking.
 *
 * <h2>Timers</h2>
 * A member's session ends {@link GroupConfig#sessionTimeoutMs()} after its last heartbeat; only then
 * does the coordinator take its partitions. A member whose heartbeat answers stop gives up its
 * partitions on its own one session timeout after its last answered heartbeat was sent, which is no
 * later than that. The rebalance timeout (how long a member may take to revoke) is enforced by the
 * member itself: past it, the member declares its partitions lost and rejoins with epoch 0, which
 * frees them at once. Kafka fences a slow revoker at the coordinator instead, but the coordinator
 * cannot know when its revocation request reached a member whose answers were lost, so a
 * server-side fence could hand out partitions (even those the member keeps) while the member still
 * consumes them.
 *
 * <p>Thread-safety: not thread-safe; one event loop serializes every call.
 */
public final class GroupShard {
    public static final int JOIN_EPOCH = 0;
    public static final int LEAVE_EPOCH = -1;
    public static final int LEAVE_STATIC_EPOCH = -2;
    public static final int ID_LENGTH_MAX = 255;
    public static final int REGEX_LENGTH_MAX = 1_000;
    public static final int TOPICS_PER_SUBSCRIPTION_MAX = 10_000;
    public static final int PARTITIONS_PER_REQUEST_MAX = 100_000;
    public static final int REBALANCE_TIMEOUT_MS_MAX = 30 * 60 * 1000;

    private final GroupConfig config;
    private final TreeMap<String, ConsumerGroup> groups = new TreeMap<>();

    public GroupShard(GroupConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    public GroupConfig config() {
        return config;
    }

    public SortedMap<String, ConsumerGroup> groups() {
        return Collections.unmodifiableSortedMap(groups);
    }

    /** The group, or null. */
    public ConsumerGroup group(String groupId) {
        return groups.get(groupId);
    }

    // ------------------------------------------------------------------ replay

    /** Applies one record (the only way the durable state changes). */
    public void replay(GroupRecord record, long nowMs) {
        if (record instanceof GroupRecord.Tombstone t) {
            ConsumerGroup g = groups.get(t.groupId());
            if (g == null) {
                return; // compaction removed what the tombstone deletes; nothing to do
            }
            if (t.key() instanceof GroupRecord.GroupKey) {
                groups.remove(t.groupId());
            } else {
                g.apply(record, nowMs);
            }
            return;
        }
        groups.computeIfAbsent(record.groupId(), id -> new ConsumerGroup(id, config.defaultAssignor(), nowMs)).apply(record, nowMs);
    }

    /**
     * After a load that skipped a record the state refused (GroupCoordinator): restates what its key
     * holds now (the group's metadata, the member, the current assignment; a tombstone if nothing).
     * Compaction keeps only the latest record of a key, so a refused record left latest would become
     * all there is of its key (a group's epoch gone back for good). One key per call: each restated
     * record was in the log before, so the batch fits.
     */
    public Result<Void> restate(GroupRecord.Key refused, long nowMs) {
        Emitter e = new Emitter(nowMs);
        ConsumerGroup g = groups.get(refused.groupId());
        if (refused instanceof GroupRecord.GroupKey) {
            if (g != null) {
                e.emit(new GroupRecord.GroupMetadata(g.groupId(), g.groupEpoch(), g.targetAssignmentEpoch(), g.assignor(),
                        g.subscriptionMetadata()));
            }
        } else if (refused instanceof GroupRecord.MemberKey mk) {
            ConsumerGroupMember m = g == null ? null : g.member(mk.memberId());
            e.emit(m != null ? m.metadata() : new GroupRecord.Tombstone(mk));
        } else if (refused instanceof GroupRecord.CurrentKey ck) {
            GroupRecord.CurrentAssignment c = g == null ? null : g.currentRecord(ck.memberId());
            e.emit(c != null ? c : new GroupRecord.Tombstone(ck));
        }
        return new Result<>(e.out, null);
    }

    /**
     * Tombstones the group's assignments that have no member: left when a load skipped the member's
     * record; its replayed current assignment would keep its partitions owned by no member, never
     * to be reassigned. None in a log the coordinator wrote.
     */
    public Result<Void> dropAssignmentsWithoutMember(String groupId, long nowMs) {
        Emitter e = new Emitter(nowMs);
        ConsumerGroup g = groups.get(groupId);
        if (g != null) {
            for (String orphan : g.assignmentsWithoutMember()) {
                e.emit(new GroupRecord.Tombstone(new GroupRecord.CurrentKey(g.groupId(), orphan)));
                e.emit(new GroupRecord.Tombstone(new GroupRecord.TargetKey(g.groupId(), orphan)));
            }
        }
        return new Result<>(e.out, null);
    }

    /** After loading the partition: every member starts a fresh session. */
    public void onLoaded(long nowMs) {
        for (ConsumerGroup g : groups.values()) {
            g.members().forEach((id, m) -> {
                g.setSessionDeadline(id, nowMs + config.sessionTimeoutMs());
            });
        }
    }

    /** Collects records and applies each as it is made, so later decisions of one call see earlier ones. */
    private final class Emitter {
        final List<GroupRecord> out = new ArrayList<>();
        final long nowMs;

        Emitter(long nowMs) {
            this.nowMs = nowMs;
        }

        void emit(GroupRecord r) {
            out.add(r);
            replay(r, nowMs);
        }
    }

    // ------------------------------------------------------------------ heartbeat

    /** The KIP-848 heartbeat: join (epoch 0), stay (current epoch), leave (-1, or -2 for a static restart). */
    public Result<Heartbeat.Response> heartbeat(Heartbeat.Request r, TopicsView topics, long nowMs) {
        GroupError[] code = new GroupError[1];
        String problem = validate(r, code);
        if (problem != null) {
            return new Result<>(List.of(), Heartbeat.Response.error(code[0], problem));
        }
        if (r.memberEpoch() < 0) {
            return leave(r, topics, nowMs);
        }
        ConsumerGroup g = groups.get(r.groupId());
        ConsumerGroupMember m = g == null ? null : g.member(r.memberId());
        String replaced = null;
        if (r.memberEpoch() > 0) {
            if (m == null) {
                return error(GroupError.UNKNOWN_MEMBER_ID, "member " + r.memberId() + " is not in group " + r.groupId());
            }
            if (m.leftTemporarily()) {
                return error(GroupError.FENCED_MEMBER_EPOCH, "member " + r.memberId() + " left the group");
            }
            boolean previousEpochRetry = r.memberEpoch() == m.previousMemberEpoch() && r.owned() != null
                    && m.assigned().containsAll(r.owned());
            if (r.memberEpoch() != m.memberEpoch() && !previousEpochRetry) {
                return error(GroupError.FENCED_MEMBER_EPOCH, "member epoch " + r.memberEpoch() + " is not the member's epoch "
                        + m.memberEpoch());
            }
            if (r.instanceId() != null && !r.instanceId().equals(m.instanceId())) {
                return error(GroupError.INVALID_REQUEST, "a member's group.instance.id cannot change");
            }
        } else {
            if (r.topicNames() == null && r.topicRegex() == null) {
                return error(GroupError.INVALID_REQUEST, "a joining member must send its subscription");
            }
            if (r.rebalanceTimeoutMs() <= 0) {
                return error(GroupError.INVALID_REQUEST, "a joining member must send its rebalance timeout");
            }
            if (g != null && r.assignor() != null && activeMembers(g, r.memberId()) > 0 && !r.assignor().equals(g.assignor())) {
                return error(GroupError.INCONSISTENT_ASSIGNOR, "group " + r.groupId() + " uses assignor " + g.assignor());
            }
            if (r.instanceId() != null && g != null) {
                String holder = g.staticMemberId(r.instanceId());
                if (holder != null && !holder.equals(r.memberId())) {
                    if (!g.member(holder).leftTemporarily()) {
                        return error(GroupError.UNRELEASED_INSTANCE_ID, "instance " + r.instanceId() + " is held by member " + holder);
                    }
                    if (m != null) {
                        return error(GroupError.INVALID_REQUEST, "member " + r.memberId() + " is in the group as another instance");
                    }
                    replaced = holder;
                }
            }
            if (m == null && replaced == null && g != null && g.memberCount() >= config.groupSizeMax()) {
                return error(GroupError.GROUP_MAX_SIZE_REACHED, "group " + r.groupId() + " has " + g.memberCount() + " members");
            }
        }
        Emitter e = new Emitter(nowMs);
        if (g == null) {
            e.emit(new GroupRecord.GroupMetadata(r.groupId(), 0, 0, r.assignor() != null ? r.assignor() : config.defaultAssignor(),
                    Collections.emptySortedMap()));
            g = groups.get(r.groupId());
        } else if (r.assignor() != null && !r.assignor().equals(g.assignor()) && activeMembers(g, r.memberId()) == 0) {
            e.emit(new GroupRecord.GroupMetadata(g.groupId(), g.groupEpoch(), g.targetAssignmentEpoch(), r.assignor(),
                    g.subscriptionMetadata()));
        }
        boolean bump = upsertMember(g, m, replaced, r, e);
        if (!subscriptionMetadata(g, topics).equals(g.subscriptionMetadata())) {
            bump = true;
        }
        if (r.rebalanceRequested() && r.memberEpoch() > 0 && g.state() == GroupState.STABLE) {
            // enforceRebalance(): while members are still reconciling, a rebalance is in progress already
            bump = true;
        }
        if (bump) {
            computeTargetAssignment(g, topics, e);
        }
        m = g.member(r.memberId());
        GroupRecord.CurrentAssignment next = Reconciler.reconcile(m, g.targetAssignmentEpoch(), g.targetAssignment(r.memberId()),
                r.owned(), g::ownerOf);
        if (!next.equals(m.current())) {
            e.emit(next);
        }
        g.setSessionDeadline(r.memberId(), nowMs + config.sessionTimeoutMs());
        return new Result<>(e.out, new Heartbeat.Response(GroupError.NONE, "", r.memberId(), next.memberEpoch(),
                config.heartbeatIntervalMs(), next.assigned()));
    }

    /** Writes the member's metadata (and a fresh current assignment when it joins); true if the group epoch must move. */
    private boolean upsertMember(ConsumerGroup g, ConsumerGroupMember m, String replaced, Heartbeat.Request r, Emitter e) {
        ConsumerGroupMember previous = m != null ? m : replaced != null ? g.member(replaced) : null;
        GroupRecord.MemberMetadata old = previous == null ? null : previous.metadata();
        List<String> names = r.topicNames() != null ? r.topicNames() : old != null ? old.topicNames() : List.of();
        String regex = r.topicRegex() != null ? (r.topicRegex().isEmpty() ? null : r.topicRegex()) : old != null ? old.topicRegex() : null;
        int rebalanceMs = r.rebalanceTimeoutMs() > 0 ? r.rebalanceTimeoutMs() : old.rebalanceTimeoutMs();
        String instance = r.instanceId() != null ? r.instanceId() : old != null ? old.instanceId() : null;
        GroupRecord.MemberMetadata md = new GroupRecord.MemberMetadata(g.groupId(), r.memberId(), instance, r.clientId(),
                r.clientHost(), names, regex, rebalanceMs);
        boolean subscriptionChanged = old == null || !old.topicNames().equals(md.topicNames())
                || !Objects.equals(old.topicRegex(), md.topicRegex());
        if (replaced != null) {
            // a static member's new incarnation takes over the partitions its instance held
            ConsumerGroupMember gone = g.member(replaced);
            Assignment target = g.targetAssignment(replaced);
            e.emit(new GroupRecord.Tombstone(new GroupRecord.CurrentKey(g.groupId(), replaced)));
            e.emit(new GroupRecord.Tombstone(new GroupRecord.TargetKey(g.groupId(), replaced)));
            e.emit(new GroupRecord.Tombstone(new GroupRecord.MemberKey(g.groupId(), replaced)));
            e.emit(md);
            e.emit(new GroupRecord.TargetAssignment(g.groupId(), r.memberId(), target));
            int epoch = gone.previousMemberEpoch();
            e.emit(new GroupRecord.CurrentAssignment(g.groupId(), r.memberId(), epoch, epoch,
                    gone.assigned().equals(target) ? MemberState.STABLE : MemberState.UNRELEASED_PARTITIONS, gone.assigned(),
                    Assignment.EMPTY));
            return subscriptionChanged;
        }
        if (m == null) {
            e.emit(md);
            e.emit(new GroupRecord.CurrentAssignment(g.groupId(), r.memberId(), 0, 0, MemberState.STABLE, Assignment.EMPTY,
                    Assignment.EMPTY));
            return true;
        }
        if (!md.equals(old)) {
            e.emit(md);
        }
        if (r.memberEpoch() == JOIN_EPOCH && (m.memberEpoch() != 0 || !m.current().owned().isEmpty())) {
            // a rejoin: the client dropped everything it held before sending epoch 0
            e.emit(new GroupRecord.CurrentAssignment(g.groupId(), r.memberId(), 0, m.memberEpoch(), MemberState.STABLE,
                    Assignment.EMPTY, Assignment.EMPTY));
        }
        return subscriptionChanged;
    }

    private Result<Heartbeat.Response> leave(Heartbeat.Request r, TopicsView topics, long nowMs) {
        ConsumerGroup g = groups.get(r.groupId());
        ConsumerGroupMember m = g == null ? null : g.member(r.memberId());
        if (m == null) {
            return error(GroupError.UNKNOWN_MEMBER_ID, "member " + r.memberId() + " is not in group " + r.groupId());
        }
        Emitter e = new Emitter(nowMs);
        if (r.memberEpoch() == LEAVE_STATIC_EPOCH && m.instanceId() != null) {
            if (!m.leftTemporarily()) {
                // the instance stopped consuming: what it was revoking is free, what it owns waits for it
                e.emit(new GroupRecord.CurrentAssignment(g.groupId(), m.memberId(), LEAVE_STATIC_EPOCH, m.memberEpoch(),
                        MemberState.STABLE, m.assigned(), Assignment.EMPTY));
                g.setSessionDeadline(m.memberId(), nowMs + config.sessionTimeoutMs());
            }
            return new Result<>(e.out, new Heartbeat.Response(GroupError.NONE, "", m.memberId(), LEAVE_STATIC_EPOCH, 0,
                    Assignment.EMPTY));
        }
        removeMember(g, m.memberId(), topics, e);
        return new Result<>(e.out, new Heartbeat.Response(GroupError.NONE, "", m.memberId(), LEAVE_EPOCH, 0, Assignment.EMPTY));
    }

    private void removeMember(ConsumerGroup g, String memberId, TopicsView topics, Emitter e) {
        e.emit(new GroupRecord.Tombstone(new GroupRecord.CurrentKey(g.groupId(), memberId)));
        e.emit(new GroupRecord.Tombstone(new GroupRecord.TargetKey(g.groupId(), memberId)));
        e.emit(new GroupRecord.Tombstone(new GroupRecord.MemberKey(g.groupId(), memberId)));
        computeTargetAssignment(g, topics, e);
    }

    private static Result<Heartbeat.Response> error(GroupError code, String message) {
        return new Result<>(List.of(), Heartbeat.Response.error(code, message));
    }

    /** Members other than this one that have not left for a restart. */
    private static int activeMembers(ConsumerGroup g, String except) {
        int n = 0;
        for (ConsumerGroupMember m : g.members().values()) {
            if (!m.memberId().equals(except)) {
                n++;
            }
        }
        return n;
    }

    private static String validate(Heartbeat.Request r, GroupError[] code) {
        code[0] = GroupError.INVALID_REQUEST;
        if (r.groupId().isEmpty() || r.groupId().length() > ID_LENGTH_MAX) {
            return "group id must have 1 to " + ID_LENGTH_MAX + " characters";
        }
        if (r.memberId().isEmpty() || r.memberId().length() > ID_LENGTH_MAX) {
            return "member id must have 1 to " + ID_LENGTH_MAX + " characters";
        }
        if (r.instanceId() != null && (r.instanceId().isEmpty() || r.instanceId().length() > ID_LENGTH_MAX)) {
            return "group.instance.id must have 1 to " + ID_LENGTH_MAX + " characters";
        }
        if (r.clientId().length() > ID_LENGTH_MAX || r.clientHost().length() > ID_LENGTH_MAX) {
            return "client id and host are limited to " + ID_LENGTH_MAX + " characters";
        }
        if (r.memberEpoch() < LEAVE_STATIC_EPOCH) {
            return "member epoch " + r.memberEpoch() + " < " + LEAVE_STATIC_EPOCH;
        }
        if (r.rebalanceTimeoutMs() < 0 || r.rebalanceTimeoutMs() > REBALANCE_TIMEOUT_MS_MAX) {
            return "rebalance timeout must be at most " + REBALANCE_TIMEOUT_MS_MAX + " ms (and at least 1 ms to join)";
        }
        if (r.topicNames() != null) {
            if (r.topicNames().size() > TOPICS_PER_SUBSCRIPTION_MAX) {
                return "more than " + TOPICS_PER_SUBSCRIPTION_MAX + " subscribed topics";
            }
            for (String t : r.topicNames()) {
                if (t == null || t.isEmpty() || t.length() > ID_LENGTH_MAX) {
                    return "subscribed topic names must have 1 to " + ID_LENGTH_MAX + " characters";
                }
            }
        }
        if (r.owned() != null && r.owned().size() > PARTITIONS_PER_REQUEST_MAX) {
            return "more than " + PARTITIONS_PER_REQUEST_MAX + " owned partitions";
        }
        if (r.assignor() != null && Assignor.byName(r.assignor()) == null) {
            code[0] = GroupError.UNSUPPORTED_ASSIGNOR;
            return "unknown assignor " + r.assignor() + " (known: " + UniformAssignor.NAME + ", " + RangeAssignor.NAME + ")";
        }
        if (r.topicRegex() != null && !r.topicRegex().isEmpty()) {
            code[0] = GroupError.INVALID_REGULAR_EXPRESSION;
            if (r.topicRegex().length() > REGEX_LENGTH_MAX) {
                return "subscription regex longer than " + REGEX_LENGTH_MAX + " characters";
            }
            try {
                Pattern.compile(r.topicRegex());
            } catch (PatternSyntaxException ex) {
                return "subscription regex does not compile: " + ex.getDescription();
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ target assignment

    /** Existing topics the member subscribes to (names and regex matches). */
    private static SortedSet<String> resolvedTopics(ConsumerGroup g, GroupRecord.MemberMetadata md, TopicsView topics) {
        SortedSet<String> out = new TreeSet<>();
        for (String t : md.topicNames()) {
            if (topics.partitionCount(t) >= 0) {
                out.add(t);
            }
        }
        if (md.topicRegex() != null) {
            out.addAll(topics.matching(g.compiled(md.topicRegex())).keySet());
        }
        return out;
    }

    /** Partition counts of every existing topic some member subscribes to. */
    private static SortedMap<String, Integer> subscriptionMetadata(ConsumerGroup g, TopicsView topics) {
        SortedMap<String, Integer> out = new TreeMap<>();
        for (ConsumerGroupMember m : g.members().values()) {
            for (String t : resolvedTopics(g, m.metadata(), topics)) {
                out.put(t, topics.partitionCount(t));
            }
        }
        return out;
    }

    /** Bumps the group epoch and writes the new target assignment (only members whose target changed). */
    private void computeTargetAssignment(ConsumerGroup g, TopicsView topics, Emitter e) {
        int epoch = g.groupEpoch() + 1;
        Assignor assignor = Assignor.byName(g.assignor());
        if (assignor == null) {
            throw new IllegalStateException("group " + g.groupId() + " has unknown assignor " + g.assignor());
        }
        SortedMap<String, Assignor.MemberSpec> specs = new TreeMap<>();
        g.members().forEach((id, m) -> specs.put(id, new Assignor.MemberSpec(m.instanceId(), resolvedTopics(g, m.metadata(), topics),
                g.targetAssignment(id))));
        SortedMap<String, Assignment> next = assignor.assign(new Assignor.Spec(specs, topics));
        next.forEach((id, a) -> {
            if (!g.targetAssignment().containsKey(id) || !a.equals(g.targetAssignment(id))) {
                e.emit(new GroupRecord.TargetAssignment(g.groupId(), id, a));
            }
        });
        e.emit(new GroupRecord.GroupMetadata(g.groupId(), epoch, epoch, g.assignor(), subscriptionMetadata(g, topics)));
    }

    // ------------------------------------------------------------------ timers

    /**
     * Removes members whose session ended before {@code nowMs}, re-targets
     * groups whose subscribed topics changed (new partitions, new topics matching a regex, deleted
     * topics) and deletes empty groups past the offsets retention.
     */
    public Result<Void> poll(TopicsView topics, long nowMs) {
        Emitter e = new Emitter(nowMs);
        for (String groupId : new ArrayList<>(groups.keySet())) {
            ConsumerGroup g = groups.get(groupId);
            for (ConsumerGroupMember m : g.members().values()) {
                Long session = g.sessionDeadline(m.memberId());
                if (session == null) {
                    g.setSessionDeadline(m.memberId(), nowMs + config.sessionTimeoutMs());
                } else if (nowMs > session) {
                    removeMember(g, m.memberId(), topics, e);
                }
            }
            if (g.memberCount() > 0 && !subscriptionMetadata(g, topics).equals(g.subscriptionMetadata())) {
                computeTargetAssignment(g, topics, e);
            }
            if (g.memberCount() == 0 && nowMs - lastActivityMs(g) > config.offsetsRetentionMs()) {
                deleteGroupRecords(g, e);
            }
        }
        return new Result<>(e.out, null);
    }

    private static long lastActivityMs(ConsumerGroup g) {
        long last = g.emptySinceMs();
        for (OffsetAndMetadata o : g.offsets().values()) {
            last = Math.max(last, o.commitTimestampMs());
        }
        return last;
    }

    private static void deleteGroupRecords(ConsumerGroup g, Emitter e) {
        for (PartitionKey p : new ArrayList<>(g.offsets().keySet())) {
            e.emit(new GroupRecord.Tombstone(new GroupRecord.OffsetKey(g.groupId(), p)));
        }
        e.emit(new GroupRecord.Tombstone(new GroupRecord.GroupKey(g.groupId())));
    }

    // ------------------------------------------------------------------ offsets

    /** One partition of an offset commit. */
    public record CommitEntry(PartitionKey partition, long offset, int leaderEpoch, String metadata) {
        public CommitEntry {
            Objects.requireNonNull(partition, "partition");
            metadata = metadata == null ? "" : metadata;
        }
    }

    /** The commit's outcome: a group-level error, or one per partition. */
    public record CommitResponse(GroupError error, String errorMessage, SortedMap<PartitionKey, GroupError> partitions) {
    }

    /**
     * Commits offsets. A member commits with its id and current epoch (another epoch:
     * STALE_MEMBER_EPOCH); an empty member id with epoch -1 commits for a group without members
     * (a consumer using {@code assign}, or an offset reset), creating the group if needed.
     */
    public Result<CommitResponse> commitOffsets(String groupId, String memberId, int memberEpoch, List<CommitEntry> entries,
                                                long nowMs) {
        if (groupId.isEmpty() || groupId.length() > ID_LENGTH_MAX || memberId.length() > ID_LENGTH_MAX
                || entries.size() > PARTITIONS_PER_REQUEST_MAX) {
            return commitError(GroupError.INVALID_REQUEST, "group id, member id or partition count out of range");
        }
        ConsumerGroup g = groups.get(groupId);
        boolean standalone = memberId.isEmpty() && memberEpoch < 0;
        if (g == null && !standalone) {
            return commitError(GroupError.GROUP_ID_NOT_FOUND, "group " + groupId + " does not exist");
        }
        if (g != null) {
            GroupError fenced = checkMemberEpoch(g, memberId, memberEpoch, standalone);
            if (fenced != GroupError.NONE) {
                return commitError(fenced, fenced == GroupError.STALE_MEMBER_EPOCH
                        ? "member epoch " + memberEpoch + " is not the member's current epoch" : "not a member of group " + groupId);
            }
        }
        Emitter e = new Emitter(nowMs);
        if (g == null) {
            e.emit(new GroupRecord.GroupMetadata(groupId, 0, 0, config.defaultAssignor(), Collections.emptySortedMap()));
        }
        SortedMap<PartitionKey, GroupError> out = new TreeMap<>();
        for (CommitEntry c : entries) {
            if (c.offset() < 0) {
                out.put(c.partition(), GroupError.INVALID_REQUEST);
            } else if (c.metadata().length() > config.offsetMetadataBytesMax()) {
                out.put(c.partition(), GroupError.OFFSET_METADATA_TOO_LARGE);
            } else {
                e.emit(new GroupRecord.OffsetCommit(groupId, c.partition(), c.offset(), c.leaderEpoch(), c.metadata(), nowMs));
                out.put(c.partition(), GroupError.NONE);
            }
        }
        return new Result<>(e.out, new CommitResponse(GroupError.NONE, "", out));
    }

    private static Result<CommitResponse> commitError(GroupError code, String message) {
        return new Result<>(List.of(), new CommitResponse(code, message, Collections.emptySortedMap()));
    }

    private static GroupError checkMemberEpoch(ConsumerGroup g, String memberId, int memberEpoch, boolean standalone) {
        if (standalone) {
            return g.memberCount() == 0 ? GroupError.NONE : GroupError.NON_EMPTY_GROUP;
        }
        ConsumerGroupMember m = g.member(memberId);
        if (m == null) {
            return GroupError.UNKNOWN_MEMBER_ID;
        }
        return m.memberEpoch() == memberEpoch ? GroupError.NONE : GroupError.STALE_MEMBER_EPOCH;
    }

    /** Committed offsets of the group: a member asking must send its current epoch. */
    public record FetchResponse(GroupError error, SortedMap<PartitionKey, OffsetAndMetadata> offsets) {
    }

    /**
     * @param memberId   the asking member, or "" for an admin read
     * @param partitions the partitions wanted, or null for all (partitions without a commit are absent)
     */
    public FetchResponse fetchOffsets(String groupId, String memberId, int memberEpoch, Set<PartitionKey> partitions) {
        ConsumerGroup g = groups.get(groupId);
        if (g == null) {
            return new FetchResponse(memberId.isEmpty() ? GroupError.NONE : GroupError.GROUP_ID_NOT_FOUND, Collections.emptySortedMap());
        }
        if (!memberId.isEmpty()) {
            GroupError fenced = checkMemberEpoch(g, memberId, memberEpoch, false);
            if (fenced != GroupError.NONE) {
                return new FetchResponse(fenced, Collections.emptySortedMap());
            }
        }
        SortedMap<PartitionKey, OffsetAndMetadata> out = new TreeMap<>();
        g.offsets().forEach((p, o) -> {
            if (partitions == null || partitions.contains(p)) {
                out.put(p, o);
            }
        });
        return new FetchResponse(GroupError.NONE, out);
    }

    /** Deletes an empty group with its offsets. */
    public Result<GroupError> deleteGroup(String groupId, long nowMs) {
        ConsumerGroup g = groups.get(groupId);
        if (g == null) {
            return new Result<>(List.of(), GroupError.GROUP_ID_NOT_FOUND);
        }
        if (g.memberCount() > 0) {
            return new Result<>(List.of(), GroupError.NON_EMPTY_GROUP);
        }
        Emitter e = new Emitter(nowMs);
        deleteGroupRecords(g, e);
        return new Result<>(e.out, GroupError.NONE);
    }

    /** Removes every group's offsets of deleted topics. */
    public Result<Void> removeTopicOffsets(Set<String> deletedTopics, long nowMs) {
        Emitter e = new Emitter(nowMs);
        for (ConsumerGroup g : new ArrayList<>(groups.values())) {
            for (PartitionKey p : new ArrayList<>(g.offsets().keySet())) {
                if (deletedTopics.contains(p.topic())) {
                    e.emit(new GroupRecord.Tombstone(new GroupRecord.OffsetKey(g.groupId(), p)));
                }
            }
        }
        return new Result<>(e.out, null);
    }
}

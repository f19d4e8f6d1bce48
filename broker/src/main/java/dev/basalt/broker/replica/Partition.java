package dev.basalt.broker.replica;

import dev.basalt.broker.replica.state.IsrChange;
import dev.basalt.broker.replica.state.LeaderState;
import dev.basalt.log.AppendInfo;
import dev.basalt.log.EpochEndOffset;
import dev.basalt.log.FetchSlice;
import dev.basalt.log.LogConfig;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TopicPartition;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.proto.v1.ErrorCode;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * One partition replica on this broker: its log and its role in the current leader epoch.
 *
 * <p>Roles: <b>leader</b> (this broker is the registration's leader; holds a {@link LeaderState}
 * with the replication rules: HW, ISR changes), <b>follower</b> of another broker (its fetcher
 * copies the leader's log), or <b>offline</b> (no leader). Every leader epoch starts the role
 * afresh: a leader builds a new {@link LeaderState} and records the epoch's start offset in the
 * log's epoch cache (KIP-101); a follower must truncate by offset-for-leader-epoch before fetching.
 *
 * <p>Thread-safety: thread-safe. Every state change and every check-then-act runs under
 * {@code this}'s lock: the leader-epoch check and the append are one atomic step, so an epoch
 * change cannot slip between them. The lock is held for a log write syscall, never for an fsync
 * or a network call. {@link #leaderEpoch()} and {@link #isLeader()} read volatile snapshots for
 * cheap checks that are re-done under the lock when it matters.
 */
public final class Partition {
    private final TopicPartition tp;
    private final String topicId;
    private final int localBrokerId;
    private final PartitionLog log;
    private State state; // guarded by this
    private LeaderState leader; // guarded by this; non-null iff this broker leads in state.leaderEpoch
    private long isrRetryNotBeforeMs; // guarded by this
    /** When {@link #isrRetryNotBeforeMs} was set: a clock now before it stepped back, and the back-off is over. Guarded by this. */
    private long isrRetrySetAtMs;
    /** Which replicas an ISR expansion may add (the broker: those its metadata shows unfenced). */
    private volatile java.util.function.IntPredicate isrEligible = id -> true;
    private volatile boolean isLeaderSnapshot;
    private volatile int leaderEpochSnapshot;

    /** Replication state from the metadata image plus the topic's replication configs; immutable. */
    public record State(int leaderId, int leaderEpoch, int partitionEpoch, List<Integer> replicas, List<Integer> isr,
                        int minInsyncReplicas, boolean durableAcks, List<Integer> elr) {
        public State {
            replicas = List.copyOf(replicas);
            isr = List.copyOf(isr);
            elr = List.copyOf(elr);
        }

        /** A state without eligible leader replicas. */
        public State(int leaderId, int leaderEpoch, int partitionEpoch, List<Integer> replicas, List<Integer> isr,
                     int minInsyncReplicas, boolean durableAcks) {
            this(leaderId, leaderEpoch, partitionEpoch, replicas, isr, minInsyncReplicas, durableAcks, List.of());
        }

        public static State of(PartitionRegistration reg, int minInsyncReplicas, boolean durableAcks) {
            return new State(reg.leader(), reg.leaderEpoch(), reg.partitionEpoch(), reg.replicas(), reg.isr(), minInsyncReplicas,
                    durableAcks, reg.elr());
        }
    }

    /** What {@link #update} did, so the replica manager can start or stop fetching. */
    public enum Transition {
        /** Nothing about the role changed (maybe the ISR or a config). */
        NONE,
        /** Became leader, or leads in a new epoch. */
        BECAME_LEADER,
        /** Follows a (new) leader or a new leader epoch: truncate before fetching. */
        BECAME_FOLLOWER,
        /** No leader now. */
        BECAME_OFFLINE
    }

    /**
     * Outcome of a leader append.
     *
     * @param error       NONE, NOT_LEADER or NOT_ENOUGH_REPLICAS (nothing appended on error)
     * @param info        offsets appended, null on error
     * @param leaderEpoch the epoch the batch was appended in (acks=all waiters check it is still current)
     * @param hwMoved     whether the append moved the HW (single-member ISR in memory mode)
     */
    public record AppendOutcome(ErrorCode error, String message, AppendInfo info, int leaderEpoch, boolean hwMoved) {
        static AppendOutcome failed(ErrorCode error, String message) {
            return new AppendOutcome(error, message, null, -1, false);
        }
    }

    /**
     * A leader's answer to one partition of a follower's fetch.
     *
     * @param slice       records from the fetch offset (the caller closes it), null on error
     * @param hwMoved     whether recording the follower's progress moved the HW
     * @param isrChange   an ISR change this fetch made due (e.g. the follower caught up), to send
     */
    public record FollowerRead(ErrorCode error, String message, FetchSlice slice, long highWatermark, long logStartOffset,
                               long logEndOffset, boolean hwMoved, Optional<IsrChange> isrChange, long allReplicasOffset,
                               long tombstonesRemovedEnd, boolean followerStartMoved) {
        static FollowerRead failed(ErrorCode error, String message, long hw, long logStart, long logEnd) {
            return new FollowerRead(error, message, null, hw, logStart, logEnd, false, Optional.empty(), 0, 0, false);
        }
    }

    /** Each follower's log start offset as its last fetch in this leadership reported it (guarded by this). */
    private final java.util.Map<Integer, Long> followerLogStarts = new java.util.HashMap<>();

    private volatile dev.basalt.broker.metrics.TopicMeters meters;
    private volatile long leaderLogEndSeen = -1;
    /** How many of the replicas a reassignment is adding (metrics: they are not counted as under-replicated). */
    private volatile int addingReplicas;
    /** Until when consumers may be waiting on this replica while it follows (KIP-392); ms on the replica manager's clock. */
    private volatile long followerReadsUntilMs = Long.MIN_VALUE;

    public Partition(TopicPartition tp, String topicId, int localBrokerId, PartitionLog log) {
        this.tp = tp;
        this.topicId = topicId;
        this.localBrokerId = localBrokerId;
        this.log = log;
        this.state = new State(PartitionRegistration.NO_LEADER, -1, -1, List.of(localBrokerId), List.of(), 1, true);
        this.leaderEpochSnapshot = -1;
        // No tombstone is removed until a leader (this broker, or the one it follows) knows that
        // every replica holds it. (Tests of counters alone pass no log.)
        if (log != null) {
            log.tombstoneBoundOffset(0);
        }
    }

    public TopicPartition topicPartition() {
        return tp;
    }

    /**
     * This partition's counters (bytes and records in/out), looked up once per partition by
     * {@link dev.basalt.broker.metrics.BrokerMetrics#meters} and cached here so the produce and
     * fetch paths never look a label child up per request.
     */
    public dev.basalt.broker.metrics.TopicMeters meters() {
        return meters;
    }

    public void meters(dev.basalt.broker.metrics.TopicMeters m) {
        meters = m;
    }

    /** How many of the replicas a reassignment is adding, from the metadata (metrics only). */
    public void addingReplicas(int count) {
        addingReplicas = count;
    }

    /** As a follower: the leader's log end offset in its latest fetch answer (metrics only). */
    public void leaderLogEndSeen(long offset) {
        leaderLogEndSeen = offset;
    }

    /**
     * As a follower: records this replica is behind the leader's log end as last seen, or -1 when
     * it leads or has not fetched yet (metrics only).
     */
    public long followerFetchLagRecords() {
        long seen = leaderLogEndSeen;
        return isLeaderSnapshot || seen < 0 ? -1 : Math.max(0, seen - log.logEndOffset());
    }

    /**
     * What a scrape reads of a leader: the replication factor (its replicas but those a
     * reassignment is adding), the ISR's size, min ISR, the slowest follower's lag.
     */
    public record LeaderView(int replicationFactor, int isr, boolean hasMinIsr, long followerLagRecordsMax) {
    }

    /** The leader's replication state for metrics, or null when this replica does not lead. */
    public synchronized LeaderView leaderView() {
        if (leader == null) {
            return null;
        }
        long leo = leader.leaderLogEndOffset();
        long lagMax = 0;
        for (int id : leader.replicas()) {
            if (id == localBrokerId) {
                continue;
            }
            long followerEnd = leader.follower(id).map(f -> f.logEndOffset()).orElse(LeaderState.UNKNOWN_OFFSET);
            if (followerEnd < 0) {
                // not heard from in this epoch yet (a leader just elected): an ISR member held at
                // least the high watermark, so that is its lag; of any other nothing is known
                followerEnd = leader.isr().contains(id) ? leader.highWatermark() : 0;
            }
            lagMax = Math.max(lagMax, Math.max(0, leo - followerEnd));
        }
        return new LeaderView(leader.replicas().size() - addingReplicas, leader.isr().size(), leader.hasMinIsr(), lagMax);
    }

    public String topicId() {
        return topicId;
    }

    public PartitionLog log() {
        return log;
    }

    public synchronized State state() {
        return state;
    }

    public boolean isLeader() {
        return isLeaderSnapshot;
    }

    public int leaderEpoch() {
        return leaderEpochSnapshot;
    }

    /**
     * Applies the registration and configs the metadata image holds now.
     *
     * @param nowMs the time ISR followers count as caught up from, when a leadership starts
     */
    public synchronized Transition update(State next, LogConfig config, long nowMs) {
        State prev = state;
        if (next.leaderEpoch() < prev.leaderEpoch()) {
            throw new IllegalStateException("leader epoch of " + tp + " went back from " + prev.leaderEpoch() + " to "
                    + next.leaderEpoch());
        }
        if (!config.equals(log.config())) {
            log.updateConfig(config);
        }
        if (next.durableAcks() && !prev.durableAcks()) {
            // Records acknowledged while the topic was not durable may sit unsynced for as long as
            // no append triggers a flush; a crash would lose them while this broker registers as
            // having lost nothing of a durable topic (and so stays an eligible leader replica).
            try {
                log.flush();
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(Partition.class).warn("{}: flush on switching to durable acks failed", tp, e);
            }
        }
        state = next;
        boolean newEpoch = next.leaderEpoch() != prev.leaderEpoch() || next.leaderId() != prev.leaderId();
        Transition t;
        if (next.leaderId() == localBrokerId) {
            if (newEpoch || leader == null || !leader.replicas().equals(next.replicas())) {
                try {
                    becomeLeader(next, nowMs);
                } catch (RuntimeException e) {
                    // The new epoch could not be persisted (a full disk): stay as before, so that
                    // applying the same registration again (the replica manager retries) redoes
                    // the whole transition rather than finding it "already applied".
                    state = prev;
                    throw e;
                }
                t = newEpoch || !isLeaderSnapshot ? Transition.BECAME_LEADER : Transition.NONE;
            } else {
                if (leader.applyCommittedIsr(next.partitionEpoch(), next.isr())) {
                    log.updateHighWatermark(leader.highWatermark());
                }
                if (leader.updateConfig(next.minInsyncReplicas(), next.durableAcks())) {
                    log.updateHighWatermark(leader.highWatermark());
                }
                t = Transition.NONE;
            }
            isLeaderSnapshot = true;
        } else {
            if (leader != null || newEpoch) {
                log.tombstoneBoundOffset(0); // until the new leader says where every replica is
            }
            leader = null;
            isLeaderSnapshot = false;
            if (!newEpoch && prev.leaderId() == next.leaderId()) {
                t = Transition.NONE;
            } else {
                t = next.leaderId() == PartitionRegistration.NO_LEADER ? Transition.BECAME_OFFLINE : Transition.BECAME_FOLLOWER;
            }
        }
        leaderEpochSnapshot = next.leaderEpoch();
        return t;
    }

    private void becomeLeader(State next, long nowMs) {
        long leo = log.logEndOffset();
        // Offsets from here on belong to the new epoch (KIP-101); the log refuses an older epoch.
        if (log.latestEpoch() < next.leaderEpoch()) {
            log.assignEpoch(next.leaderEpoch(), leo);
        }
        long hw = Math.min(log.highWatermark(), leo);
        long flushed = Math.min(log.recoveryPoint(), leo);
        followerLogStarts.clear(); // reports of an earlier leadership say nothing of where the replicas start now
        leader = new LeaderState(localBrokerId, next.leaderEpoch(), leo, next.partitionEpoch(), next.replicas(), next.isr(),
                next.minInsyncReplicas(), next.durableAcks(), hw, flushed, nowMs);
        isrRetryNotBeforeMs = 0;
        if (leader.updateLeaderLog(leo, flushed)) {
            log.updateHighWatermark(leader.highWatermark());
        }
        log.tombstoneBoundOffset(leader.allReplicasOffset());
    }

    /**
     * Appends producer batches as leader. The leadership and, for acks=all, the ISR size against
     * min.insync.replicas are checked under the same lock as the append, in the epoch the batches
     * are stamped with.
     */
    public synchronized AppendOutcome appendAsLeader(ByteBuffer payload, int acks) {
        if (leader == null) {
            return AppendOutcome.failed(ErrorCode.NOT_LEADER, "broker " + localBrokerId + " is not the leader of " + tp);
        }
        if (acks == -1 && !leader.hasMinIsr()) {
            // A leader whose own log refuses appends says why first: with every replica's disk
            // full the ISR is down to the leader, and "disk full" is the cause, not replication
            // (found probing: producers were told NOT_ENOUGH_REPLICAS).
            log.checkAppendable();
            String why = "ISR " + leader.isr() + " is smaller than min.insync.replicas=" + leader.minInsyncReplicas();
            if (leader.replicas().size() < leader.minInsyncReplicas()) {
                // no ISR can ever be large enough: say so, or the producer retries a hopeless write
                why += ", which is more than the partition's " + leader.replicas().size() + " replicas: acks=all cannot succeed"
                        + " until min.insync.replicas is lowered or replicas are added";
            }
            return AppendOutcome.failed(ErrorCode.NOT_ENOUGH_REPLICAS, why);
        }
        AppendInfo info = log.appendAsLeader(payload, leader.leaderEpoch());
        boolean moved = leader.updateLeaderLog(log.logEndOffset(), Math.min(log.recoveryPoint(), log.logEndOffset()));
        if (moved) {
            log.updateHighWatermark(leader.highWatermark());
        }
        if (leader.replicas().size() == 1) {
            // with followers the bound moves only when they fetch (readForFollower), not here
            log.tombstoneBoundOffset(leader.allReplicasOffset());
        }
        return new AppendOutcome(ErrorCode.NONE, "", info, leader.leaderEpoch(), moved);
    }

    /** Whether a durable-acks leader has appended data not yet fsynced (the flusher's cue). */
    public boolean needsFlush() {
        return log.recoveryPoint() < log.logEndOffset();
    }

    /**
     * After an fsync of the log (the flusher, off the request threads): the leader's flushed
     * offset moved, which with durable acks may move the HW. Followers' fsyncs are reported in
     * their next fetch instead.
     *
     * @return whether the HW moved
     */
    public synchronized boolean onFlushed() {
        if (leader == null) {
            return false;
        }
        boolean moved = leader.updateLeaderLog(log.logEndOffset(), Math.min(log.recoveryPoint(), log.logEndOffset()));
        if (moved) {
            log.updateHighWatermark(leader.highWatermark());
        }
        return moved;
    }

    /**
     * Checks a client's current_leader_epoch (Fetch, Produce, ListOffsets) against this replica's
     * epoch: FENCED_LEADER_EPOCH if the client's is older, UNKNOWN_LEADER_EPOCH if newer, NONE if
     * equal or not given ({@code < 0}).
     */
    public ErrorCode checkClientLeaderEpoch(int currentLeaderEpoch) {
        int mine = leaderEpochSnapshot;
        if (currentLeaderEpoch < 0 || currentLeaderEpoch == mine) {
            return ErrorCode.NONE;
        }
        return currentLeaderEpoch < mine ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
    }

    /**
     * Serves one partition of a follower's ReplicaFetch: checks role, epoch, replica membership
     * and the offset, records the follower's progress (which may move the HW and make an ISR change
     * due), then reads from {@code fetchOffset} up to the log end (not the HW: followers copy all).
     */
    public FollowerRead readForFollower(int replicaId, long fetchOffset, long flushedOffset, int currentLeaderEpoch, int maxBytes,
                                        long nowMs) {
        return readForFollower(replicaId, fetchOffset, flushedOffset, 0, currentLeaderEpoch, maxBytes, nowMs);
    }

    /**
     * As above, with the follower's own log start offset, which a DeleteRecords waits on
     * ({@link #lowWatermark}); {@link FollowerRead#followerStartMoved} says it rose.
     */
    public FollowerRead readForFollower(int replicaId, long fetchOffset, long flushedOffset, long followerLogStart,
                                        int currentLeaderEpoch, int maxBytes, long nowMs) {
        boolean moved;
        boolean startMoved;
        Optional<IsrChange> change;
        long allReplicas;
        synchronized (this) {
            long hw = log.highWatermark();
            if (leader == null) {
                return FollowerRead.failed(ErrorCode.NOT_LEADER, "broker " + localBrokerId + " does not lead " + tp, -1, -1, -1);
            }
            if (currentLeaderEpoch < leader.leaderEpoch()) {
                return FollowerRead.failed(ErrorCode.FENCED_LEADER_EPOCH, "fetch in leader epoch " + currentLeaderEpoch
                        + " but " + tp + " is in epoch " + leader.leaderEpoch(), -1, -1, -1);
            }
            if (currentLeaderEpoch > leader.leaderEpoch()) {
                return FollowerRead.failed(ErrorCode.UNKNOWN_LEADER_EPOCH, "fetch in leader epoch " + currentLeaderEpoch
                        + " but this leader of " + tp + " knows epoch " + leader.leaderEpoch() + " only", -1, -1, -1);
            }
            if (replicaId == localBrokerId || !leader.replicas().contains(replicaId)) {
                return FollowerRead.failed(ErrorCode.NOT_REPLICA, "broker " + replicaId + " is not a follower of " + tp
                        + " (replicas " + leader.replicas() + ")", -1, -1, -1);
            }
            long leo = log.logEndOffset();
            long start = log.logStartOffset();
            if (fetchOffset < start || fetchOffset > leo) {
                return FollowerRead.failed(ErrorCode.OFFSET_OUT_OF_RANGE, "fetch offset " + fetchOffset + " of " + tp
                        + " is outside [" + start + ", " + leo + "]", hw, start, leo);
            }
            moved = leader.recordFollowerFetch(replicaId, fetchOffset, Math.min(flushedOffset, fetchOffset), nowMs);
            // Stored only when it changed (it moves only with retention or a deletion): no boxed
            // value per fetch on the replication path.
            Long startBefore = followerLogStarts.get(replicaId);
            startMoved = startBefore == null || startBefore < followerLogStart;
            if (startBefore == null || startBefore != followerLogStart) {
                followerLogStarts.put(replicaId, followerLogStart);
            }
            if (moved) {
                log.updateHighWatermark(leader.highWatermark());
            }
            allReplicas = leader.allReplicasOffset();
            log.tombstoneBoundOffset(allReplicas);
            // The fetching replica's own expansion only (no lag judged here); joiners of a failed
            // expansion are left to the periodic check, which alone judges whether to retry them
            // or fence them off.
            change = !isrRetryBackingOff(nowMs) ? leader.maybeProposeJoin(replicaId, isrEligible) : Optional.empty();
        }
        FetchSlice slice = log.read(fetchOffset, Math.max(1, maxBytes), Long.MAX_VALUE);
        if (!slice.isEmpty() && refetched(replicaId, fetchOffset)) {
            verifyRefetched(slice, fetchOffset);
        }
        // Read after the records: a compacted segment swapped in since is counted, so a follower
        // never gets a copy lacking a tombstone together with a value that predates the removal.
        // At most this log's end (a follower caught up with it lacks nothing; this log may hold a
        // value past its end, copied from an earlier leader), and for compacted topics only (a log
        // that lost its stored state takes its whole length, which must not send the lagging
        // followers of a topic that never compacts into a full refetch).
        long removedEnd = log.config().cleanupCompact() ? Math.min(log.tombstonesRemovedEnd(), slice.logEndOffset()) : 0;
        return new FollowerRead(ErrorCode.NONE, "", slice, log.highWatermark(), slice.logStartOffset(), slice.logEndOffset(),
                moved, change, allReplicas, removedEnd, startMoved);
    }

    /** Where a DeleteRecords stands on this leader (see {@link #deleteRecordsAsLeader}). */
    public record RecordDeletion(ErrorCode error, String message, long targetOffset) {
    }

    /**
     * DeleteRecords on the leader: checks the leadership and the offset ({@code -1}: the high
     * watermark; above the high watermark: OFFSET_OUT_OF_RANGE, only committed records can be
     * deleted), then moves this log's start up to it. The replicas follow with their next fetch;
     * {@link #lowWatermark} tells when they have.
     *
     * @return the offset every replica's log must start at for the deletion to be complete
     */
    public RecordDeletion deleteRecordsAsLeader(long offset) {
        long target;
        synchronized (this) {
            if (leader == null) {
                return new RecordDeletion(ErrorCode.NOT_LEADER, "broker " + localBrokerId + " does not lead " + tp, -1);
            }
            long hw = log.highWatermark();
            target = offset == -1 ? hw : offset;
            if (target > hw) {
                return new RecordDeletion(ErrorCode.OFFSET_OUT_OF_RANGE, "offset " + offset + " of " + tp
                        + " is above its high watermark " + hw + ": only committed records can be deleted", -1);
            }
        }
        // Outside this lock (the log's own lock orders it with appends and retention; it may sync
        // the directory). The high watermark never moves back, so target stays at or below it.
        if (target > log.logStartOffset()) {
            int deleted = log.advanceLogStartOffset(target);
            org.slf4j.LoggerFactory.getLogger(Partition.class).info("DeleteRecords: {} now starts at offset {} ({} whole segment(s)"
                    + " removed)", tp, log.logStartOffset(), deleted);
        }
        return new RecordDeletion(ErrorCode.NONE, "", target);
    }

    /**
     * The smallest log start offset among this leader and the replicas a clean election could hand
     * leadership to next (the ISR, committed or proposed, and the eligible leader replicas, KIP-966)
     * as their fetches in this leadership reported it (0 for one not heard from yet); -1 when this
     * broker does not lead. (An unclean election may pick any replica: it loses records by design,
     * and may then bring deleted ones back as well.)
     */
    public synchronized long lowWatermark() {
        if (leader == null) {
            return -1;
        }
        // Every replica the controller may elect next: the committed ISR and ELR as this broker's
        // metadata has them, and the ISR as the leader sees it, with an expansion it proposed (the
        // controller may have committed it already) and joiners whose expansion's fate is unknown.
        // (A replica in several of the lists counts once per list: the minimum is the same. Checked
        // on every HW move while a deletion waits, so no set is built.)
        long low = lowestReportedStart(log.logStartOffset(), state.isr());
        low = lowestReportedStart(low, state.elr());
        low = lowestReportedStart(low, leader.isr());
        low = lowestReportedStart(low, leader.unresolvedJoiners());
        Optional<IsrChange> pending = leader.pendingIsrChange();
        return pending.isPresent() ? lowestReportedStart(low, pending.get().newIsr()) : low;
    }

    /** The smaller of {@code low} and the log starts {@code replicas} other than this broker reported (0 if none yet). */
    private long lowestReportedStart(long low, List<Integer> replicas) {
        for (int id : replicas) {
            if (id != localBrokerId) {
                low = Math.min(low, followerLogStarts.getOrDefault(id, 0L));
            }
        }
        return low;
    }

    /** Per follower, the offset its last fetch that got records started at. */
    private final java.util.Map<Integer, Long> lastServedFrom = new java.util.concurrent.ConcurrentHashMap<>();

    /** Whether the follower asks again from where its last fetch that got records started (it did not append them). */
    private boolean refetched(int replicaId, long fetchOffset) {
        Long before = lastServedFrom.put(replicaId, fetchOffset);
        return before != null && before == fetchOffset;
    }

    /**
     * A follower that asks again for records it was sent did not append them; one reason is a
     * batch that fails its CRC (bytes rotted after this leader wrote them, which it does not check
     * when serving). Found probing: the follower then asked again every second, and the partition
     * stayed under-replicated until this broker's scrubber reached the batch (hours on a large
     * disk). So the batches sent again are checked, and a bad one goes to the corruption handler
     * as a read's finding would (which moves leadership and rebuilds this copy). A follower that
     * refetches for another reason (its log diverged) costs a CRC pass over one answer.
     */
    private void verifyRefetched(FetchSlice slice, long fetchOffset) {
        verify(slice, fetchOffset, "a follower could not append it");
    }

    /**
     * Checks the CRC of every batch in {@code slice}; the first bad one goes to the corruption
     * handler and is returned (null when all are good).
     */
    private dev.basalt.log.CorruptLogException verify(FetchSlice slice, long fetchOffset, String who) {
        long at = fetchOffset;
        try {
            for (dev.basalt.record.RecordBatch b : dev.basalt.record.Batches.iterate(slice.records().duplicate())) {
                at = b.baseOffset();
                b.validateChecksum();
            }
            return null;
        } catch (RuntimeException e) {
            return log.reportCorruptBatch(at, who + ": " + e.getMessage());
        }
    }

    /**
     * The ISR change due now, if any and none is pending (shrinks of followers lagging more than
     * {@code lagTimeMaxMs}, or expansions). Not before the retry back-off of a failed change.
     */
    public synchronized Optional<IsrChange> maybeProposeIsrChange(long nowMs, long lagTimeMaxMs) {
        if (leader == null || isrRetryBackingOff(nowMs)) {
            return Optional.empty();
        }
        return leader.maybeProposeIsrChange(nowMs, lagTimeMaxMs, isrEligible);
    }

    /** Sets which replicas an ISR expansion may add (default: any). */
    public void isrEligibility(java.util.function.IntPredicate eligible) {
        this.isrEligible = java.util.Objects.requireNonNull(eligible, "eligible");
    }

    /**
     * The controller answered an ISR change: the committed registration, or {@code null} when it
     * failed (the change may be retried after {@code retryBackoffMs}). Ignored if this broker left
     * the epoch the change was made in.
     *
     * @return whether the HW moved
     */
    /** Whether a refused ISR change's retry back-off still runs (over early if the clock stepped back since). Caller holds this. */
    private boolean isrRetryBackingOff(long nowMs) {
        return nowMs < isrRetryNotBeforeMs && nowMs >= isrRetrySetAtMs;
    }

    public synchronized boolean onIsrChangeResult(IsrChange change, PartitionRegistration committed, long nowMs,
                                                  long retryBackoffMs) {
        if (leader == null || leader.leaderEpoch() != change.leaderEpoch()) {
            return false;
        }
        if (committed == null || committed.leaderEpoch() != leader.leaderEpoch() || committed.leader() != localBrokerId) {
            leader.failPendingIsrChange(change);
            isrRetrySetAtMs = nowMs;
            isrRetryNotBeforeMs = nowMs + retryBackoffMs;
            return false;
        }
        boolean moved = leader.applyCommittedIsr(committed.partitionEpoch(), committed.isr());
        if (moved) {
            log.updateHighWatermark(leader.highWatermark());
        }
        return moved;
    }

    /** OffsetForLeaderEpoch as leader, with the same fencing as a follower fetch. */
    public synchronized OffsetForEpoch endOffsetForFollower(int replicaId, int currentLeaderEpoch, int requestedEpoch) {
        if (leader == null) {
            return new OffsetForEpoch(ErrorCode.NOT_LEADER, "broker " + localBrokerId + " does not lead " + tp, EpochEndOffset.UNDEFINED);
        }
        if (currentLeaderEpoch != leader.leaderEpoch()) {
            ErrorCode code = currentLeaderEpoch < leader.leaderEpoch() ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH;
            return new OffsetForEpoch(code, "epoch " + currentLeaderEpoch + " vs leader's " + leader.leaderEpoch(), EpochEndOffset.UNDEFINED);
        }
        if (replicaId == localBrokerId || !leader.replicas().contains(replicaId)) {
            return new OffsetForEpoch(ErrorCode.NOT_REPLICA, "broker " + replicaId + " is not a follower of " + tp, EpochEndOffset.UNDEFINED);
        }
        return new OffsetForEpoch(ErrorCode.NONE, "", log.endOffsetFor(requestedEpoch));
    }

    /** An OffsetForLeaderEpoch answer for one partition. */
    public record OffsetForEpoch(ErrorCode error, String message, EpochEndOffset endOffset) {
    }

    // ---------------------------------------------------------------------------- follower side

    /** Whether this replica follows {@code leaderId} in {@code leaderEpoch} right now. */
    public synchronized boolean isFollowing(int leaderId, int leaderEpoch) {
        return leader == null && state.leaderId() == leaderId && state.leaderEpoch() == leaderEpoch;
    }

    /**
     * Truncates as a follower of {@code leaderEpoch} (KIP-101). Refused (false) if the role moved on
     * since the fetcher decided, so a stale decision never cuts a newer epoch's log.
     */
    public synchronized boolean truncateAsFollower(long offset, int leaderEpoch) {
        if (leader != null || state.leaderEpoch() != leaderEpoch) {
            return false;
        }
        log.truncateTo(Math.max(offset, log.logStartOffset()));
        return true;
    }

    /** Drops the whole log and restarts it at {@code offset} (the leader's log start moved past ours). */
    public synchronized boolean restartAsFollowerAt(long offset, int leaderEpoch) {
        if (leader != null || state.leaderEpoch() != leaderEpoch) {
            return false;
        }
        log.truncateFullyAndStartAt(offset);
        return true;
    }

    /**
     * Appends batches fetched from the leader of {@code leaderEpoch}, and takes the leader's HW
     * (bounded by our log end), where it says every replica holds the log (this replica's
     * compaction removes tombstones only below it), and below which its log had tombstones
     * removed (stored first: this log now copies one that lacks them). Returns null, appending
     * nothing, if the role moved on meanwhile.
     */
    public synchronized AppendInfo appendAsFollower(ByteBuffer records, int leaderEpoch, long leaderHighWatermark,
                                                   long allReplicasOffset, long leaderTombstonesRemovedEnd) {
        return appendAsFollower(records, leaderEpoch, leaderHighWatermark, allReplicasOffset, leaderTombstonesRemovedEnd, -1);
    }

    /**
     * As above, and takes the leader's log start (up to our HW; -1: unknown): a follower deletes
     * what its leader's retention deleted, so that, elected, it does not serve records below the
     * log start its leader had (found probing: "earliest" went back from 581 to 0 for up to a
     * retention check interval).
     */
    public synchronized AppendInfo appendAsFollower(ByteBuffer records, int leaderEpoch, long leaderHighWatermark,
                                                   long allReplicasOffset, long leaderTombstonesRemovedEnd,
                                                   long leaderLogStartOffset) {
        if (leader != null || state.leaderEpoch() != leaderEpoch) {
            return null;
        }
        log.inheritTombstonesRemovedEnd(leaderTombstonesRemovedEnd);
        AppendInfo info = records.hasRemaining() ? log.appendAsFollower(records) : null;
        updateFollowerHighWatermark(leaderHighWatermark);
        log.tombstoneBoundOffset(allReplicasOffset);
        if (leaderLogStartOffset > log.logStartOffset()) {
            log.advanceLogStartOffset(leaderLogStartOffset);
        }
        return info;
    }

    /**
     * Our log is empty and starts inside the leader's first batch, which begins at {@code batchBase}
     * (a DeleteRecords moved the leader's start into the middle of a batch, and this replica was
     * behind it): a log cannot start mid-batch on a copy, so it starts over at the batch's base,
     * appends the leader's batches whole, and takes the leader's log start again (records below it
     * stay unreadable, as on the leader; for a moment between the HW update and the start's advance
     * inside this call they are not, which only a read of this out-of-ISR replica could see). Returns
     * null, changing nothing, if the role moved on, our log is not empty, or the batch does not
     * begin below our start.
     */
    public synchronized AppendInfo restartInsideBatchAsFollower(long batchBase, ByteBuffer records, int leaderEpoch,
                                                               long leaderHighWatermark, long allReplicasOffset,
                                                               long leaderTombstonesRemovedEnd, long leaderLogStartOffset) {
        if (leader != null || state.leaderEpoch() != leaderEpoch || log.logEndOffset() != log.logStartOffset()
                || batchBase >= log.logStartOffset()) {
            return null;
        }
        // (A leader whose start is at or below the batch's base, e.g. one elected before it followed
        // the deletion, is copied the same way: its log holds the batch whole.)
        log.truncateFullyAndStartAt(batchBase);
        return appendAsFollower(records, leaderEpoch, leaderHighWatermark, allReplicasOffset, leaderTombstonesRemovedEnd,
                leaderLogStartOffset);
    }

    private void updateFollowerHighWatermark(long leaderHighWatermark) {
        long target = Math.min(leaderHighWatermark, log.logEndOffset());
        if (target > log.highWatermark()) {
            log.updateHighWatermark(target);
        }
    }

    /** The HW: what consumers may read and what acks=all waits for. */
    public long highWatermark() {
        return log.highWatermark();
    }

    /**
     * Whether {@code replicaId} may serve consumers instead of this leader (KIP-392): in the ISR
     * and caught up to the HW. False when this broker does not lead.
     */
    public synchronized boolean isCaughtUpReadReplica(int replicaId) {
        return leader != null && leader.isCaughtUpReadReplica(replicaId);
    }

    /** A copy of the leader's replication state for describe/metrics, or empty when not leader. */
    public synchronized Optional<String> describeLeaderState() {
        return leader == null ? Optional.empty() : Optional.of(leader.toString());
    }

    /** Whether this leader's committed ISR has min.insync.replicas members (false when not leader). */
    public synchronized boolean hasMinIsr() {
        return leader != null && leader.hasMinIsr();
    }

    /** The committed ISR as this leader knows it (empty when not leader). */
    public synchronized List<Integer> leaderIsr() {
        return leader == null ? List.of() : leader.isr();
    }

    /**
     * A consumer read this replica while it follows (KIP-392) and may come back, or wait, until
     * {@code untilMs}. Until then {@link #servesFollowerReads} is true and the follower asks its
     * leader to answer at once whenever the high watermark moves, so those consumers see a record as
     * soon as it is committed. Without such consumers a follower learns the high watermark with the
     * next records it copies (or when its parked fetch expires, replica.fetch.wait.max.ms), as a
     * Kafka follower does: at one write in flight that saves the leader and each follower one fetch
     * and one answer per write. Racing callers may keep the smaller deadline; the next read renews it.
     */
    public void noteConsumerReadAsFollower(long untilMs) {
        if (untilMs > followerReadsUntilMs) {
            followerReadsUntilMs = untilMs;
        }
    }

    /** Whether consumers read this replica as a follower recently enough to want every HW move pushed. */
    public boolean servesFollowerReads(long nowMs) {
        return nowMs < followerReadsUntilMs;
    }

    /** Reads for a consumer: only up to the high watermark (leader or follower). The caller closes the slice. */
    public FetchSlice readForConsumer(long offset, int maxBytes) {
        return log.read(offset, maxBytes, log.highWatermark());
    }

    /**
     * As above; with {@code verifyChecksums} (a consumer found a batch it was sent failing its
     * CRC) every batch is checked first, and a bad one is reported as corrupt (leadership moves to
     * a healthy replica, this copy is rebuilt) instead of being sent again.
     *
     * @throws dev.basalt.log.CorruptLogException if a batch fails its check
     */
    public FetchSlice readForConsumer(long offset, int maxBytes, boolean verifyChecksums) {
        return verifyChecksums ? readVerified(offset, maxBytes, "a consumer found it failing its CRC, and so did this broker")
                : readForConsumer(offset, maxBytes);
    }

    /**
     * As {@link #readForConsumer(long, int)}, every batch's checksum checked; a bad one is reported
     * as corrupt, {@code finder} saying who found it (the message of the report and the exception).
     *
     * @throws dev.basalt.log.CorruptLogException if a batch fails its check
     */
    public FetchSlice readVerified(long offset, int maxBytes, String finder) {
        FetchSlice slice = readForConsumer(offset, maxBytes);
        if (!slice.isEmpty()) {
            dev.basalt.log.CorruptLogException bad = verify(slice, offset, finder);
            if (bad != null) {
                slice.close();
                throw bad;
            }
        }
        return slice;
    }

    @Override
    public synchronized String toString() {
        return "Partition(" + tp + ", " + state + (leader == null ? "" : ", " + leader) + ")";
    }
}

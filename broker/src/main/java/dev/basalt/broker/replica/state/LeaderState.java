package dev.basalt.broker.replica.state;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The leader's view of one partition in one leader epoch: each follower's progress, the ISR as the
 * controller committed it (plus at most one pending change), and the high watermark. Pure rules,
 * no I/O and no clock reads: every time is a {@code nowMs} argument.
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li><b>Progress.</b> A member's progress is its log end offset, or with durable acks its
 *       flushed (fsynced) offset; the leader's own progress counts like a follower's.</li>
 *   <li><b>High watermark</b> (KIP-101, KIP-966): HW = min progress over the <i>maximal</i> ISR
 *       (the committed ISR plus members a pending expansion adds, as Kafka since KIP-497, so a
 *       member counts from the moment the leader proposes it). It never moves backwards, never
 *       advances past a follower that has not fetched in this epoch, and advances only while both
 *       the committed ISR and a pending one have at least {@code min.insync.replicas} members.</li>
 *   <li><b>Caught up</b> (Kafka's {@code Replica.updateFetchState}): a fetch whose progress reaches
 *       the leader's log end offset of now marks the follower caught up now; one that reaches the
 *       leader's log end offset of the follower's previous fetch marks it caught up as of that
 *       previous fetch (so a follower keeping pace under steady load is never "lagging").</li>
 *   <li><b>Shrink</b>: an ISR follower not caught up for more than {@code lagTimeMaxMs} is
 *       proposed for removal (the leader is never removed).</li>
 *   <li><b>Expand</b>: a replica outside the ISR whose progress has reached the HW and this
 *       epoch's start offset is proposed for addition (KIP-101: it holds everything this epoch's
 *       leader inherited; with durable acks, holds it flushed).</li>
 *   <li><b>One pending change</b>: no proposal while one is in flight; it ends when the
 *       controller's answer or the metadata shows a newer partition epoch
 *       ({@link #applyCommittedIsr}) or the send failed or was refused ({@link #failPendingIsrChange}).</li>
 *   <li><b>Unresolved joiners</b>: an expansion that failed or was refused may still be applied
 *       later (a request delivered late, a proposal the controller commits after answering with a
 *       timeout): only a partition epoch newer than the one it was sent at rules it out (the
 *       controller compares and sets on it). So its joiners stay in the maximal ISR until the
 *       leader learns a newer partition epoch. A joiner still in sync and eligible is proposed
 *       again; once none is (fenced, or not caught up for more than {@code lagTimeMaxMs}, as a
 *       shrink would judge an ISR member), the next proposal is a <i>fence</i>: the committed ISR
 *       unchanged, which the controller commits as a new partition epoch. So a joiner that died
 *       holds the high watermark back no longer than it would as an ISR member.</li>
 * </ul>
 *
 * <h2>Use</h2>
 * Build one per (partition, leader epoch) when this broker becomes leader; call
 * {@link #updateLeaderLog} after appends and fsyncs, {@link #recordFollowerFetch} per follower
 * fetch, {@link #maybeProposeIsrChange} on a schedule, and {@link #applyCommittedIsr} when the
 * controller commits an ISR. A new leader epoch starts a new instance.
 *
 * <p>Thread-safety: not thread-safe; its owner (the broker's {@code Partition}, or the
 * single-threaded simulation) serializes every call.
 */
public final class LeaderState {
    /** A follower that has not fetched in this leader epoch. */
    public static final long UNKNOWN_OFFSET = -1L;

    private final int localBrokerId;
    private final int leaderEpoch;
    private final long epochStartOffset;
    private final List<Integer> replicas;
    private final Map<Integer, Follower> followers = new TreeMap<>();
    private List<Integer> isr;
    private int partitionEpoch;
    private int minInsyncReplicas;
    private boolean durableAcks;
    private long leaderLogEndOffset;
    private long leaderFlushedOffset;
    private long highWatermark;
    private IsrChange pending;
    /** Joiners of expansions sent at {@link #partitionEpoch} that failed but may still apply; ascending. */
    private final TreeSet<Integer> unresolvedJoiners = new TreeSet<>();

    private static final class Follower {
        long logEndOffset = UNKNOWN_OFFSET;
        long flushedOffset = UNKNOWN_OFFSET;
        long lastCaughtUpTimeMs;
        long lastFetchTimeMs = -1;
        long lastFetchLeaderEndOffset = UNKNOWN_OFFSET;
    }

    /**
     * Becomes leader.
     *
     * @param localBrokerId       this broker (the leader), a member of {@code replicas} and {@code isr}
     * @param leaderEpoch         the leader epoch this state lives in
     * @param epochStartOffset    the first offset of this epoch (the leader's LEO when it took over)
     * @param partitionEpoch      the partition epoch of {@code isr} (compare-and-set token)
     * @param replicas            all replicas
     * @param isr                 the committed ISR
     * @param minInsyncReplicas   the topic's min.insync.replicas (≥ 1)
     * @param durableAcks         whether progress means flushed offsets (topic config durable.acks)
     * @param highWatermark       the HW inherited (the log's checkpoint), never above {@code epochStartOffset}
     * @param leaderFlushedOffset the leader's flushed offset now (≤ epochStartOffset)
     * @param nowMs               now; ISR followers count as caught up at this instant (Kafka does the same)
     */
    public LeaderState(int localBrokerId, int leaderEpoch, long epochStartOffset, int partitionEpoch, List<Integer> replicas,
                       List<Integer> isr, int minInsyncReplicas, boolean durableAcks, long highWatermark,
                       long leaderFlushedOffset, long nowMs) {
        if (!replicas.contains(localBrokerId)) {
            throw new IllegalArgumentException("leader " + localBrokerId + " is not a replica of " + replicas);
        }
        if (!isr.contains(localBrokerId)) {
            throw new IllegalArgumentException("leader " + localBrokerId + " is not in the ISR " + isr);
        }
        if (!replicas.containsAll(isr)) {
            throw new IllegalArgumentException("ISR " + isr + " is not a subset of replicas " + replicas);
        }
        if (leaderEpoch < 0 || partitionEpoch < 0) {
            throw new IllegalArgumentException("negative epoch: leader " + leaderEpoch + ", partition " + partitionEpoch);
        }
        if (epochStartOffset < 0 || highWatermark < 0 || highWatermark > epochStartOffset) {
            throw new IllegalArgumentException("HW " + highWatermark + " outside [0, epoch start " + epochStartOffset + "]");
        }
        if (leaderFlushedOffset < 0 || leaderFlushedOffset > epochStartOffset) {
            throw new IllegalArgumentException("flushed " + leaderFlushedOffset + " outside [0, " + epochStartOffset + "]");
        }
        checkMinIsr(minInsyncReplicas);
        this.localBrokerId = localBrokerId;
        this.leaderEpoch = leaderEpoch;
        this.epochStartOffset = epochStartOffset;
        this.partitionEpoch = partitionEpoch;
        this.replicas = List.copyOf(replicas);
        this.isr = sorted(isr);
        this.minInsyncReplicas = minInsyncReplicas;
        this.durableAcks = durableAcks;
        this.leaderLogEndOffset = epochStartOffset;
        this.leaderFlushedOffset = leaderFlushedOffset;
        this.highWatermark = highWatermark;
        for (int r : this.replicas) {
            if (r != localBrokerId) {
                Follower f = new Follower();
                f.lastCaughtUpTimeMs = this.isr.contains(r) ? nowMs : -1;
                followers.put(r, f);
            }
        }
    }

    /**
     * The leader appended or fsynced: its log end offset and flushed offset now.
     *
     * @return true if the high watermark advanced
     */
    public boolean updateLeaderLog(long logEndOffset, long flushedOffset) {
        if (logEndOffset < leaderLogEndOffset) {
            throw new IllegalArgumentException("leader LEO moved back from " + leaderLogEndOffset + " to " + logEndOffset
                    + " within epoch " + leaderEpoch);
        }
        if (flushedOffset > logEndOffset) {
            throw new IllegalArgumentException("flushed " + flushedOffset + " above LEO " + logEndOffset);
        }
        leaderLogEndOffset = logEndOffset;
        // A flush reported late (after a newer one) must not lower what is known durable.
        leaderFlushedOffset = Math.max(leaderFlushedOffset, flushedOffset);
        return maybeAdvanceHighWatermark();
    }

    /**
     * A follower fetched at {@code fetchOffset} (its log end offset) reporting {@code flushedOffset}.
     * The caller has checked the fetch's leader epoch and that {@code fetchOffset} is within the
     * leader's log (else it answered FENCED_LEADER_EPOCH / OFFSET_OUT_OF_RANGE and never calls this).
     *
     * @return true if the high watermark advanced
     */
    public boolean recordFollowerFetch(int replicaId, long fetchOffset, long flushedOffset, long nowMs) {
        Follower f = followers.get(replicaId);
        if (f == null) {
            throw new IllegalArgumentException("broker " + replicaId + " is not a follower of " + replicas + " (leader "
                    + localBrokerId + ")");
        }
        if (fetchOffset < 0 || fetchOffset > leaderLogEndOffset) {
            throw new IllegalArgumentException("fetch offset " + fetchOffset + " outside [0, leader LEO " + leaderLogEndOffset + "]");
        }
        // A follower may report a flushed offset above its fetch offset only if it lies; clamp.
        long flushed = Math.max(0, Math.min(flushedOffset, fetchOffset));
        f.logEndOffset = fetchOffset;
        f.flushedOffset = flushed;
        long progress = durableAcks ? flushed : fetchOffset;
        if (progress >= leaderLogEndOffset) {
            f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
        } else if (f.lastFetchLeaderEndOffset != UNKNOWN_OFFSET && progress >= f.lastFetchLeaderEndOffset) {
            f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
        }
        f.lastFetchLeaderEndOffset = leaderLogEndOffset;
        f.lastFetchTimeMs = nowMs;
        return maybeAdvanceHighWatermark();
    }

    /**
     * Proposes the next ISR change, if one is due and none is pending: first a shrink (ISR followers
     * not caught up for more than {@code lagTimeMaxMs}), else an expansion (replicas caught up to
     * the HW and to this epoch's start). The returned change becomes the pending one.
     */
    public Optional<IsrChange> maybeProposeIsrChange(long nowMs, long lagTimeMaxMs) {
        return maybeProposeIsrChange(nowMs, lagTimeMaxMs, id -> true);
    }

    /**
     * As {@link #maybeProposeIsrChange(long, long)}, expanding only to replicas {@code eligible}
     * accepts: the broker passes the brokers its metadata shows unfenced (KIP-841). A follower
     * killed while caught up on an idle partition still looks in sync here (the HW has not moved
     * since its last fetch); proposing it would only be refused by the controller, again and again.
     */
    public Optional<IsrChange> maybeProposeIsrChange(long nowMs, long lagTimeMaxMs, java.util.function.IntPredicate eligible) {
        if (lagTimeMaxMs <= 0) {
            throw new IllegalArgumentException("lagTimeMaxMs must be positive: " + lagTimeMaxMs);
        }
        if (pending != null) {
            return Optional.empty();
        }
        List<Integer> lagging = laggingIsrFollowers(nowMs, lagTimeMaxMs);
        if (!lagging.isEmpty()) {
            List<Integer> next = new ArrayList<>(isr);
            next.removeAll(lagging);
            pending = new IsrChange(leaderEpoch, partitionEpoch, next, true);
            return Optional.of(pending);
        }
        List<Integer> joining = new ArrayList<>();
        for (Map.Entry<Integer, Follower> e : followers.entrySet()) {
            Follower f = e.getValue();
            boolean givenUp = unresolvedJoiners.contains(e.getKey()) && nowMs - f.lastCaughtUpTimeMs > lagTimeMaxMs;
            // Caught up within the lag time, as a member must stay: a follower whose last fetch was
            // long ago (killed on an idle partition, where its old offsets still equal the HW) is
            // not proposed on those stale offsets the moment it is unfenced again. It was, and the
            // next check dropped it for its old caught-up time, then its first fetch added it back:
            // found probing, 15 idle partitions per leader flapped at each broker restart.
            boolean recent = nowMs - f.lastCaughtUpTimeMs <= lagTimeMaxMs;
            if (mayJoin(e.getKey(), f, eligible) && recent && !givenUp) {
                joining.add(e.getKey());
            }
        }
        if (joining.isEmpty() && !unresolvedJoiners.isEmpty()) {
            // An earlier expansion may still apply; commit the ISR as it is to rule it out.
            pending = new IsrChange(leaderEpoch, partitionEpoch, isr, false);
            return Optional.of(pending);
        }
        if (joining.isEmpty()) {
            return Optional.empty();
        }
        List<Integer> next = new ArrayList<>(isr);
        next.addAll(joining);
        pending = new IsrChange(leaderEpoch, partitionEpoch, sorted(next), false);
        return Optional.of(pending);
    }

    /**
     * Right after {@code replicaId}'s fetch was recorded: proposes adding it to the ISR if it is
     * outside it, in sync, {@code eligible}, and no change is pending or unresolved (those are left
     * to {@link #maybeProposeIsrChange}, which alone judges lag). Only the replica that fetched: its
     * offsets are fresh, while another follower's may be stale. Found probing: after a broker
     * restart, a fetch by one follower of an idle partition proposed the restarted broker, whose
     * offsets from before it stopped still equalled the HW but which had not fetched that partition
     * again yet; the next check dropped it for its old caught-up time, the next fetch by the other
     * follower added it back, and so on (an expand and a shrink every few hundred milliseconds per
     * partition until the restarted broker fetched it).
     */
    public Optional<IsrChange> maybeProposeJoin(int replicaId, java.util.function.IntPredicate eligible) {
        Follower f = followers.get(replicaId);
        if (f == null || pending != null || !unresolvedJoiners.isEmpty() || !mayJoin(replicaId, f, eligible)) {
            return Optional.empty();
        }
        List<Integer> next = new ArrayList<>(isr);
        next.add(replicaId);
        pending = new IsrChange(leaderEpoch, partitionEpoch, sorted(next), false);
        return Optional.of(pending);
    }

    /** A follower outside the ISR, in sync ({@link #inSync}) and {@code eligible}: one an expansion may add. */
    private boolean mayJoin(int replicaId, Follower f, java.util.function.IntPredicate eligible) {
        return !isr.contains(replicaId) && inSync(f) && eligible.test(replicaId);
    }

    /** ISR followers whose last caught-up time is more than {@code lagTimeMaxMs} ago, ascending. */
    public List<Integer> laggingIsrFollowers(long nowMs, long lagTimeMaxMs) {
        List<Integer> out = new ArrayList<>();
        for (int r : isr) {
            if (r != localBrokerId && nowMs - followers.get(r).lastCaughtUpTimeMs > lagTimeMaxMs) {
                out.add(r);
            }
        }
        return out;
    }

    /**
     * The controller committed {@code newIsr} at {@code newPartitionEpoch} (from the AlterPartition
     * answer or the metadata image, whichever comes first; the other is then ignored as stale).
     * Ends the pending change. The ISR must contain this leader: a change that removes it comes with
     * a new leader epoch, i.e. a new state.
     *
     * @return true if the high watermark advanced (the ISR lost a laggard or reached min ISR)
     */
    public boolean applyCommittedIsr(int newPartitionEpoch, List<Integer> newIsr) {
        if (newPartitionEpoch <= partitionEpoch) {
            return false;
        }
        if (!newIsr.contains(localBrokerId)) {
            throw new IllegalArgumentException("committed ISR " + newIsr + " lacks leader " + localBrokerId
                    + " in the same leader epoch " + leaderEpoch);
        }
        if (!replicas.containsAll(newIsr)) {
            throw new IllegalArgumentException("committed ISR " + newIsr + " is not a subset of replicas " + replicas);
        }
        for (int r : newIsr) {
            Follower f = followers.get(r);
            if (f != null && !isr.contains(r)) {
                // It joined because it was in sync at its last fetch: start its lag clock there, so a
                // member added under steady load is not dropped at the next check (no ISR flapping).
                f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
            }
        }
        partitionEpoch = newPartitionEpoch;
        isr = sorted(newIsr);
        pending = null;
        unresolvedJoiners.clear(); // every earlier proposal carried an older partition epoch: none can apply now
        return maybeAdvanceHighWatermark();
    }

    /**
     * {@code change} failed (no answer) or was refused; the next {@link #maybeProposeIsrChange} may
     * propose again. Nothing happens if {@code change} is not the pending change (an answer to an
     * older attempt). The members an expansion adds stay in the maximal ISR (see the class comment:
     * a refusal of one attempt does not rule out a late one) until a newer partition epoch is known.
     */
    public void failPendingIsrChange(IsrChange change) {
        if (pending == null || !pending.equals(change)) {
            return;
        }
        for (int r : pending.newIsr()) {
            if (!isr.contains(r)) {
                unresolvedJoiners.add(r);
            }
        }
        pending = null;
    }

    /** Members of failed expansions that may still be applied (see the class comment), ascending. */
    public List<Integer> unresolvedJoiners() {
        return List.copyOf(unresolvedJoiners);
    }

    /** The topic's min.insync.replicas or durable.acks changed. @return true if the HW advanced */
    public boolean updateConfig(int newMinInsyncReplicas, boolean newDurableAcks) {
        checkMinIsr(newMinInsyncReplicas);
        minInsyncReplicas = newMinInsyncReplicas;
        durableAcks = newDurableAcks;
        return maybeAdvanceHighWatermark();
    }

    /**
     * Whether acks=all writes are accepted now: the committed ISR has at least min.insync.replicas
     * members (else the append is refused with NOT_ENOUGH_REPLICAS before touching the log).
     */
    public boolean hasMinIsr() {
        return isr.size() >= minInsyncReplicas;
    }

    /**
     * Whether {@code replicaId} may serve consumers as a preferred read replica (KIP-392): it is in
     * the committed ISR, has fetched in this epoch and its log end offset reached the HW.
     */
    public boolean isCaughtUpReadReplica(int replicaId) {
        if (replicaId == localBrokerId) {
            return true;
        }
        Follower f = followers.get(replicaId);
        return f != null && isr.contains(replicaId) && f.logEndOffset != UNKNOWN_OFFSET && f.logEndOffset >= highWatermark;
    }

    /**
     * Progress at the HW and at this epoch's start offset. With durable acks both are judged on the
     * flushed offset: the prefix this leader inherited may hold writes committed in an earlier epoch
     * above this leader's HW (its HW lags), and a member holding them unflushed would lose them to a
     * power loss and could then be elected (replication simulation, seed -5165579552139969814:16).
     */
    private boolean inSync(Follower f) {
        long progress = durableAcks ? f.flushedOffset : f.logEndOffset;
        return f.logEndOffset != UNKNOWN_OFFSET && progress >= highWatermark && progress >= epochStartOffset;
    }

    private boolean maybeAdvanceHighWatermark() {
        if (isr.size() < minInsyncReplicas || pending != null && pending.newIsr().size() < minInsyncReplicas) {
            return false; // KIP-966: no HW progress below min ISR
        }
        TreeSet<Integer> maximal = new TreeSet<>(isr);
        maximal.addAll(unresolvedJoiners);
        if (pending != null) {
            maximal.addAll(pending.newIsr());
        }
        long candidate = durableAcks ? leaderFlushedOffset : leaderLogEndOffset;
        for (int r : maximal) {
            if (r == localBrokerId) {
                continue;
            }
            Follower f = followers.get(r);
            long progress = durableAcks ? f.flushedOffset : f.logEndOffset;
            if (f.logEndOffset == UNKNOWN_OFFSET) {
                return false;
            }
            candidate = Math.min(candidate, progress);
        }
        if (candidate > highWatermark) {
            highWatermark = candidate;
            return true;
        }
        return false;
    }

    public long highWatermark() {
        return highWatermark;
    }

    public int leaderEpoch() {
        return leaderEpoch;
    }

    public long epochStartOffset() {
        return epochStartOffset;
    }

    public int partitionEpoch() {
        return partitionEpoch;
    }

    /** The committed ISR, ascending. */
    public List<Integer> isr() {
        return isr;
    }

    public List<Integer> replicas() {
        return replicas;
    }

    public int minInsyncReplicas() {
        return minInsyncReplicas;
    }

    public boolean durableAcks() {
        return durableAcks;
    }

    public long leaderLogEndOffset() {
        return leaderLogEndOffset;
    }

    public long leaderFlushedOffset() {
        return leaderFlushedOffset;
    }

    public Optional<IsrChange> pendingIsrChange() {
        return Optional.ofNullable(pending);
    }

    /**
     * Below this offset every replica holds the log durably, as far as this leader knows: the
     * smallest of its own log end and each follower's last reported flushed offset in this epoch
     * (0 for a follower not heard from yet, one down or cut off since before this epoch).
     * Compaction removes a tombstone only below it, so a replica that was away still finds every
     * deletion when it returns, and does not keep a deleted value for good. Flushed, not fetched:
     * a follower that loses its unflushed tail to a power failure has not lost a tombstone the
     * leader removed, and need not refetch its whole log.
     */
    public long allReplicasOffset() {
        long min = leaderLogEndOffset;
        for (Follower f : followers.values()) {
            min = Math.min(min, f.flushedOffset == UNKNOWN_OFFSET ? 0 : f.flushedOffset);
        }
        return min;
    }

    /** What the leader knows about {@code replicaId}, or empty if it is not a follower. */
    public Optional<FollowerProgress> follower(int replicaId) {
        Follower f = followers.get(replicaId);
        if (f == null) {
            return Optional.empty();
        }
        return Optional.of(new FollowerProgress(replicaId, f.logEndOffset, f.flushedOffset, f.lastCaughtUpTimeMs,
                f.lastFetchTimeMs, f.lastFetchLeaderEndOffset));
    }

    private static void checkMinIsr(int minIsr) {
        if (minIsr < 1) {
            throw new IllegalArgumentException("min.insync.replicas must be at least 1: " + minIsr);
        }
    }

    private static List<Integer> sorted(List<Integer> ids) {
        List<Integer> out = new ArrayList<>(ids);
        Collections.sort(out);
        return List.copyOf(out);
    }

    @Override
    public String toString() {
        return "LeaderState(epoch " + leaderEpoch + ", start " + epochStartOffset + ", isr " + isr + "@" + partitionEpoch
                + ", HW " + highWatermark + ", LEO " + leaderLogEndOffset + ", flushed " + leaderFlushedOffset
                + (pending == null ? "" : ", pending " + pending)
                + (unresolvedJoiners.isEmpty() ? "" : ", unresolved joiners " + unresolvedJoiners) + ")";
    }
}

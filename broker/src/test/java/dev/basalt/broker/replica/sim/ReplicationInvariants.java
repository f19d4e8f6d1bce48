package dev.basalt.broker.replica.sim;

import dev.basalt.metadata.image.MetadataImage;
import dev.basalt.metadata.image.PartitionRegistration;
import dev.basalt.metadata.image.TopicImage;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The safety properties of partition replication, checked by {@link ReplicationSimulation} as the
 * events that can break them happen (each check is O(change), so they run after every event at no
 * real cost). Not thread-safe. Anomaly names are stable: tests match on them.
 *
 * <p>The <em>committed log</em> of a partition is the one sequence of batches every replica holds
 * below its own high watermark; the first replica whose HW passes an offset fixes the batch there.
 * <ul>
 *   <li>{@code inconsistent-below-hw}: a replica's HW passes a batch that differs (offset, count,
 *       leader epoch, batch id) from the committed log there. This is "replicas agree below the HW":
 *       for any two replicas r1, r2 and every offset below min(HW(r1), HW(r2)) both hold the same
 *       batch with the same epoch. It cannot be checked below a HW a replica no longer has: a power
 *       loss may cut a replica that is not in the ISR below its HW (its HW then drops with its log),
 *       and what it fetches again is checked again when its HW passes it.</li>
 *   <li>{@code hw-above-log-end}: a replica's HW passes its own log end.</li>
 *   <li>{@code lost-acked-write} / {@code lost-committed}: a broker that becomes leader (for the
 *       epoch the controller gave it) does not hold, at its offset, a batch that was acknowledged to
 *       a producer (acks=all) / that is in the committed log. Leaders never truncate, so holding
 *       them at election means holding them for the whole epoch; a stale leader of an older epoch
 *       may lack later writes (it is no longer the leader, only believes it is).</li>
 *   <li>{@code isr-lacks-acked-write}: a member of the controller's committed ISR lacks an
 *       acknowledged write (see {@link #checkIsrMemberHoldsAcked}).</li>
 *   <li>{@code ack-above-hw}: a write acknowledged before the leader's HW passed it.</li>
 *   <li>{@code hw-moved-back}: a leader's HW decreased within one leader epoch. Across epochs it
 *       may: a new leader starts from the HW it had as a follower, which can be below writes the
 *       previous leader acknowledged. What holds instead is {@code lost-acked-write} above: it holds
 *       those writes, and its HW passes them again before it acknowledges anything after them.</li>
 *   <li>{@code truncate-below-hw}: a replica truncated (outside a crash) below its HW, or a leader
 *       truncated at all.</li>
 *   <li>{@code two-leaders}: two brokers (or two incarnations of one) acted as leader in one leader
 *       epoch of a partition; also checked on the controller's images.</li>
 *   <li>{@code log-matching}: two logs hold different batches at one offset with the same epoch
 *       (one leader per epoch appends each offset once).</li>
 * </ul>
 */
final class ReplicationInvariants {
    private record Leader(int brokerId, int incarnation) {
    }

    private final Function<String, AssertionError> failure;
    private final Map<Integer, TreeMap<Long, SimLog.Batch>> committed = new HashMap<>();
    /** Per partition, per committed batch: the leader epoch of the replica whose HW first passed it. */
    private final Map<Integer, Map<Long, Integer>> committedInEpoch = new HashMap<>();
    private final Map<Integer, TreeMap<Long, SimLog.Batch>> acked = new HashMap<>();
    private final Map<String, Leader> leaderByEpoch = new HashMap<>();
    private final Map<String, Integer> controllerLeaderByEpoch = new HashMap<>();
    private final Map<String, Long> batchByOffsetAndEpoch = new HashMap<>();
    private final Map<Integer, PartitionRegistration> lastRegistration = new HashMap<>();
    private long ackCount;
    private int leaderElections;

    ReplicationInvariants(Function<String, AssertionError> failure) {
        this.failure = failure;
    }

    private AssertionError anomaly(String name, String detail) {
        return failure.apply(name + ": " + detail);
    }

    TreeMap<Long, SimLog.Batch> acked(int partition) {
        return acked.computeIfAbsent(partition, k -> new TreeMap<>());
    }

    private TreeMap<Long, SimLog.Batch> committed(int partition) {
        return committed.computeIfAbsent(partition, k -> new TreeMap<>());
    }

    long ackCount() {
        return ackCount;
    }

    int leaderElections() {
        return leaderElections;
    }

    /** A replica's high watermark moves from {@code fromOffset} up to {@code toOffset}, in leader epoch {@code leaderEpoch}. */
    void checkHighWatermark(String replica, int partition, int leaderEpoch, SimLog log, long fromOffset, long toOffset) {
        if (toOffset > log.logEndOffset()) {
            throw anomaly("hw-above-log-end", replica + " HW " + toOffset + " above its log end " + log.logEndOffset());
        }
        TreeMap<Long, SimLog.Batch> c = committed(partition);
        long o = fromOffset;
        while (o < toOffset) {
            SimLog.Batch b = log.batchAt(o);
            Map.Entry<Long, SimLog.Batch> floor = c.floorEntry(b.baseOffset());
            SimLog.Batch known = floor != null && floor.getValue().nextOffset() > b.baseOffset() ? floor.getValue() : null;
            if (known == null) {
                SimLog.Batch next = c.ceilingKey(b.baseOffset()) == null ? null : c.ceilingEntry(b.baseOffset()).getValue();
                if (next != null && next.baseOffset() < b.nextOffset()) {
                    throw anomaly("inconsistent-below-hw", replica + " holds " + b + " below its HW " + toOffset
                            + " overlapping committed " + next);
                }
                c.put(b.baseOffset(), b);
                committedInEpoch.computeIfAbsent(partition, k -> new HashMap<>()).put(b.baseOffset(), leaderEpoch);
            } else if (!known.equals(b)) {
                throw anomaly("inconsistent-below-hw", replica + " holds " + b + " below its HW " + toOffset
                        + " where the committed log has " + known);
            }
            o = b.nextOffset();
        }
    }

    /** A leader sets its HW from its rules: never backwards within its epoch. */
    void checkLeaderHighWatermark(String replica, int leaderEpoch, long currentHw, long newHw) {
        if (newHw < currentHw) {
            throw anomaly("hw-moved-back", replica + " leader of epoch " + leaderEpoch + " moves its HW from "
                    + currentHw + " back to " + newHw);
        }
    }

    /** The leader acknowledges an acks=all write. */
    void recordAck(String replica, int partition, SimLog.Batch batch, long leaderHw) {
        if (batch.nextOffset() > leaderHw) {
            throw anomaly("ack-above-hw", replica + " acknowledges " + batch + " with HW " + leaderHw);
        }
        SimLog.Batch c = committed(partition).get(batch.baseOffset());
        if (!batch.equals(c)) {
            throw anomaly("inconsistent-below-hw", replica + " acknowledges " + batch + " but the committed log has "
                    + c);
        }
        acked(partition).put(batch.baseOffset(), batch);
        ackCount++;
    }

    /** A broker starts acting as leader of {@code partition} in {@code leaderEpoch}. */
    void checkBecomeLeader(String replica, int brokerId, int incarnation, int partition, int leaderEpoch, SimLog log) {
        leaderElections++;
        Leader me = new Leader(brokerId, incarnation);
        Leader other = leaderByEpoch.putIfAbsent(partition + "/" + leaderEpoch, me);
        if (other != null && !other.equals(me)) {
            throw anomaly("two-leaders", replica + " leads partition " + partition + " in epoch " + leaderEpoch
                    + " which broker " + other.brokerId + " (incarnation " + other.incarnation + ") led");
        }
        for (SimLog.Batch b : committed(partition).values()) {
            int committedIn = committedInEpoch.getOrDefault(partition, Map.of()).getOrDefault(b.baseOffset(), -1);
            if (b.leaderEpoch() >= leaderEpoch || committedIn >= leaderEpoch) {
                // Written, or committed, in this epoch or a later one: a broker that learns late (stale
                // metadata) that it led an older epoch never had to hold them (leader completeness is
                // about what was committed before its epoch began), and is not the leader any more
                // (the later epoch's leader was checked when it became leader). Found by seeds
                // -2778867016:5 (written later) and -184027062694957671:11 (written in epoch 0,
                // committed in epoch 4 while the new leader of epoch 1 was paused).
                continue;
            }
            if (!b.equals(log.batchAt(b.baseOffset()))) {
                boolean wasAcked = b.equals(acked(partition).get(b.baseOffset()));
                throw anomaly(wasAcked ? "lost-acked-write" : "lost-committed", replica + " becomes leader of epoch "
                        + leaderEpoch + " holding " + log.batchAt(b.baseOffset()) + " where " + b + " was "
                        + (wasAcked ? "acknowledged" : "committed") + " (its log end " + log.logEndOffset() + ")");
            }
        }
    }

    /**
     * A member of the partition's committed ISR (the controller's) must hold every acknowledged write
     * at its offset, from {@code fromOffset} on (0: all of them): checked when it joins the ISR, when
     * a write is acknowledged, and after its log is truncated or loses its unflushed tail while in
     * the ISR. This is "an acknowledged write stays on every ISR replica"; replicas outside the ISR
     * may lag or hold a divergent tail until they truncate.
     */
    void checkIsrMemberHoldsAcked(String replica, int partition, SimLog log, long fromOffset) {
        TreeMap<Long, SimLog.Batch> a = acked(partition);
        Long from = a.floorKey(fromOffset);
        for (SimLog.Batch b : (from == null ? a : a.tailMap(from, true)).values()) {
            if (!b.equals(log.batchAt(b.baseOffset()))) {
                throw anomaly("isr-lacks-acked-write", replica + " is in the ISR but holds " + log.batchAt(b.baseOffset())
                        + " where " + b + " was acknowledged (its log end " + log.logEndOffset() + ")");
            }
        }
    }

    /** A replica is about to truncate its log to {@code offset} (not a crash). */
    void checkTruncate(String replica, boolean leader, long highWatermark, long offset, long logEndOffset) {
        if (offset >= logEndOffset) {
            return;
        }
        if (leader) {
            throw anomaly("truncate-below-hw", "leader " + replica + " truncates to " + offset);
        }
        if (offset < highWatermark) {
            throw anomaly("truncate-below-hw", replica + " truncates to " + offset + " below its HW " + highWatermark);
        }
    }

    /** A batch is appended to some replica's log. */
    void checkAppend(String replica, int partition, SimLog.Batch b) {
        Long before = batchByOffsetAndEpoch.putIfAbsent(partition + "/" + b.baseOffset() + "/" + b.leaderEpoch(),
                b.batchId());
        if (before != null && before != b.batchId()) {
            throw anomaly("log-matching", replica + " appends " + b + " where another log has batch " + before
                    + " at the same offset and epoch");
        }
    }

    /**
     * Every committed image: at most one leader per (partition, leader epoch), and every newly
     * elected leader comes from the ISR or, by KIP-966, the eligible leader replicas of the image
     * before (unclean election is off).
     */
    void checkControllerImage(MetadataImage image) {
        for (TopicImage t : image.topics().topicsById().values()) {
            for (Map.Entry<Integer, PartitionRegistration> e : t.partitions().entrySet()) {
                PartitionRegistration p = e.getValue();
                PartitionRegistration previous = lastRegistration.put(e.getKey(), p);
                if (!p.hasLeader()) {
                    continue;
                }
                if (previous != null && p.leaderEpoch() > previous.leaderEpoch() && !previous.isr().contains(p.leader())
                        && !previous.elr().contains(p.leader())) {
                    throw anomaly("unclean-election", "the controller elected " + p.leader() + " for partition "
                            + e.getKey() + " in epoch " + p.leaderEpoch() + " outside the ISR " + previous.isr()
                            + " (replicas " + p.replicas() + ")");
                }
                Integer before = controllerLeaderByEpoch.putIfAbsent(e.getKey() + "/" + p.leaderEpoch(), p.leader());
                if (before != null && before != p.leader()) {
                    throw anomaly("two-leaders", "the controller made " + p.leader() + " leader of partition "
                            + e.getKey() + " in epoch " + p.leaderEpoch() + " which it gave to " + before);
                }
            }
        }
    }
}

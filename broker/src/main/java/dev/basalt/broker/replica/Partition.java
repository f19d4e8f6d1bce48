package dev.basalt.broker.replica;

import dev.basalt.log.AppendInfo;
import dev.basalt.log.FetchSlice;
import dev.basalt.log.LogConfig;
import dev.basalt.log.PartitionLog;
import dev.basalt.log.TopicPartition;
import dev.basalt.proto.v1.ErrorCode;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One partition replica on this broker: its log and its replication state as the metadata image
 * last described it (leader, leader epoch, replicas, ISR).
 *
 * <p>As leader it appends producer batches and keeps the high watermark: HW = the smallest log
 * end offset among ISR members (the leader's own LEO plus what followers reported in their
 * fetches). With a one-member ISR the HW follows the leader's LEO at once.
 *
 * <p>Thread-safety: thread-safe. Leadership fields are replaced together under {@code this}'s
 * lock by the replica manager's metadata thread; appends are serialized by the log itself;
 * the HW only moves forward under {@code this}'s lock.
 */
public final class Partition {
    private final TopicPartition tp;
    private final String topicId;
    private final int localBrokerId;
    private final PartitionLog log;
    private final Map<Integer, Long> followerEndOffsets = new ConcurrentHashMap<>();
    private volatile State state;

    /** Replication state from the metadata image; immutable. */
    public record State(int leaderId, int leaderEpoch, List<Integer> replicas, List<Integer> isr, int minInsyncReplicas) {
        public State {
            replicas = List.copyOf(replicas);
            isr = List.copyOf(isr);
        }
    }

    /** Outcome of a leader append: the error code when it failed before touching the log. */
    public record AppendOutcome(ErrorCode error, String message, AppendInfo info) {
        static AppendOutcome failed(ErrorCode error, String message) {
            return new AppendOutcome(error, message, null);
        }
    }

    public Partition(TopicPartition tp, String topicId, int localBrokerId, PartitionLog log, State state) {
        this.tp = tp;
        this.topicId = topicId;
        this.localBrokerId = localBrokerId;
        this.log = log;
        this.state = state;
    }

    public TopicPartition topicPartition() {
        return tp;
    }

    public String topicId() {
        return topicId;
    }

    public PartitionLog log() {
        return log;
    }

    public State state() {
        return state;
    }

    public boolean isLeader() {
        return state.leaderId() == localBrokerId;
    }

    /** Applies a new leadership state from the metadata image. */
    public synchronized void update(State next, LogConfig config) {
        State prev = state;
        state = next;
        log.updateConfig(config);
        if (next.leaderId() == localBrokerId && (prev.leaderId() != localBrokerId || prev.leaderEpoch() != next.leaderEpoch())) {
            // Becoming leader in a new epoch: offsets from here on belong to it (KIP-101).
            if (log.latestEpoch() < next.leaderEpoch()) {
                log.assignEpoch(next.leaderEpoch(), log.logEndOffset());
            }
            followerEndOffsets.clear();
        }
        maybeIncrementHighWatermark();
    }

    /**
     * Appends as leader. Checks leadership and, for acks=all, the ISR size against
     * min.insync.replicas before writing anything.
     */
    public AppendOutcome appendAsLeader(ByteBuffer payload, int acks) {
        State s = state;
        if (s.leaderId() != localBrokerId) {
            return AppendOutcome.failed(ErrorCode.NOT_LEADER, "broker " + localBrokerId + " is not the leader of " + tp);
        }
        if (acks == -1 && s.isr().size() < s.minInsyncReplicas()) {
            return AppendOutcome.failed(ErrorCode.NOT_ENOUGH_REPLICAS, "ISR " + s.isr() + " is smaller than min.insync.replicas="
                    + s.minInsyncReplicas());
        }
        AppendInfo info = log.appendAsLeader(payload, s.leaderEpoch());
        maybeIncrementHighWatermark();
        return new AppendOutcome(ErrorCode.NONE, "", info);
    }

    /** The HW: what consumers may read and what acks=all waits for. */
    public long highWatermark() {
        return log.highWatermark();
    }

    /** A follower reported its log end offset (replication: a later issue drives this). */
    public void recordFollowerEndOffset(int replicaId, long logEndOffset) {
        followerEndOffsets.put(replicaId, logEndOffset);
        maybeIncrementHighWatermark();
    }

    /** Moves the HW to the minimum LEO over the ISR, never backwards. Returns the HW. */
    public synchronized long maybeIncrementHighWatermark() {
        State s = state;
        if (s.leaderId() != localBrokerId) {
            return log.highWatermark();
        }
        long min = log.logEndOffset();
        for (int replica : s.isr()) {
            if (replica == localBrokerId) {
                continue;
            }
            Long leo = followerEndOffsets.get(replica);
            min = Math.min(min, leo == null ? log.highWatermark() : leo);
        }
        if (min > log.highWatermark()) {
            return log.updateHighWatermark(min);
        }
        return log.highWatermark();
    }

    /** Reads for a consumer: only up to the high watermark. The caller closes the slice. */
    public FetchSlice readForConsumer(long offset, int maxBytes) {
        return log.read(offset, maxBytes, log.highWatermark());
    }

    @Override
    public String toString() {
        return "Partition(" + tp + ", " + state + ")";
    }
}

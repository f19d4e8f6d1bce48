package dev.basalt.raft.state;

import dev.basalt.raft.quorum.ProgressTracker;
import java.util.ArrayDeque;

/**
 * The leader of its term (Raft paper §5.3): tracks every member's progress, the heartbeat and
 * check-quorum timers (dissertation §6.2), pending ReadIndex requests (§6.4) and an ongoing
 * leadership transfer (§3.10). Mutable, confined to the core's thread.
 */
public final class LeaderState implements EpochState {
    /** A ReadIndex request: served at {@code readIndex} once a majority acknowledged round {@code seq}. */
    public record PendingRead(long readId, long readIndex, long seq) {
    }

    private final long term;
    private final int localId;
    private final ProgressTracker progress;
    private final long noopIndex;
    private long heartbeatDeadlineMs;
    private long checkQuorumDeadlineMs;
    private long readSeq;
    private final ArrayDeque<Long> readsAwaitingCommit = new ArrayDeque<>();
    private final ArrayDeque<PendingRead> reads = new ArrayDeque<>();
    private int transferTarget = NO_LEADER;
    private long transferDeadlineMs = Long.MAX_VALUE;

    LeaderState(long term, int localId, ProgressTracker progress, long noopIndex, long nowMs,
                long heartbeatIntervalMs, long checkQuorumMs) {
        this.term = term;
        this.localId = localId;
        this.progress = progress;
        this.noopIndex = noopIndex;
        this.heartbeatDeadlineMs = nowMs + heartbeatIntervalMs;
        this.checkQuorumDeadlineMs = nowMs + checkQuorumMs;
    }

    @Override
    public long term() {
        return term;
    }

    @Override
    public int votedFor() {
        return localId;
    }

    @Override
    public int leaderId() {
        return localId;
    }

    @Override
    public long electionDeadlineMs() {
        return Long.MAX_VALUE;
    }

    public ProgressTracker progress() {
        return progress;
    }

    /** Index of the no-op entry this leader appended on election (§8). */
    public long noopIndex() {
        return noopIndex;
    }

    public long heartbeatDeadlineMs() {
        return heartbeatDeadlineMs;
    }

    public void setHeartbeatDeadlineMs(long deadlineMs) {
        heartbeatDeadlineMs = deadlineMs;
    }

    public long checkQuorumDeadlineMs() {
        return checkQuorumDeadlineMs;
    }

    public void setCheckQuorumDeadlineMs(long deadlineMs) {
        checkQuorumDeadlineMs = deadlineMs;
    }

    public long readSeq() {
        return readSeq;
    }

    public long nextReadSeq() {
        return ++readSeq;
    }

    /** Reads that arrived before this leader committed an entry of its term (§6.4 step 1). */
    public ArrayDeque<Long> readsAwaitingCommit() {
        return readsAwaitingCommit;
    }

    /** Reads waiting for a heartbeat round to be acknowledged, in {@code seq} order. */
    public ArrayDeque<PendingRead> reads() {
        return reads;
    }

    public int pendingReadCount() {
        return readsAwaitingCommit.size() + reads.size();
    }

    public int transferTarget() {
        return transferTarget;
    }

    public long transferDeadlineMs() {
        return transferDeadlineMs;
    }

    public void startTransfer(int target, long deadlineMs) {
        transferTarget = target;
        transferDeadlineMs = deadlineMs;
    }

    public void abortTransfer() {
        transferTarget = NO_LEADER;
        transferDeadlineMs = Long.MAX_VALUE;
    }

    @Override
    public String name() {
        return "Leader";
    }

    @Override
    public String toString() {
        return "Leader(term=" + term + ")";
    }
}

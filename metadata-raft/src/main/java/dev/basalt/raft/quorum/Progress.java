package dev.basalt.raft.quorum;

import java.util.ArrayDeque;

/**
 * The leader's view of one follower or observer (Raft paper §5.3 "nextIndex/matchIndex", with
 * etcd's probe/replicate/snapshot flow control). Mutable; owned by the leader state, used only on
 * the core's thread.
 *
 * <ul>
 *   <li>{@code PROBE}: the leader does not know where the logs agree; at most one append is in
 *       flight, resent on each heartbeat, and a rejection moves {@code next} back.</li>
 *   <li>{@code REPLICATE}: the logs agree up to {@code match}; appends are pipelined, at most
 *       {@code inflightMax} unacknowledged.</li>
 *   <li>{@code SNAPSHOT}: the entries the follower needs are compacted; the leader streams its
 *       snapshot in chunks (§7), one chunk in flight.</li>
 * </ul>
 */
public final class Progress {
    public enum Mode { PROBE, REPLICATE, SNAPSHOT }

    private final int nodeId;
    private long matchIndex;
    private long nextIndex;
    private Mode mode = Mode.PROBE;
    private boolean probeSent;
    private final ArrayDeque<Long> inflightLastIndexes = new ArrayDeque<>();
    private long snapshotIndex;
    private int snapshotOffset;
    private boolean snapshotChunkInflight;
    private boolean recentActive;
    private long readAckSeq;
    private int heartbeatsWithoutAck;
    private long matchAtLastRound;
    private int stalledRounds;

    public Progress(int nodeId, long nextIndex) {
        if (nextIndex < 1) {
            throw new IllegalArgumentException("nextIndex must be >= 1: " + nextIndex);
        }
        this.nodeId = nodeId;
        this.nextIndex = nextIndex;
    }

    public int nodeId() {
        return nodeId;
    }

    public long matchIndex() {
        return matchIndex;
    }

    public long nextIndex() {
        return nextIndex;
    }

    public Mode mode() {
        return mode;
    }

    public boolean probeSent() {
        return probeSent;
    }

    public void markProbeSent() {
        probeSent = true;
    }

    public boolean inflightFull(int inflightMax) {
        return inflightLastIndexes.size() >= inflightMax;
    }

    public boolean hasInflight() {
        return !inflightLastIndexes.isEmpty();
    }

    /** Records a pipelined append ending at {@code lastIndex} (REPLICATE mode). */
    public void sentEntries(long lastIndex) {
        if (mode != Mode.REPLICATE) {
            throw new IllegalStateException("pipelining outside REPLICATE for node " + nodeId);
        }
        if (lastIndex < nextIndex) {
            throw new IllegalStateException("sent " + lastIndex + " below next " + nextIndex);
        }
        nextIndex = lastIndex + 1;
        inflightLastIndexes.addLast(lastIndex);
    }

    /** A success acknowledges everything up to {@code index}; returns whether match advanced. */
    public boolean maybeUpdate(long index) {
        heartbeatsWithoutAck = 0;
        while (!inflightLastIndexes.isEmpty() && inflightLastIndexes.peekFirst() <= index) {
            inflightLastIndexes.pollFirst();
        }
        boolean advanced = index > matchIndex;
        if (advanced) {
            matchIndex = index;
        }
        if (nextIndex < matchIndex + 1) {
            nextIndex = matchIndex + 1;
        }
        return advanced;
    }

    public void becomeProbe(long next) {
        mode = Mode.PROBE;
        probeSent = false;
        inflightLastIndexes.clear();
        nextIndex = Math.max(matchIndex + 1, next);
        snapshotIndex = 0;
        snapshotOffset = 0;
        snapshotChunkInflight = false;
    }

    /**
     * The follower's log ends at {@code logEndIndex}, below what it acknowledged: it lost its log
     * (a replaced disk, a voter rejoining with a new directory). Its match index falls back to what
     * it has now (the leader must not count entries it no longer holds) and probing restarts there.
     */
    public void resetAfterLostLog(long logEndIndex) {
        matchIndex = Math.max(0, Math.min(matchIndex, logEndIndex));
        becomeProbe(matchIndex + 1);
    }

    public void becomeReplicate() {
        mode = Mode.REPLICATE;
        probeSent = false;
        inflightLastIndexes.clear();
        nextIndex = matchIndex + 1;
    }

    public void becomeSnapshot(long index) {
        mode = Mode.SNAPSHOT;
        inflightLastIndexes.clear();
        snapshotIndex = index;
        snapshotOffset = 0;
        snapshotChunkInflight = false;
    }

    public long snapshotIndex() {
        return snapshotIndex;
    }

    public int snapshotOffset() {
        return snapshotOffset;
    }

    public void snapshotChunkSent() {
        snapshotChunkInflight = true;
    }

    public boolean snapshotChunkInflight() {
        return snapshotChunkInflight;
    }

    public void snapshotChunkAcked(int nextOffset) {
        snapshotOffset = nextOffset;
        snapshotChunkInflight = false;
        heartbeatsWithoutAck = 0;
    }

    /**
     * Called once per heartbeat round. Returns for how many consecutive rounds appends were in
     * flight without the match index moving: that reveals lost pipelined appends, which the caller
     * then resends by probing (a successful heartbeat alone would never repair the gap).
     */
    public int heartbeatRound() {
        probeSent = false;
        snapshotChunkInflight = false;
        heartbeatsWithoutAck++;
        if (!inflightLastIndexes.isEmpty() && matchIndex == matchAtLastRound) {
            stalledRounds++;
        } else {
            stalledRounds = 0;
        }
        matchAtLastRound = matchIndex;
        return stalledRounds;
    }

    public void markActive() {
        recentActive = true;
    }

    /** Whether the peer was heard from since the flag was last taken, leaving it as it is. */
    public boolean recentActive() {
        return recentActive;
    }

    /** Returns whether the peer was heard from since the last call, and clears the flag. */
    public boolean takeRecentActive() {
        boolean was = recentActive;
        recentActive = false;
        return was;
    }

    public long readAckSeq() {
        return readAckSeq;
    }

    public void ackRead(long seq) {
        readAckSeq = Math.max(readAckSeq, seq);
    }

    @Override
    public String toString() {
        return "Progress(" + nodeId + " " + mode + " match=" + matchIndex + " next=" + nextIndex
                + " inflight=" + inflightLastIndexes.size() + ")";
    }
}

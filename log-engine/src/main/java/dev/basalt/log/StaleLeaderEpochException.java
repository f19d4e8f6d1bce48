package dev.basalt.log;

/**
 * An append or epoch assignment named a leader epoch older than the latest this log already holds
 * (a deposed leader still appending, or a follower fed batches from before its truncation point).
 * The log refuses it rather than drop the newer epoch's entries: offsets of the newer epoch may
 * already be acknowledged. Nothing was written. Maps to protocol error {@code FENCED_LEADER_EPOCH}.
 * Immutable; thread-safe.
 */
public class StaleLeaderEpochException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int staleEpoch;
    private final int latestEpoch;

    public StaleLeaderEpochException(String where, int staleEpoch, int latestEpoch) {
        super("leader epoch " + staleEpoch + " is older than the latest epoch " + latestEpoch + " of " + where);
        this.staleEpoch = staleEpoch;
        this.latestEpoch = latestEpoch;
    }

    public int staleEpoch() {
        return staleEpoch;
    }

    public int latestEpoch() {
        return latestEpoch;
    }
}

package dev.basalt.broker.lag.state;

/**
 * A partition's status as Burrow's evaluator decides it, plus {@link #DATA_LOSS} and {@link #PAST_LOG_END}. Declared from
 * least to most severe: a group's status is its worst partition's.
 */
public enum PartitionStatus {
    /** Lag within the allowed lag, or moving the right way. */
    OK,
    /** Lag grew (never decreased) at every commit in the window. */
    WARN,
    /** Commits continue but the offset does not move while there is lag. */
    STALL,
    /** The committed offset went backwards and stayed below where it was. */
    REWIND,
    /** No commit for longer than the window spans, with lag, not caught up at the last commit. */
    STOP,
    /** Beyond Burrow: the committed offset is below the log start offset — retention deleted unread records. */
    DATA_LOSS,
    /**
     * Beyond Burrow: the committed offset has stayed above the log end offset (the high watermark)
     * for longer than that can be stale: committed by hand, or the log was cut back by an unclean
     * election, and the next fetch from it is out of range (the consumer's auto.offset.reset
     * decides where it reads); or a high watermark held back (an ISR below min.insync.replicas).
     */
    PAST_LOG_END,
    /**
     * Not judged: the partition's log end cannot be read now (it has no leader, or its leader has
     * not answered lately), so its lag is unknown. Found probing: such a partition read OK, and a
     * group whose partitions had all lost their leader read as caught up.
     */
    UNKNOWN;

    /**
     * The status a group shows for this partition status (Burrow reports STOP, STALL, REWIND as
     * ERR). UNKNOWN shows as WARN: the monitor cannot vouch for the group, and a consumer cannot
     * read a partition without a leader either.
     */
    public GroupStatus groupStatus() {
        return switch (this) {
            case OK -> GroupStatus.OK;
            case WARN, UNKNOWN -> GroupStatus.WARN;
            default -> GroupStatus.ERR;
        };
    }
}

package dev.basalt.broker.lag.state;

/**
 * One offset commit as the lag evaluator keeps it (Burrow's window entry).
 *
 * @param offset      the committed offset
 * @param timestampMs when the coordinator accepted it
 * @param lag         the partition's log end offset then minus the committed offset, floored at 0;
 *                    {@link #UNKNOWN_LAG} for a commit replayed from the log by a new coordinator
 *                    (the log end at that time was not recorded)
 *
 * <p>Immutable value; thread-safe.
 */
public record Commit(long offset, long timestampMs, long lag) {
    /** The lag of a commit whose log end at the time is not known. */
    public static final long UNKNOWN_LAG = -1;

    public Commit {
        if (offset < 0 || lag < UNKNOWN_LAG) {
            throw new IllegalArgumentException("offset " + offset + " must be >= 0 and lag " + lag + " >= 0 or unknown (-1)");
        }
    }

    public boolean lagKnown() {
        return lag != UNKNOWN_LAG;
    }
}

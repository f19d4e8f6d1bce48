package dev.basalt.broker.lag.state;

/**
 * One offset commit as the lag evaluator keeps it (Burrow's window entry).
 *
 * @param offset      the committed offset
 * @param timestampMs when the coordinator accepted it
 * @param lag         the partition's log end offset then minus the committed offset, floored at 0
 *
 * <p>Immutable value; thread-safe.
 */
public record Commit(long offset, long timestampMs, long lag) {
    public Commit {
        if (offset < 0 || lag < 0) {
            throw new IllegalArgumentException("offset " + offset + " and lag " + lag + " must be >= 0");
        }
    }
}

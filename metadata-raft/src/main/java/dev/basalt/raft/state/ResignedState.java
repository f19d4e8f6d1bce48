package dev.basalt.raft.state;

/**
 * A former leader that gave up leadership in its term without a newer term appearing: it was
 * removed from the voters (dissertation §4.2.2, it steps down once the removal commits) or is
 * shutting down. It accepts no proposals and never campaigns; a message of a newer term moves it
 * on. Immutable.
 */
public final class ResignedState implements EpochState {
    private final long term;
    private final int votedFor;

    ResignedState(long term, int votedFor) {
        this.term = term;
        this.votedFor = votedFor;
    }

    @Override
    public long term() {
        return term;
    }

    @Override
    public int votedFor() {
        return votedFor;
    }

    @Override
    public int leaderId() {
        return NO_LEADER;
    }

    @Override
    public long electionDeadlineMs() {
        return Long.MAX_VALUE;
    }

    @Override
    public String name() {
        return "Resigned";
    }

    @Override
    public String toString() {
        return "Resigned(term=" + term + ")";
    }
}

package dev.basalt.broker.lag.state;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The last {@code lag.window.commits} commits of one partition of one group (Burrow's ring).
 *
 * <p>Thread-safety: not thread-safe; its owner serializes calls.
 */
public final class CommitWindow {
    private final int capacity;
    private final ArrayDeque<Commit> commits;

    public CommitWindow(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("window of " + capacity + " commits");
        }
        this.capacity = capacity;
        this.commits = new ArrayDeque<>(capacity);
    }

    public void add(Commit c) {
        if (commits.size() == capacity) {
            commits.pollFirst();
        }
        commits.addLast(c);
    }

    /** Oldest first. */
    public List<Commit> commits() {
        return new ArrayList<>(commits);
    }

    public boolean isEmpty() {
        return commits.isEmpty();
    }

    public Commit last() {
        return commits.peekLast();
    }

    /** How full the window is, 0 to 1 (Burrow's {@code complete}). */
    public double complete() {
        return (double) commits.size() / capacity;
    }
}

package dev.basalt.raft.driver;

/**
 * Definite failure: the request was not executed because this node is not the leader (or is
 * handing leadership over, or an entry of another leader took the proposal's place). Safe to
 * retry, at {@link #leaderHint()} if known. Immutable, thread-safe.
 */
public final class NotLeaderException extends RaftException {
    private static final long serialVersionUID = 1L;
    private final int leaderHint;

    public NotLeaderException(String message, int leaderHint) {
        super(message + (leaderHint >= 0 ? " (leader hint: " + leaderHint + ")" : " (leader unknown)"));
        this.leaderHint = leaderHint;
    }

    /** The node believed to lead, or -1 when unknown. */
    public int leaderHint() {
        return leaderHint;
    }
}

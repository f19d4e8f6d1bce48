package dev.basalt.client;

import java.util.OptionalInt;

/**
 * The broker asked is not the partition's leader; nothing was appended or read. Definite and
 * retriable after a metadata refresh. Carries the broker's hint of the current leader when it
 * knows one.
 *
 * <p>Thread-safety: immutable.
 */
public class NotLeaderException extends DefiniteException {
    private static final long serialVersionUID = 1L;
    private final int leaderIdHint;
    private final int leaderEpochHint;

    /**
     * @param leaderIdHint    the broker believed to lead now, or -1 when unknown
     * @param leaderEpochHint that leader's epoch, or -1 when unknown
     */
    public NotLeaderException(String message, int leaderIdHint, int leaderEpochHint) {
        super(message, true);
        this.leaderIdHint = leaderIdHint;
        this.leaderEpochHint = leaderEpochHint;
    }

    /** The id of the broker that leads the partition now, if the answering broker knew it. */
    public OptionalInt leaderIdHint() {
        return leaderIdHint < 0 ? OptionalInt.empty() : OptionalInt.of(leaderIdHint);
    }

    /** The leader epoch of {@link #leaderIdHint()}, if known. */
    public OptionalInt leaderEpochHint() {
        return leaderEpochHint < 0 ? OptionalInt.empty() : OptionalInt.of(leaderEpochHint);
    }
}

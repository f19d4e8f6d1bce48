package dev.basalt.client;

/**
 * An offset commit the group coordinator refused: the consumer's member epoch is stale (it was
 * fenced or its assignment moved on) or it is not a member any more. Nothing was committed; the
 * partitions may belong to another member by now.
 *
 * <p>Thread-safety: immutable.
 */
public class CommitFailedException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public CommitFailedException(String message) {
        super(message, false);
    }
}

package dev.basalt.client;

/**
 * The consumer group does not exist (no members and no committed offsets, or deleted). Definite; not
 * retriable.
 *
 * <p>Thread-safety: immutable.
 */
public class GroupNotFoundException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public GroupNotFoundException(String message) {
        super(message, false);
    }
}

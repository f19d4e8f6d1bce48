package dev.basalt.client;

/**
 * The group has members, so an administrative change that needs it empty (an offset reset, its
 * deletion) was refused: nothing was changed. The message says what to do (stop its consumers, or
 * wait for the sessions of static members that left). Definite; not retriable as it stands.
 *
 * <p>Thread-safety: immutable.
 */
public class GroupNotEmptyException extends DefiniteException {
    private static final long serialVersionUID = 1L;

    public GroupNotEmptyException(String message) {
        super(message, false);
    }
}

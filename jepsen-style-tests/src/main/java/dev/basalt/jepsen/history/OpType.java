package dev.basalt.jepsen.history;

/**
 * The four kinds of history entries, as in Jepsen: an {@code INVOKE} opens an operation; exactly
 * one of {@code OK} (it happened), {@code FAIL} (it definitely did not happen) or {@code INFO}
 * (indeterminate: it may or may not have happened, e.g. a timeout) closes it. Nemesis entries are
 * {@code INFO} (a fault has no success or failure the checker may rely on).
 *
 * <p>Thread-safety: immutable enum.
 */
public enum OpType {
    INVOKE, OK, FAIL, INFO;

    public String jsonName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

package dev.basalt.raft.core;

/**
 * One membership change (dissertation §4.1: one server at a time, so old and new majorities always
 * overlap). Immutable.
 */
public record ConfigChange(Kind kind, int nodeId) {
    public enum Kind { ADD_VOTER, REMOVE_VOTER, ADD_OBSERVER, REMOVE_OBSERVER }

    public ConfigChange {
        if (kind == null || nodeId < 0) {
            throw new IllegalArgumentException("bad configuration change " + kind + " " + nodeId);
        }
    }
}

package dev.basalt.raft.log;

import java.util.Objects;
import java.util.Set;

/**
 * Describes a state-machine snapshot (Raft paper §7): it replaces every entry up to and including
 * {@code lastIndex}, whose term was {@code lastTerm}, and carries the voter/observer configuration
 * in force at that index (the configuration lives in the log, §6, so compaction must keep it).
 */
public record SnapshotMeta(long lastIndex, long lastTerm, Set<Integer> voters, Set<Integer> observers) {
    public static final SnapshotMeta NONE = new SnapshotMeta(0, 0, Set.of(), Set.of());

    public SnapshotMeta {
        Objects.requireNonNull(voters, "voters");
        Objects.requireNonNull(observers, "observers");
        voters = Set.copyOf(voters);
        observers = Set.copyOf(observers);
        if (lastIndex < 0 || lastTerm < 0) {
            throw new IllegalArgumentException("negative index or term");
        }
    }
}

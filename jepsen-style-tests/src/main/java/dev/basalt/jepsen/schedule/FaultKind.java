package dev.basalt.jepsen.schedule;

/**
 * The faults a schedule can contain; each maps to one nemesis class in
 * {@code dev.basalt.jepsen.nemesis}. Targets are resolved when the fault starts (the leader of a
 * partition, the active controller), using the fault step's {@code choice} wherever a choice
 * among nodes is needed, so a schedule replays the same decisions on the same cluster state.
 *
 * <p>Not here, and why: a clock nemesis needs a test-only clock offset in the node (BasaltNode
 * uses {@code Clock.systemUTC()} with no hook; the broker module is not this module's to change);
 * lost unfsynced writes need the log engine's and Raft store's test-only file layer to be
 * selectable by a system property in a node process.
 *
 * <p>Operations under load (issue 14): {@link #ROLLING_RESTART}, {@link #CONTROLLED_SHUTDOWN},
 * {@link #VOTER_CHANGE} (through the active controller's {@code /quorum/remove-voter} and
 * {@code /quorum/add-voter}), {@link #REASSIGN} and {@link #LEADER_ELECTION} (through the Admin
 * API). They are operator actions, not failures: the workload must see nothing worse than
 * retriable errors, and an action the cluster refuses in its current state is recorded in the
 * nemesis op, not forced.
 *
 * <p>Thread-safety: immutable enum.
 */
public enum FaultKind {
    KILL_ONE("kill-9 one node, restart on heal"),
    KILL_MAJORITY("kill-9 a majority, restart on heal"),
    KILL_LEADER("kill-9 the leader of a partition, restart on heal"),
    KILL_CONTROLLER("kill-9 the active controller, restart on heal"),
    KILL_ALL("kill-9 every node, restart all on heal"),
    PAUSE_ONE("SIGSTOP one node, SIGCONT on heal"),
    PAUSE_MAJORITY("SIGSTOP a majority, SIGCONT on heal"),
    PAUSE_LEADER("SIGSTOP the leader of a partition, SIGCONT on heal"),
    PAUSE_CONTROLLER("SIGSTOP the active controller, SIGCONT on heal"),
    PARTITION_HALVES("cut the nodes into two halves"),
    PARTITION_ISOLATE_ONE("isolate one node from the others"),
    PARTITION_ONE_WAY("one node's packets to the others dropped; it still hears them"),
    PARTITION_RING("majorities ring: each node reaches only its neighbours"),
    CORRUPT_MINORITY("kill-9 a minority, flip a bit in or truncate one of its segment files, restart on heal"),
    // operations under load
    ROLLING_RESTART("graceful restart (SIGTERM, exit, restart, ready, back in every ISR) of every node in turn"),
    CONTROLLED_SHUTDOWN("graceful stop of the leader of a partition or the active controller, restart on heal"),
    VOTER_CHANGE("remove a follower voter from the Raft quorum, add it back on heal"),
    REASSIGN("move a partition of the workload off one of its replicas (RF 3 to 2), back onto it on heal"),
    LEADER_ELECTION("reorder a partition's replicas so another is preferred and run a preferred-leader election; back on heal");

    private final String description;

    FaultKind(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** The nemesis family, for coverage reports: kill, pause, partition, corrupt, ops (operations under load). */
    public String family() {
        if (compareTo(ROLLING_RESTART) >= 0 && compareTo(LEADER_ELECTION) <= 0) {
            return "ops";
        }
        return name().substring(0, name().indexOf('_')).toLowerCase(java.util.Locale.ROOT);
    }

    public boolean needsNetfilter() {
        return name().startsWith("PARTITION_");
    }

    public String jsonName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    public static FaultKind ofJson(String s) {
        return valueOf(s.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
    }
}

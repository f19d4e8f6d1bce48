package dev.basalt.jepsen.schedule;

/**
 * The faults a schedule can contain; each maps to one nemesis class in
 * {@code dev.basalt.jepsen.nemesis}. Targets are resolved when the fault starts (the leader of a
 * partition, the active controller), using the fault step's {@code choice} wherever a choice
 * among nodes is needed, so a schedule replays the same decisions on the same cluster state.
 *
 * <p>Storage and clock faults (the block after {@code // storage and clock faults}) need test-only
 * hooks in the node, switched on per run by {@link #nodeJvmOptions()} and driven over the node's
 * standard input (see {@code dev.basalt.broker.testsupport.TestHooks}): {@code lost-unfsynced-*}
 * use the lazyfs file layer ({@code -Dbasalt.test.lazyfs=true}: a crash discards every write not
 * fsynced), {@code clock-*} the offset wall clock ({@code -Dbasalt.test.clock=true}).
 * {@code corrupt-index} and {@code corrupt-raft-log} damage files of a stopped node, as
 * {@code corrupt-minority} does with segments.
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
    LEADER_ELECTION("reorder a partition's replicas so another is preferred and run a preferred-leader election; back on heal"),

    // storage and clock faults
    LOST_UNFSYNCED_ONE("crash one node losing every write it did not fsync (lazyfs), restart on heal"),
    LOST_UNFSYNCED_ALL("crash every node losing every write it did not fsync (lazyfs), restart all on heal"),
    CORRUPT_INDEX("kill-9 a minority, flip a bit in or truncate one of its RocksDB index files, restart on heal"),
    CORRUPT_RAFT_LOG("kill-9 a minority, flip a bit in or truncate the tail of its Raft log, restart on heal"),
    CLOCK_JUMP("one node's wall clock jumps forward or back by 5 s to 10 min, reset on heal"),
    CLOCK_SKEW("wall clocks skewed: a fixed offset per node, or one node strobing between two offsets, reset on heal");

    private final String description;

    FaultKind(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }

    /** The nemesis family, for coverage reports: kill, pause, partition, corrupt, ops (operations under load), lost (unfsynced), clock. */
    public String family() {
        if (compareTo(ROLLING_RESTART) >= 0 && compareTo(LEADER_ELECTION) <= 0) {
            return "ops";
        }
        return name().substring(0, name().indexOf('_')).toLowerCase(java.util.Locale.ROOT);
    }

    public boolean needsNetfilter() {
        return name().startsWith("PARTITION_");
    }

    /** The node option that puts the lazyfs layer under its files. */
    public static final String LAZYFS_OPTION = "-Dbasalt.test.lazyfs=true";
    /** segment.bytes of runs with the lazyfs layer (see JepsenRun): 8 MiB, room for the largest batch. */
    public static final int LAZYFS_SEGMENT_BYTES = 8 << 20;

    /**
     * System properties the nodes need for this fault: the test-only lazyfs file layer or offset
     * clock (see {@code dev.basalt.broker.testsupport.TestHooks}); none for the others.
     */
    public java.util.List<String> nodeJvmOptions() {
        if (name().startsWith("LOST_UNFSYNCED_")) {
            return java.util.List.of(LAZYFS_OPTION);
        }
        if (name().startsWith("CLOCK_")) {
            return java.util.List.of("-Dbasalt.test.clock=true");
        }
        return java.util.List.of();
    }

    public String jsonName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    public static FaultKind ofJson(String s) {
        return valueOf(s.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
    }
}

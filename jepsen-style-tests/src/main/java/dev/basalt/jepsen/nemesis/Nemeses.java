package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import dev.basalt.jepsen.schedule.FaultStep;
import java.time.Duration;

/**
 * Builds the nemesis of a schedule's fault step. Targets are resolved when the nemesis starts.
 *
 * <p>Thread-safety: stateless.
 */
public final class Nemeses {
    private Nemeses() {
    }

    public static Nemesis of(FaultStep step, Cluster cluster, String topic, int partitions, Duration readyTimeout) {
        int c = step.choice();
        return switch (step.kind()) {
            case KILL_ONE -> new KillNemesis(cluster, "one node", () -> Targets.one(cluster, c), readyTimeout);
            case KILL_MAJORITY -> new KillNemesis(cluster, "a majority", () -> Targets.majority(cluster, c), readyTimeout);
            case KILL_LEADER -> {
                StringBuilder why = new StringBuilder();
                yield new KillNemesis(cluster, why, () -> Targets.leader(cluster, topic, partitions, c, why), readyTimeout);
            }
            case KILL_CONTROLLER -> {
                StringBuilder why = new StringBuilder();
                yield new KillNemesis(cluster, why, () -> Targets.controller(cluster, c, why), readyTimeout);
            }
            case KILL_ALL -> new KillNemesis(cluster, "every node", cluster::nodeIds, readyTimeout);
            case PAUSE_ONE -> new PauseNemesis(cluster, "one node", () -> Targets.one(cluster, c));
            case PAUSE_MAJORITY -> new PauseNemesis(cluster, "a majority", () -> Targets.majority(cluster, c));
            case PAUSE_LEADER -> {
                StringBuilder why = new StringBuilder();
                yield new PauseNemesis(cluster, why, () -> Targets.leader(cluster, topic, partitions, c, why));
            }
            case PAUSE_CONTROLLER -> {
                StringBuilder why = new StringBuilder();
                yield new PauseNemesis(cluster, why, () -> Targets.controller(cluster, c, why));
            }
            case PARTITION_HALVES, PARTITION_ISOLATE_ONE, PARTITION_ONE_WAY, PARTITION_RING ->
                    new PartitionNemesis(cluster, step.kind(), c);
            case CORRUPT_MINORITY -> new CorruptNemesis(cluster, topic, c, readyTimeout);
            // operations under load
            case ROLLING_RESTART -> new RollingRestartNemesis(cluster, topic, partitions, c, readyTimeout);
            case CONTROLLED_SHUTDOWN -> new ControlledShutdownNemesis(cluster, topic, partitions, c, readyTimeout);
            case VOTER_CHANGE -> new VoterChangeNemesis(cluster, c);
            case REASSIGN -> new ReassignNemesis(cluster, topic, partitions, c, readyTimeout);
            case LEADER_ELECTION -> new LeaderElectionNemesis(cluster, topic, partitions, c, readyTimeout);
            // storage and clock faults
            case LOST_UNFSYNCED_ONE -> new LostUnfsyncedNemesis(cluster, "one node", () -> Targets.one(cluster, c), readyTimeout);
            case LOST_UNFSYNCED_ALL -> new LostUnfsyncedNemesis(cluster, "every node", cluster::nodeIds, readyTimeout);
            case CORRUPT_INDEX -> new CorruptNemesis(CorruptNemesis.Target.INDEX, cluster, topic, c, readyTimeout);
            case CORRUPT_RAFT_LOG -> new CorruptNemesis(CorruptNemesis.Target.RAFT_LOG, cluster, topic, c, readyTimeout);
            case CLOCK_JUMP, CLOCK_SKEW -> new ClockNemesis(cluster, step.kind(), c);
        };
    }
}

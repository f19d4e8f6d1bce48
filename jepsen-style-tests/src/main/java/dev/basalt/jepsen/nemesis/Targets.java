package dev.basalt.jepsen.nemesis;

import dev.basalt.harness.Cluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves a fault step's targets on the running cluster. Choices among nodes come from the
 * step's {@code choice} (not from the clock), so a replay makes the same choice whenever the
 * cluster is in the same state; targets that depend on state (a partition's leader, the active
 * controller) are asked of the cluster when the fault starts.
 *
 * <p>Thread-safety: stateless.
 */
final class Targets {
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);

    private Targets() {
    }

    static List<Integer> one(Cluster c, int choice) {
        List<Integer> ids = c.nodeIds();
        return List.of(ids.get(choice % ids.size()));
    }

    /** ⌊n/2⌋+1 nodes, consecutive (rotating) from the chosen one. */
    static List<Integer> majority(Cluster c, int choice) {
        return rotated(c, choice).subList(0, c.nodeIds().size() / 2 + 1);
    }

    /** The node ids rotated so the chosen one is first. */
    static List<Integer> rotated(Cluster c, int choice) {
        List<Integer> ids = c.nodeIds();
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            out.add(ids.get((choice + i) % ids.size()));
        }
        return out;
    }

    /** The leader of partition (choice mod partitions) of {@code topic}, or one chosen node when it has none now. */
    static List<Integer> leader(Cluster c, String topic, int partitions, int choice, StringBuilder why) {
        int p = choice % partitions;
        try {
            int leader = c.awaitLeader(topic, p, ASK_TIMEOUT);
            why.append("leader of ").append(topic).append('-').append(p);
            return List.of(leader);
        } catch (RuntimeException e) {
            why.append("no running leader of ").append(topic).append('-').append(p).append(", chosen node");
            return one(c, choice);
        }
    }

    /** The active controller, or one chosen node when none is agreed on now. */
    static List<Integer> controller(Cluster c, int choice, StringBuilder why) {
        try {
            int id = c.activeController(ASK_TIMEOUT);
            why.append("active controller");
            return List.of(id);
        } catch (RuntimeException e) {
            why.append("no agreed active controller, chosen node");
            return one(c, choice);
        }
    }
}

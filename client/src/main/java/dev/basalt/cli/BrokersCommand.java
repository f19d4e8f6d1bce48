package dev.basalt.cli;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.DecommissionProgress;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt brokers --decommission ID | --recommission ID}: drains a broker (its replicas move to
 * other brokers, rack-aware) or puts it back in service. With {@code --wait}, polls until the broker
 * holds nothing and says it can be stopped. Thread-safety: one invocation per instance.
 */
@Command(name = "brokers", mixinStandardHelpOptions = true, description = "Decommission or recommission a broker.")
final class BrokersCommand implements Callable<Integer> {
    /** How often --wait polls the drain. */
    static final long POLL_INTERVAL_MS = 1_000;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Mode mode;

    static final class Mode {
        @Option(names = "--decommission", paramLabel = "ID", description = "Move every replica and leadership off the broker.")
        Integer decommission;
        @Option(names = "--recommission", paramLabel = "ID", description = "Put a decommissioned broker back in service.")
        Integer recommission;
    }

    @Option(names = "--wait", description = "With --decommission: wait until the broker can be stopped.")
    boolean await;
    @Option(names = "--timeout-ms", defaultValue = "30000", description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    /**
     * When the node is also a voter of the metadata quorum (a combined node), what stopping it does
     * to the quorum (found probing: "it can be stopped" said nothing of it, and a second such stop
     * loses the majority); empty otherwise, or when the quorum cannot be described now.
     */
    private static String voterNote(Admin admin, AdminWait t, int nodeId) {
        try {
            dev.basalt.client.admin.QuorumDescription q = t.get(admin.describeQuorum());
            int voters = q.voters().size();
            if (q.voters().stream().noneMatch(v -> v.replicaId() == nodeId)) {
                return "";
            }
            if (voters == 1) {
                return " It is also the metadata quorum's only voter: the cluster stops with it. Add another voter"
                        + " (POST /quorum/add-voter, docs/operations.md) before retiring it.";
            }
            int majority = voters / 2 + 1;
            // Running: the leader, and voters it heard from lately (lag known); another node's
            // answer knows no voter's lag, and then all are taken as up.
            boolean leaderAnswered = q.voters().stream().anyMatch(v -> v.replicaId() != q.leaderId() && v.lag() >= 0);
            long left = q.voters().stream().filter(v -> v.replicaId() != nodeId)
                    .filter(v -> !leaderAnswered || v.replicaId() == q.leaderId() || v.lag() >= 0).count();
            String effect = left < majority ? ", too few for a majority: the cluster stops taking writes until it is back"
                    : left == majority ? ", just a majority: no other voter may stop while it is down" : "";
            return " It is also a voter of the metadata quorum (" + voters + " voters, a majority is " + majority + "): stopping it"
                    + " leaves " + left + (leaderAnswered ? " running" : "") + effect + ". To retire it for good, remove it"
                    + " from the quorum first (POST /quorum/remove-voter?id=" + nodeId + ", docs/operations.md).";
        } catch (RuntimeException e) {
            return "";
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, BasaltCli.adminTimeouts(timeoutMs)))) {
            AdminWait t = new AdminWait(timeoutMs);
            if (mode.recommission != null) {
                boolean wasDecommissioned = t.get(admin.describeCluster(true)).brokers().stream()
                        .filter(b -> b.id() == mode.recommission).anyMatch(b -> b.decommissioned());
                DecommissionProgress p = t.get(admin.recommissionBroker(mode.recommission));
                root.out.println(wasDecommissioned ? "Broker " + p.brokerId() + " is in service again."
                        : "Broker " + p.brokerId() + " was not decommissioned: it was in service already.");
                return BasaltCli.OK;
            }
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (true) {
                DecommissionProgress p = t.get(admin.decommissionBroker(mode.decommission));
                if (p.canStop()) {
                    root.out.println("Broker " + p.brokerId() + " holds no replica: it can be stopped." + voterNote(admin, t, p.brokerId()));
                    return BasaltCli.OK;
                }
                root.out.println("Broker " + p.brokerId() + " decommissioned; still holds " + BasaltCli.count(p.replicasRemaining(), "replica")
                        + " and leads " + BasaltCli.count(p.leadersRemaining(), "partition") + ".");
                if (!await) {
                    root.out.println("Run again (or with --wait) to see when it can be stopped.");
                    return BasaltCli.OK;
                }
                if (System.currentTimeMillis() > deadline) {
                    root.err.println("basalt: broker " + p.brokerId() + " still holds replicas after " + timeoutMs + " ms");
                    return BasaltCli.TIMEOUT_OR_UNKNOWN;
                }
                Thread.sleep(POLL_INTERVAL_MS);
            }
        }
    }
}

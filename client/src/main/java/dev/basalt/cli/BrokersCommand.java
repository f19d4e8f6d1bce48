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
                    root.out.println("Broker " + p.brokerId() + " holds no replica: it can be stopped.");
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

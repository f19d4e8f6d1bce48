package dev.basalt.cli;

import dev.basalt.client.Admin;
import dev.basalt.client.admin.LeaderElectionResult;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt leaders --rebalance}: preferred-leader election over every partition, moving
 * leadership only to caught-up in-sync preferred replicas. Thread-safety: one invocation per instance.
 */
@Command(name = "leaders", mixinStandardHelpOptions = true, description = "Balance partition leadership.")
final class LeadersCommand implements Callable<Integer> {
    @Option(names = "--rebalance", required = true, description = "Move leadership back to preferred replicas where safe.")
    boolean rebalance;
    @Option(names = "--timeout-ms", defaultValue = "30000", description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    @Override
    public Integer call() {
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, BasaltCli.adminTimeouts(timeoutMs)))) {
            LeaderElectionResult r = new AdminWait(timeoutMs).get(admin.electPreferredLeaders(List.of()));
            root.out.println("Moved leadership of " + BasaltCli.count(r.elected().size(), "partition") + " to their preferred replica; "
                    + BasaltCli.count(r.notPreferredRemaining(), "partition") + (r.notPreferredRemaining() == 1 ? " is" : " are")
                    + " still led by another replica"
                    + (r.notPreferredRemaining() > 0 ? " (not caught up, or the limit per call: run again)" : "") + ".");
            return BasaltCli.OK;
        }
    }
}

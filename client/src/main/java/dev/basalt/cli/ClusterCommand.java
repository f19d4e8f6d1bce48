package dev.basalt.cli;

import dev.basalt.client.admin.BrokerDescription;
import dev.basalt.client.admin.ClusterDescription;
import dev.basalt.client.admin.QuorumDescription;
import dev.basalt.client.admin.QuorumReplica;
import dev.basalt.client.Admin;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt cluster}: the cluster id, the brokers (id, host:port, rack, running / fenced, and
 * decommissioned, roles), the active controller, and the metadata quorum's voters and observers
 * with their log end offset and lag behind the quorum leader. Thread-safety: one invocation per instance.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true, description = "Show brokers, the controller and the metadata quorum.")
final class ClusterCommand implements Callable<Integer> {
    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    /** Printed by `cluster` and `topics --describe` when the answering broker knows no active controller. */
    static final String NO_CONTROLLER_WARNING = "WARNING: no active controller (the metadata quorum has no leader, e.g. a majority of"
            + " its voters is down): broker states, leaders and ISRs shown are the last this broker knows and may be stale;"
            + " nothing that needs the controller (topic changes, leader elections, ISR changes) happens until a majority is back.";

    @Override
    public Integer call() {
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, Map.of("default.api.timeout.ms", String.valueOf(timeoutMs))))) {
            AdminWait t = new AdminWait(timeoutMs);
            ClusterDescription c = t.get(admin.describeCluster(true));
            root.out.println("Cluster ID: " + c.clusterId());
            boolean noController = c.controllerId() < 0;
            root.out.println("Controller: " + (noController ? "none" : c.controllerId()));
            if (noController) {
                root.out.println(NO_CONTROLLER_WARNING);
            }
            root.out.println();
            String row = noController ? "%-6s %-28s %-10s %-36s %s%n" : "%-6s %-28s %-10s %-24s %s%n";
            root.out.printf(row, "ID", "HOST:PORT", "RACK", "STATE", "ROLES");
            for (BrokerDescription b : c.brokers()) {
                String state = (b.fenced() ? "fenced" : b.shuttingDown() ? "shutting-down" : "running")
                        + (b.decommissioned() ? ",decommissioned" : "") + (noController ? " (last known)" : "");
                String roles = String.join(",", b.roles()) + (b.id() == c.controllerId() ? " (active controller)" : "");
                root.out.printf(row, String.valueOf(b.id()), hostPort(b.host(), b.port()),
                        b.rack().isEmpty() ? "-" : b.rack(), state, roles);
            }
            boolean anyOffline = c.brokers().stream().anyMatch(b -> !b.offlineReplicas().isEmpty());
            if (anyOffline) {
                root.out.println();
                root.out.println("Offline replicas (storage faults reported by their brokers):");
                root.out.printf("%-6s %-40s %s%n", "BROKER", "PARTITION", "REASON");
                for (BrokerDescription b : c.brokers()) {
                    for (BrokerDescription.OfflineReplica r : b.offlineReplicas()) {
                        root.out.printf("%-6d %-40s %s%n", b.id(), r.topic() + "-" + r.partition(),
                                r.reason().isEmpty() ? "-" : r.reason());
                    }
                }
            }
            printStorage(admin, c, t);
            QuorumDescription q = t.get(admin.describeQuorum());
            root.out.println();
            root.out.println("Metadata quorum: leader " + (q.leaderId() < 0 ? "none" : q.leaderId()) + ", term " + q.term()
                    + ", high watermark " + q.highWatermark());
            root.out.printf("%-9s %-6s %-16s %-8s %-16s %s%n", "ROLE", "ID", "LOG-END-OFFSET", "LAG", "LAST-FETCH", "LAST-CAUGHT-UP");
            long now = System.currentTimeMillis();
            print(q.voters(), q.leaderId(), "voter", false, now);
            print(q.observers(), q.leaderId(), "observer", true, now);
            for (QuorumReplica r : q.voters()) {
                String note = notReporting(r, "voter", now);
                if (note != null) {
                    root.out.println(note);
                }
            }
            for (QuorumReplica r : q.observers()) {
                String note = notReporting(r, "observer", now);
                if (note != null) {
                    root.out.println(note);
                }
            }
        }
        return BasaltCli.OK;
    }

    /**
     * Each running broker's own storage: free space, scrubbing progress and findings (asked at its
     * address). Every broker is asked at once and the answers share one deadline: asked one after
     * another, each broker that was down cost a whole timeout (found in a test: two dead brokers in
     * a last-known view made {@code basalt cluster} take 20 s).
     */
    private void printStorage(Admin admin, ClusterDescription c, AdminWait t) {
        Map<Integer, java.util.concurrent.CompletableFuture<dev.basalt.client.admin.StorageDescription>> asked =
                new java.util.LinkedHashMap<>();
        for (BrokerDescription b : c.brokers()) {
            if (!b.fenced()) {
                asked.put(b.id(), admin.describeStorage(b.host(), b.port()));
            }
        }
        try {
            java.util.concurrent.CompletableFuture.allOf(asked.values().toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(t.waitMs(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // each broker's own outcome is printed below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        root.out.println();
        root.out.printf("%-6s %-14s %-22s %-8s %-14s %s%n", "BROKER", "FREE", "SCRUB-VERIFIED", "PASSES", "CORRUPT-FOUND",
                "DIRECTORY");
        List<String> notes = new java.util.ArrayList<>();
        for (BrokerDescription b : c.brokers()) {
            if (b.fenced()) {
                root.out.printf("%-6d %s%n", b.id(), "(fenced: not asked)");
                continue;
            }
            java.util.concurrent.CompletableFuture<dev.basalt.client.admin.StorageDescription> answer = asked.get(b.id());
            if (!answer.isDone()) {
                root.out.printf("%-6d %s%n", b.id(), "(no answer within " + t.timeoutMs() + " ms)");
                continue;
            }
            try {
                dev.basalt.client.admin.StorageDescription s = Admin.get(answer, Duration.ZERO);
                String scrub = s.scrubBytesPerSecond() == 0 ? "off" : bytes(s.scrubBytesVerified()) + " at "
                        + bytes(s.scrubBytesPerSecond()) + "/s";
                root.out.printf("%-6d %-14s %-22s %-8d %-14d %s%n", b.id(), s.usableBytes() < 0 ? "?" : bytes(s.usableBytes()),
                        scrub, s.scrubPassesCompleted(), s.scrubCorruptBatchesFound() + s.readCorruptBatchesFound()
                                + s.startupCorruptPartitionsFound(),
                        directoryState(s));
                for (BrokerDescription.OfflineReplica o : s.refusingAppends()) {
                    notes.add("broker " + b.id() + ": " + o.topic() + "-" + o.partition() + " serves reads but refuses appends: "
                            + o.reason());
                }
            } catch (RuntimeException e) {
                root.out.printf("%-6d %s%n", b.id(), "(no answer: " + e.getMessage() + ")");
            }
        }
        if (!notes.isEmpty()) {
            root.out.println();
            root.out.println("Replicas refusing appends (the only copy, cut at corrupt data; see docs/operations.md):");
            notes.forEach(n -> root.out.println("  " + n));
        }
    }

    /**
     * The DIRECTORY column: {@code FAILED} (the directory is out of service), {@code full} (below
     * its free-bytes minimum, or replicas refusing appends for lack of space: appends resume only
     * at 1.5 times the minimum), else {@code ok}. A full broker once read {@code ok} here while it
     * refused every append (found probing).
     */
    static String directoryState(dev.basalt.client.admin.StorageDescription s) {
        if (!s.directoryFailure().isEmpty()) {
            return "FAILED: " + s.directoryFailure();
        }
        boolean belowMin = s.usableBytes() >= 0 && s.usableBytes() < s.freeBytesMin();
        if (belowMin || s.offlineReplicas().stream().anyMatch(BrokerDescription.OfflineReplica::outOfSpaceOnly)) {
            return "full (log.dir.free.bytes.min " + bytes(s.freeBytesMin()) + "): appends refused";
        }
        return "ok";
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /**
     * @param tracked whether absent times mean "never": always for observers (they fetch); for a
     *                voter only when its offset is known, i.e. the Raft leader answered (other nodes
     *                know neither: "-")
     */
    private void print(List<QuorumReplica> replicas, int leaderId, String role, boolean tracked, long nowMs) {
        for (QuorumReplica r : replicas) {
            root.out.printf("%-9s %-6d %-16s %-8s %-16s %s%n", r.replicaId() == leaderId ? "leader" : role, r.replicaId(),
                    known(r.logEndOffset()), lag(r), ago(r.lastFetchTimestampMs(), nowMs, tracked || r.logEndOffset() >= 0),
                    ago(r.lastCaughtUpTimestampMs(), nowMs, tracked || r.logEndOffset() >= 0));
        }
    }

    /**
     * The LAG cell: the lag; "unknown" for a member the leader tracks but has not heard from lately
     * (it is not reporting: its log end offset is the last it reported), "-" where the answering
     * node knows neither. Found probing: a voter down for minutes read lag 0.
     */
    static String lag(QuorumReplica r) {
        return r.lag() >= 0 ? String.valueOf(r.lag()) : r.logEndOffset() >= 0 ? "unknown" : "-";
    }

    /** The line under the quorum table for a member that is not reporting, or null. */
    static String notReporting(QuorumReplica r, String role, long nowMs) {
        if (r.lag() >= 0 || r.logEndOffset() < 0) {
            return null;
        }
        return "Not reporting: " + role + " " + r.replicaId() + " last answered the leader " + ago(r.lastFetchTimestampMs(), nowMs, true)
                + "; its lag is unknown (log end offset " + r.logEndOffset() + " is the last it reported).";
    }

    static String known(long value) {
        return value < 0 ? "-" : String.valueOf(value);
    }

    static String hostPort(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /** "N ms ago"; for a negative (absent) timestamp "never" when the value is tracked, else "-" (unknown). */
    static String ago(long timestampMs, long nowMs, boolean tracked) {
        if (timestampMs < 0) {
            return tracked ? "never" : "-";
        }
        return Math.max(0, nowMs - timestampMs) + " ms ago";
    }
}

package dev.basalt.cli;

import dev.basalt.client.BasaltException;
import dev.basalt.client.Consumer;
import dev.basalt.client.Admin;
import dev.basalt.client.GroupAdmin;
import dev.basalt.client.GroupNotFoundException;
import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.ByteArrayDeserializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt lag}: per group (one with {@code --group}, else all), the total lag in records of
 * its committed partitions, the partition lagging most, and how many partitions its members own
 * without a committed offset (NO-COMMIT: their lag is unknown; TOTAL-LAG is "-" when no owned
 * partition has a commit); {@code --watch} repeats every {@code --interval-ms} until Ctrl-C.
 * Burrow's statuses and lag in seconds are on the coordinators' HTTP port ({@code /v1/groups/G/status}).
 * Thread-safety: one invocation per instance.
 */
@Command(name = "lag", mixinStandardHelpOptions = true, description = "Show consumer group lag.")
final class LagCommand implements Callable<Integer> {
    @Option(names = "--group", description = "Only this group.")
    String group;
    @Option(names = "--watch", description = "Repeat until interrupted.")
    boolean watch;
    @Option(names = "--interval-ms", description = "With --watch (default: " + INTERVAL_MS_DEFAULT + ").")
    Long intervalOption;
    long intervalMs;
    static final long INTERVAL_MS_DEFAULT = 2_000;
    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Per request (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    @Override
    public Integer call() throws InterruptedException {
        if (intervalOption != null && !watch) {
            // found probing: `lag --interval-ms -5` went on to connect, the option ignored in silence
            throw new BasaltCli.UsageException("--interval-ms goes with --watch");
        }
        intervalMs = intervalOption == null ? INTERVAL_MS_DEFAULT : intervalOption;
        if (watch && (intervalMs < INTERVAL_MS_MIN || intervalMs > INTERVAL_MS_MAX)) {
            throw new BasaltCli.UsageException("--interval-ms must be from " + INTERVAL_MS_MIN + " to " + INTERVAL_MS_MAX + ", not "
                    + intervalMs);
        }
        if (timeoutMs <= 0) {
            throw new BasaltCli.UsageException("--timeout-ms must be positive, not " + timeoutMs);
        }
        if (group != null && group.isBlank()) {
            throw new BasaltCli.UsageException("--group must not be empty");
        }
        Map<String, String> timeouts = Map.of("request.timeout.ms", String.valueOf(timeoutMs),
                "default.api.timeout.ms", String.valueOf(timeoutMs));
        try (GroupAdmin admin = new GroupAdmin(root.clientConfig(BasaltCli.ClientKind.ADMIN, timeouts));
             Admin topics = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, timeouts));
             Consumer<byte[], byte[]> c = new Consumer<>(root.clientConfig(BasaltCli.ClientKind.CONSUMER, timeouts),
                     new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            topicsAdmin = topics;
            do {
                List<String> rows;
                try {
                    rows = rows(admin, c);
                } catch (BasaltException e) {
                    if (!watch) {
                        throw e;
                    }
                    // A coordinator failover or an unreachable broker: the watch goes on.
                    root.err.println("basalt: warning: " + e.getMessage().replace('\n', ' ') + " (trying again in " + intervalMs
                            + " ms)");
                    Thread.sleep(intervalMs);
                    continue;
                }
                root.out.printf("%-24s %-12s %-12s %-28s %-8s %s%n", "GROUP", "STATE", "TOTAL-LAG", "MAX-LAG-PARTITION", "MAX-LAG",
                        "NO-COMMIT");
                rows.forEach(root.out::println);
                root.out.flush();
                if (watch) {
                    Thread.sleep(intervalMs);
                    root.out.println();
                }
            } while (watch);
        }
        return BasaltCli.OK;
    }

    /** Shortest --interval-ms: each round asks every coordinator, so a watch must not become a busy loop. */
    static final long INTERVAL_MS_MIN = 100;
    /** Longest --interval-ms (one day): found probing, 99999999999 printed once and then slept for years. */
    static final long INTERVAL_MS_MAX = 86_400_000;

    /**
     * One line per group. Rows first, header after: a failure (an unknown --group) prints only its
     * error, not a bare header. Listing every group, one deleted between the listing and its
     * description is left out with a warning.
     */
    /** For the topics' partition counts (see GroupsCommand#vanished); set while call() runs. */
    private Admin topicsAdmin;

    private List<String> rows(GroupAdmin admin, Consumer<byte[], byte[]> c) {
        List<String> groups = new ArrayList<>();
        if (group != null) {
            groups.add(group);
        } else {
            GroupAdmin.GroupList listed = admin.listGroupsFromEachBroker();
            listed.groups().forEach(g -> groups.add(g.groupId()));
            GroupsCommand.warnUnanswered(root, listed);
        }
        // Every group's description and commits first, then the log ends of all their partitions
        // at once: asked group by group, a partition whose leader does not answer cost the whole
        // timeout once per group (found probing: 10 s per group while one node was stopped).
        List<GroupAdmin.GroupDescription> described = new ArrayList<>();
        List<Map<TopicPartition, OffsetAndMetadata>> commits = new ArrayList<>();
        java.util.Set<TopicPartition> all = new java.util.HashSet<>();
        for (String g : groups) {
            try {
                described.add(admin.describeGroup(g));
            } catch (GroupNotFoundException e) {
                if (group != null) {
                    throw e;
                }
                root.err.println("basalt: warning: group " + g + " was listed but is gone: " + e.getMessage());
                continue;
            }
            Map<TopicPartition, OffsetAndMetadata> committed = new java.util.HashMap<>(admin.committedOffsets(g));
            commits.add(committed);
            all.addAll(committed.keySet());
        }
        // offsets committed for partitions that no longer exist (a deleted topic) are not lag
        java.util.Set<TopicPartition> gone = new java.util.HashSet<>(GroupsCommand.vanished(topicsAdmin, all, Duration.ofMillis(timeoutMs)));
        all.removeAll(gone);
        Map<TopicPartition, Long> ends = c.endOffsetsFound(all, Duration.ofMillis(timeoutMs));
        List<String> rows = new ArrayList<>();
        for (int i = 0; i < described.size(); i++) {
            String g = described.get(i).groupId();
            Map<TopicPartition, OffsetAndMetadata> committed = commits.get(i);
            committed.keySet().removeAll(gone);
            java.util.Set<TopicPartition> unknown = new java.util.TreeSet<>(java.util.Comparator.comparing(TopicPartition::toString));
            committed.keySet().stream().filter(tp -> !ends.containsKey(tp)).forEach(unknown::add);
            if (!unknown.isEmpty()) {
                root.err.println("basalt: warning: group " + g + ": the log end of " + unknown + " is not known now (no leader"
                        + " answered within " + timeoutMs + " ms): their lag is left out of the totals");
            }
            java.util.Set<TopicPartition> owned = new java.util.HashSet<>();
            described.get(i).members().forEach(m -> owned.addAll(m.assignment()));
            rows.add(row(g, described.get(i).state(), committed, ends, owned));
        }
        return rows;
    }

    /**
     * One group's line. Lag per committed partition = end offset − committed offset (floored at 0).
     * Partitions members own without a commit have unknown lag: counted in NO-COMMIT, never as 0.
     */
    static String row(String group, String state, Map<TopicPartition, OffsetAndMetadata> committed, Map<TopicPartition, Long> ends,
                      java.util.Set<TopicPartition> owned) {
        long total = 0;
        long max = -1;
        int known = 0;
        TopicPartition worst = null;
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
            Long end = ends.get(e.getKey());
            if (end == null) {
                continue; // log end not known now (no leader): left out, and said so on stderr
            }
            known++;
            long lag = Math.max(0, end - e.getValue().offset());
            total += lag;
            // the partition named is one with lag (found probing: a group with none named some
            // partition at lag 0); of equal lags the first by name, not by hash order
            if (lag > 0 && (lag > max || (lag == max && e.getKey().compareTo(worst) < 0))) {
                worst = e.getKey();
            }
            max = Math.max(max, lag);
        }
        long noCommit = owned.stream().filter(tp -> !committed.containsKey(tp)).count();
        return String.format("%-24s %-12s %-12s %-28s %-8s %d", BasaltCli.printable(group), state, known == 0 && (noCommit > 0 || !committed.isEmpty()) ? "-"
                        : String.valueOf(total),
                worst == null ? "-" : worst.toString(), known == 0 ? "-" : String.valueOf(max), noCommit);
    }
}

package dev.basalt.cli;

import dev.basalt.client.Consumer;
import dev.basalt.client.GroupAdmin;
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
 * {@code basalt lag}: per group (one with {@code --group}, else all), the total lag in records and
 * the partition lagging most; {@code --watch} repeats every {@code --interval-ms} until Ctrl-C.
 * Burrow's statuses and lag in seconds are on the coordinators' HTTP port ({@code /v1/groups/G/status}).
 * Thread-safety: one invocation per instance.
 */
@Command(name = "lag", mixinStandardHelpOptions = true, description = "Show consumer group lag.")
final class LagCommand implements Callable<Integer> {
    @Option(names = "--group", description = "Only this group.")
    String group;
    @Option(names = "--watch", description = "Repeat until interrupted.")
    boolean watch;
    @Option(names = "--interval-ms", defaultValue = "2000", description = "With --watch (default: ${DEFAULT-VALUE}).")
    long intervalMs;
    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Per request (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    @Override
    public Integer call() throws InterruptedException {
        Map<String, String> timeouts = Map.of("request.timeout.ms", String.valueOf(timeoutMs),
                "default.api.timeout.ms", String.valueOf(timeoutMs));
        try (GroupAdmin admin = new GroupAdmin(root.clientConfig(BasaltCli.ClientKind.ADMIN, timeouts));
             Consumer<byte[], byte[]> c = new Consumer<>(root.clientConfig(BasaltCli.ClientKind.CONSUMER, timeouts),
                     new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            do {
                List<String> groups = new ArrayList<>();
                if (group != null) {
                    groups.add(group);
                } else {
                    admin.listGroups().forEach(g -> groups.add(g.groupId()));
                }
                root.out.printf("%-24s %-12s %-12s %-28s %s%n", "GROUP", "STATE", "TOTAL-LAG", "MAX-LAG-PARTITION", "MAX-LAG");
                for (String g : groups) {
                    String state = admin.describeGroup(g).state();
                    Map<TopicPartition, OffsetAndMetadata> committed = admin.committedOffsets(g);
                    Map<TopicPartition, Long> ends = c.endOffsets(committed.keySet(), Duration.ofMillis(timeoutMs));
                    long total = 0;
                    long max = -1;
                    TopicPartition worst = null;
                    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
                        long lag = Math.max(0, ends.getOrDefault(e.getKey(), e.getValue().offset()) - e.getValue().offset());
                        total += lag;
                        if (lag > max) {
                            max = lag;
                            worst = e.getKey();
                        }
                    }
                    root.out.printf("%-24s %-12s %-12d %-28s %s%n", g, state, total, worst == null ? "-" : worst.toString(),
                            worst == null ? "-" : String.valueOf(max));
                }
                root.out.flush();
                if (watch) {
                    Thread.sleep(intervalMs);
                    root.out.println();
                }
            } while (watch);
        }
        return BasaltCli.OK;
    }
}

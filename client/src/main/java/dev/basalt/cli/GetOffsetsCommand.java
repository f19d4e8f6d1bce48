package dev.basalt.cli;

import dev.basalt.client.Admin;
import dev.basalt.client.Consumer;
import dev.basalt.client.InvalidPartitionException;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.PartitionDescription;
import dev.basalt.client.admin.TopicDescription;
import dev.basalt.client.serialization.ByteArrayDeserializer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt get-offsets}: partitions' offsets, in the spirit of kafka-get-offsets.sh — the log
 * end (high watermark: {@code --time -1}, the default), the log start ({@code -2}), or the first
 * offset whose record timestamp is at or after a time (epoch ms or ISO-8601), one
 * {@code topic:partition:offset} line per partition on stdout, by topic then partition number.
 *
 * <p>A partition with no record at or after the time gets no line (as kafka-get-offsets.sh, whose
 * --time help says "No offset is returned"): stdout stays lines a script can split on ':', and
 * stderr names those partitions in one note, so an empty answer is not mistaken for a failure.
 * A consumer that seeks by that time starts at the log end there.
 *
 * <p>Offsets are read with {@link Consumer#offsetsForTimes} (ListOffsets at each partition's leader);
 * a partition without a leader fails the command when {@code --timeout-ms} is up (exit 4), as
 * {@code groups --reset-offsets} does, rather than printing some partitions and not others.
 * Thread-safety: one invocation per instance.
 */
@Command(name = "get-offsets", mixinStandardHelpOptions = true,
        description = "Print partitions' offsets (log end, log start, or the first at or after a time), one"
                + " topic:partition:offset line each, as kafka-get-offsets.sh.")
final class GetOffsetsCommand implements Callable<Integer> {
    @Option(names = "--topic", required = true, description = "The topic. A value that cannot be a topic name (it has a"
            + " character other than letters, digits, '.', '_' and '-', such as * + ? [ ] ( ) |) is a regular expression naming"
            + " every topic it matches whole (internal ones with --include-internal); a legal name is that topic only.")
    String topic;

    @Option(names = "--partitions", split = ",", paramLabel = "P", description = "Only these partitions (default: every"
            + " one). With a single topic, one it does not have is an error; with a regular expression, the topics without"
            + " it are skipped.")
    List<Integer> partitions;

    @Option(names = "--time", defaultValue = "latest", paramLabel = "TIME", description = "-1 or latest: the log end (the"
            + " high watermark, one past the last committed record); -2 or earliest: the log start; a time, in ms since the"
            + " epoch or ISO-8601 with an offset (2026-11-30T12:00:00Z): the first offset whose timestamp is at or after it"
            + " (no line for a partition without one). Default: ${DEFAULT-VALUE}.")
    String time;

    @Option(names = "--include-internal", description = "With a regular expression --topic: match internal topics too.")
    boolean includeInternal;

    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Per lookup (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    /** ListOffsets' targets (list_offsets.proto): the log start and the high watermark. */
    static final long EARLIEST = -2L;
    static final long LATEST = -1L;

    @Override
    public Integer call() {
        AdminWait wait = new AdminWait(timeoutMs); // refuses --timeout-ms <= 0 before any request
        long target = parseTime(time);
        TreeSet<Integer> only = partitionFilter();
        Map<String, String> timeouts = Map.of("default.api.timeout.ms", String.valueOf(timeoutMs));
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, timeouts));
             Consumer<byte[], byte[]> c = new Consumer<>(root.clientConfig(BasaltCli.ClientKind.CONSUMER, timeouts),
                     new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = partitionsToRead(admin, wait, only);
            Map<TopicPartition, Long> query = new LinkedHashMap<>();
            tps.forEach(tp -> query.put(tp, target));
            Duration timeout = Duration.ofMillis(timeoutMs);
            Map<TopicPartition, Long> found = target == LATEST ? c.endOffsets(tps, timeout)
                    : target == EARLIEST ? c.beginningOffsets(tps, timeout)
                    : c.offsetsForTimes(query, timeout);
            List<TopicPartition> none = new ArrayList<>();
            for (TopicPartition tp : tps) {
                Long offset = found.get(tp);
                if (offset == null || offset < 0) {
                    none.add(tp);
                } else {
                    root.out.println(tp.topic() + ":" + tp.partition() + ":" + offset);
                }
            }
            if (!none.isEmpty()) {
                root.err.println("basalt: note: no record at or after " + target + " (" + Instant.ofEpochMilli(target) + ") in "
                        + none + ": no line printed for " + (none.size() == 1 ? "it" : "them") + " (as kafka-get-offsets.sh)");
            }
        }
        return BasaltCli.OK;
    }

    /**
     * --time as a ListOffsets target: -1 / latest, -2 / earliest, a time in ms since the epoch, or
     * an ISO-8601 date-time. Kafka's other special values (-3 max-timestamp, -4 earliest-local,
     * -5 latest-tiered) have no meaning here and are refused by name.
     */
    static long parseTime(String value) {
        String v = value.trim();
        if (v.equals("latest")) {
            return LATEST;
        }
        if (v.equals("earliest")) {
            return EARLIEST;
        }
        if (v.matches("-?\\d+")) {
            long ms;
            try {
                ms = Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new BasaltCli.UsageException("--time " + v + " is out of range (a time in ms since the epoch is at most "
                        + Long.MAX_VALUE + ")");
            }
            if (ms < EARLIEST) {
                throw new BasaltCli.UsageException("--time " + v + " is not supported: give -1 or latest, -2 or earliest, a time in"
                        + " ms since the epoch, or ISO-8601 (2026-11-30T12:00:00Z)");
            }
            return ms;
        }
        long ms = TimeArgs.isoToEpochMs("--time", v);
        if (ms < 0) {
            throw new BasaltCli.UsageException("--time " + v + " is before 1970-01-01T00:00:00Z (record timestamps are not)");
        }
        return ms;
    }

    private TreeSet<Integer> partitionFilter() {
        if (partitions == null) {
            return null;
        }
        TreeSet<Integer> out = new TreeSet<>();
        for (Integer p : partitions) {
            if (p == null || p < 0) {
                throw new BasaltCli.UsageException("--partitions takes partition numbers (0 or more), not " + p);
            }
            out.add(p);
        }
        return out;
    }

    /**
     * The partitions to look up, by topic name then number: every partition of each topic --topic
     * names, or those of {@code only}. An unknown topic (or, for a name, a partition it lacks) is
     * an error before any offset is read.
     */
    private List<TopicPartition> partitionsToRead(Admin admin, AdminWait wait, TreeSet<Integer> only) {
        boolean pattern = TopicsCommand.isPattern(topic);
        List<String> names = pattern ? TopicsCommand.matching(admin, wait, topic, "get-offsets", includeInternal, true)
                : List.of(topic);
        Map<String, TopicDescription> described = TopicsCommand.describeNamed(admin, wait, names);
        List<TopicPartition> out = new ArrayList<>();
        List<String> lacking = new ArrayList<>();
        for (String name : names.stream().sorted().toList()) {
            TopicDescription d = described.get(name);
            TreeSet<Integer> have = new TreeSet<>();
            d.partitions().stream().map(PartitionDescription::partition).forEach(have::add);
            TreeSet<Integer> wanted = only == null ? have : only;
            for (int p : wanted) {
                if (have.contains(p)) {
                    out.add(new TopicPartition(name, p));
                } else {
                    lacking.add(name + "-" + p);
                }
            }
            if (!pattern && !lacking.isEmpty()) {
                throw new InvalidPartitionException("topic " + name + " has " + BasaltCli.count(have.size(), "partition")
                        + " (0-" + (have.size() - 1) + "): no partition " + String.join(", ", lacking.stream()
                        .map(s -> s.substring(name.length() + 1)).toList()));
            }
        }
        if (out.isEmpty() && only != null) {
            throw new InvalidPartitionException("no topic matching '" + topic + "' has partition " + only.stream()
                    .map(String::valueOf).reduce((a, b) -> a + ", " + b).orElse(""));
        }
        if (!lacking.isEmpty()) {
            root.err.println("basalt: note: skipped " + lacking + ": the topic matches '" + topic + "' but has no such partition");
        }
        out.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
        return out;
    }
}

package dev.basalt.cli;

import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.ConsumerRecords;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.WakeupException;
import dev.basalt.client.serialization.StringDeserializer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt consume}: prints records of a topic (or one partition from an offset) to
 * stdout, one per line (like kafka-console-consumer), until --max-messages, until nothing
 * arrived for --timeout-ms, or until interrupted. Ends by printing "Processed a total of N
 * messages" on stderr. Thread-safety: one invocation per instance.
 */
@Command(name = "consume", mixinStandardHelpOptions = true, description = "Print records of a topic to stdout.")
final class ConsumeCommand implements Callable<Integer> {
    @Option(names = "--topic", required = true, description = "Topic to read.")
    String topic;

    @Option(names = "--from-beginning", description = "Start at the earliest record (default: only new records).")
    boolean fromBeginning;

    @Option(names = "--group", description = "Join this consumer group: share the topic's partitions with its other members,"
            + " start at the group's committed offsets and commit what was printed (a partition nothing was printed from:"
            + " where it stands) every auto.commit.interval.ms (5000; enable.auto.commit=false: only on exit) and on exit.")
    String group;

    @Option(names = "--partition", description = "Read only this partition.")
    Integer partition;

    @Option(names = "--offset", description = "With --partition: start here (a number, 'earliest' or 'latest'); not with --from-beginning.")
    String offset;

    @Option(names = "--max-messages", description = "Exit after this many records.")
    Long maxMessages;

    @Option(names = "--timeout-ms", description = "Exit when no record arrived for this long.")
    Long timeoutMs;

    @Option(names = "--lookup-timeout-ms", defaultValue = "10000",
            description = "How long to wait for the topic's metadata and start offsets (default: ${DEFAULT-VALUE}).")
    long lookupTimeoutMs;

    @Option(names = "--print-key", description = "Print the key before the value.")
    boolean printKey;

    @Option(names = "--print-timestamp", description = "Print the record's timestamp with its type first, as"
            + " CreateTime:MS (the producer's) or LogAppendTime:MS (the broker's, for a topic with"
            + " message.timestamp.type=LogAppendTime), MS in milliseconds since the epoch.")
    boolean printTimestamp;

    @Option(names = "--print-partition", description = "Print the partition before the record.")
    boolean printPartition;

    @Option(names = "--print-offset", description = "Print the offset before the record.")
    boolean printOffset;

    @Option(names = "--print-headers", description = "Print the headers after the value, as key=value pairs joined by"
            + " commas (a null header value prints as key=null, an empty one as key=).")
    boolean printHeaders;

    @Option(names = "--null-literal", defaultValue = "null", paramLabel = "S",
            description = "What a null key, value or header value prints as (default: ${DEFAULT-VALUE}); produce"
                    + " --null-marker S reads it back as null.")
    String nullLiteral;

    @Option(names = "--key-separator", defaultValue = "\t", description = "Between printed fields (default: tab).")
    String separator;

    @Option(names = "--consumer-property", paramLabel = "KEY=VALUE", description = "Any consumer config, repeatable.")
    Map<String, String> props = new LinkedHashMap<>();

    @ParentCommand
    BasaltCli root;

    /** Records printed so far; a field so that an interrupted loop still reports them. */
    private long processed;
    /** With --group: per partition, the offset after the last printed record (what is committed). */
    private final Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> printed = new LinkedHashMap<>();
    /** With --group: per partition, the first record polled but not printed (--max-messages reached). */
    private final Map<TopicPartition, Long> unprinted = new LinkedHashMap<>();
    /** How long a commit round may wait for the log ranges of partitions it did not read from. */
    private static final Duration RANGE_LOOKUP_TIMEOUT = Duration.ofSeconds(1);
    /** Partitions whose committed offset was outside the log and that the reset policy moved (said once each). */
    private final java.util.Set<TopicPartition> movedByReset = new java.util.HashSet<>();
    /** With --group: how often the loop commits what was printed, or -1 (only on exit and revocation). */
    private long commitIntervalMs = -1;
    /** What the loop committed last, per partition (unchanged offsets are not committed again). */
    private final Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> committedByLoop = new LinkedHashMap<>();
    private String lastCommitError;

    @Override
    public Integer call() {
        if (offset != null && partition == null) {
            throw new BasaltCli.UsageException("--offset needs --partition");
        }
        if (offset != null && fromBeginning) {
            // found probing: --offset 5 --from-beginning silently started at 5 (Kafka's console consumer refuses it too)
            throw new BasaltCli.UsageException("--offset and --from-beginning exclude each other (--offset earliest starts at the"
                    + " beginning)");
        }
        if (maxMessages != null && maxMessages < 1) {
            throw new BasaltCli.UsageException("--max-messages must be at least 1, not " + maxMessages);
        }
        if (timeoutMs != null && timeoutMs < 1) {
            throw new BasaltCli.UsageException("--timeout-ms must be at least 1, not " + timeoutMs);
        }
        if (group != null && partition != null) {
            throw new BasaltCli.UsageException("--group and --partition exclude each other (the group assigns partitions)");
        }
        if (partition != null && partition < 0) {
            throw new BasaltCli.UsageException("--partition must be 0 or more, not " + partition);
        }
        if (group != null && group.isBlank()) {
            throw new BasaltCli.UsageException("--group needs a group id, not an empty one");
        }
        Map<String, String> overrides = new LinkedHashMap<>();
        if (group != null) {
            overrides.put("group.id", group);
            // commits name exactly what was printed (positions may be past records not printed yet):
            // this command commits them itself, every auto.commit.interval.ms, as Kafka's console
            // consumer's auto-commit would (a member killed with nothing committed let the next
            // owner of its partitions start at "latest" and skip everything since). An explicit
            // enable.auto.commit is the user's: true leaves the commits to the consumer, false
            // commits only on exit and revocation.
            overrides.put("enable.auto.commit", "false");
        }
        overrides.put("auto.offset.reset", fromBeginning ? "earliest" : "latest");
        overrides.put("default.api.timeout.ms", String.valueOf(lookupTimeoutMs));
        overrides.putAll(props);
        Map<String, Object> config = root.clientConfig(BasaltCli.ClientKind.CONSUMER, overrides);
        // a name for groups --describe's CLIENT-ID column (it was blank), unless one was given
        config.putIfAbsent("client.id", "basalt-consume");
        if (group != null && !props.containsKey("enable.auto.commit")) {
            // the consumer's own parsing: its default and its range check (a bad value is a ConfigException, exit 2)
            commitIntervalMs = dev.basalt.client.ConsumerConfig.parse(config).getInt(dev.basalt.client.ConsumerConfig.AUTO_COMMIT_INTERVAL_MS);
        }
        try (Consumer<String, String> consumer = new Consumer<>(config, new StringDeserializer(), new StringDeserializer())) {
            Thread main = Thread.currentThread();
            Thread hook = new Thread(() -> {
                BasaltCli.shutdownInProgress = true;
                consumer.wakeup();
                try {
                    main.join(5_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Runtime.getRuntime().addShutdownHook(hook);
            boolean loopEndedCleanly = false;
            try {
                assign(consumer);
                boolean timedOut = loop(consumer);
                loopEndedCleanly = true;
                if (timedOut) {
                    unreadable = unreadablePartitions(consumer);
                }
            } catch (WakeupException e) {
                loopEndedCleanly = true; // interrupted by Ctrl-C: report what was printed
            } finally {
                if (group != null) {
                    try {
                        Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> commits = toCommit(consumer, consumer.assignment(),
                                loopEndedCleanly);
                        if (!commits.isEmpty()) {
                            consumer.commitSync(commits);
                        }
                    } catch (RuntimeException e) {
                        root.err.println("Could not commit the printed offsets: " + e.getMessage());
                    }
                }
                removeHook(hook);
            }
        } finally {
            root.out.flush();
        }
        root.err.println("Processed a total of " + processed + " messages");
        if (unreadable != null) {
            // Found probing a cluster: a partition without a leader read from "earliest" looked empty (exit 0).
            throw unreadable;
        }
        return BasaltCli.OK;
    }

    private void warnUnreadable(Consumer<String, String> consumer) {
        for (TopicPartition tp : consumer.assignment()) {
            try {
                consumer.position(tp, Duration.ofMillis(1));
            } catch (dev.basalt.client.ClientTimeoutException | dev.basalt.client.BrokerNotAvailableException e) {
                root.err.println("basalt: warning: " + tp + " is not being read: its position could not be looked up within "
                        + lookupTimeoutMs + " ms (" + e.getMessage() + "); it is read once it can be");
            }
        }
    }

    /** Set when --timeout-ms ended the loop while an assigned partition had no position: why. */
    private dev.basalt.client.BasaltException unreadable;

    /**
     * After --timeout-ms without records: a partition whose position could never be looked up (no
     * leader, its broker unreachable) was not read at all, which "0 messages" would hide.
     */
    private dev.basalt.client.BasaltException unreadablePartitions(Consumer<String, String> consumer) {
        for (TopicPartition tp : consumer.assignment()) {
            try {
                consumer.position(tp, Duration.ofMillis(1));
            } catch (dev.basalt.client.ClientTimeoutException | dev.basalt.client.BrokerNotAvailableException e) {
                return new dev.basalt.client.ClientTimeoutException(tp + " was not read: its position could not be looked up in the "
                        + timeoutMs + " ms of --timeout-ms (" + e.getMessage() + ")");
            }
        }
        return null;
    }

    /**
     * What the group commits for {@code partitions}: after the last printed record of each; for
     * one nothing was printed from, its first polled but unprinted record; else, only if the group
     * has no committed offset for it, or its committed offset was outside the log, and
     * {@code positionsToo} (the poll loop did not end in an error, which may leave positions past
     * records never returned), the position the reset policy gave it, as Kafka's consumers commit
     * every assigned partition's position. Without that, a
     * partition the group never committed would start at "latest" next time and its records would
     * be skipped unseen. A position not known at once, or offsets that cannot be looked up, are
     * left out: never block a rebalance or a Ctrl-C on them, nor lose the printed offsets.
     */
    private Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> toCommit(Consumer<String, String> consumer,
                                                                            java.util.Collection<TopicPartition> partitions,
                                                                            boolean positionsToo) {
        Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> commits = new LinkedHashMap<>();
        java.util.Set<TopicPartition> rest = new java.util.LinkedHashSet<>();
        for (TopicPartition tp : partitions) {
            dev.basalt.client.OffsetAndMetadata after = printed.get(tp);
            Long first = unprinted.get(tp);
            if (after != null) {
                commits.put(tp, after);
            } else if (first != null) {
                commits.put(tp, new dev.basalt.client.OffsetAndMetadata(first));
            } else {
                rest.add(tp);
            }
        }
        if (!positionsToo || rest.isEmpty()) {
            return commits;
        }
        Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> committed;
        try {
            committed = consumer.committed(rest);
        } catch (RuntimeException e) {
            return commits;
        }
        java.util.List<TopicPartition> withOffset = rest.stream().filter(tp -> committed.get(tp) != null
                && committed.get(tp).offset() >= 0).toList();
        Map<TopicPartition, Long> starts = Map.of();
        Map<TopicPartition, Long> ends = Map.of();
        if (!withOffset.isEmpty()) {
            try {
                starts = consumer.beginningOffsets(withOffset, RANGE_LOOKUP_TIMEOUT);
                ends = consumer.endOffsets(withOffset, RANGE_LOOKUP_TIMEOUT);
            } catch (RuntimeException e) {
                // the log's range is not known now: every group offset stays (checked next time)
            }
        }
        for (TopicPartition tp : rest) {
            dev.basalt.client.OffsetAndMetadata c = committed.get(tp);
            if (c != null && c.offset() >= 0) {
                Long start = starts.get(tp);
                Long end = ends.get(tp);
                if (start == null || end == null || (c.offset() >= start && c.offset() <= end)) {
                    continue; // the group's own offset stays (a position elsewhere is not a reason to move it)
                }
            }
            long position;
            try {
                position = consumer.position(tp, Duration.ZERO);
            } catch (RuntimeException e) {
                continue; // no position yet (its offset lookup failed or is pending): nothing to record
            }
            if (c != null && c.offset() >= 0 && c.offset() != position && movedByReset.add(tp)) {
                // The group's offset is outside the log (retention passed it, a truncation) and the
                // reset policy moved the member: the group moves too, or its lag would count
                // records that no longer exist, forever.
                root.err.println("The group's committed offset " + c.offset() + " of " + tp + " is outside the log ("
                        + starts.get(tp) + ".." + ends.get(tp) + "); auto.offset.reset="
                        + props.getOrDefault("auto.offset.reset", fromBeginning ? "earliest" : "latest") + " moved it to " + position);
            }
            commits.put(tp, new dev.basalt.client.OffsetAndMetadata(position));
        }
        return commits;
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down
        }
    }

    private void assign(Consumer<String, String> consumer) {
        if (group != null) {
            // The topic must exist when the member starts (found probing: a misspelt topic waited
            // forever, printing nothing, --lookup-timeout-ms notwithstanding). Deleted later, the
            // member keeps going and reads it once re-created, as Kafka's console consumer does.
            consumer.partitionsFor(topic);
            consumer.subscribe(List.of(topic), new dev.basalt.client.ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(java.util.Collection<TopicPartition> partitions) {
                    Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> mine = toCommit(consumer, partitions, true);
                    partitions.forEach(tp -> {
                        printed.remove(tp);
                        unprinted.remove(tp);
                        committedByLoop.remove(tp);
                    });
                    if (!mine.isEmpty()) {
                        try {
                            consumer.commitSync(mine);
                        } catch (WakeupException e) {
                            throw e;
                        } catch (RuntimeException e) {
                            // Found probing: a topic deleted under the group made this commit fail
                            // with UNKNOWN_TOPIC and the command exit; the loop goes on (the topic
                            // may be re-created), as Kafka's console consumer does.
                            root.err.println("Could not commit the printed offsets of " + mine.keySet() + " on giving them up: "
                                    + e.getMessage() + (e instanceof dev.basalt.client.UnknownTopicException
                                    ? " (the topic was deleted?)" : ""));
                        }
                    }
                }

                @Override
                public void onPartitionsAssigned(java.util.Collection<TopicPartition> partitions) {
                }

                @Override
                public void onPartitionsLost(java.util.Collection<TopicPartition> partitions) {
                    partitions.forEach(tp -> { // another member may own them: commits would be refused
                        printed.remove(tp);
                        unprinted.remove(tp);
                        committedByLoop.remove(tp);
                    });
                }
            });
            return;
        }
        if (partition == null) {
            consumer.assign(consumer.partitionsFor(topic));
            return;
        }
        TopicPartition tp = new TopicPartition(topic, partition);
        int count = consumer.partitionsFor(topic).size();
        if (partition < 0 || partition >= count) {
            throw new dev.basalt.client.InvalidPartitionException("topic " + topic + " has partitions 0.." + (count - 1)
                    + ", not " + partition);
        }
        consumer.assign(List.of(tp));
        if (offset == null) {
            return;
        }
        switch (offset) {
            case "earliest" -> consumer.seekToBeginning(List.of(tp));
            case "latest" -> consumer.seekToEnd(List.of(tp));
            default -> {
                long at;
                try {
                    at = Long.parseLong(offset);
                    consumer.seek(tp, at);
                } catch (IllegalArgumentException e) {
                    throw new BasaltCli.UsageException("--offset must be a non-negative number, 'earliest' or 'latest': " + offset);
                }
                // An offset outside the log is reset by auto.offset.reset (as Kafka's console consumer
                // does); say so rather than silently printing from elsewhere.
                Duration t = Duration.ofMillis(lookupTimeoutMs);
                long start = consumer.beginningOffsets(List.of(tp), t).getOrDefault(tp, 0L);
                long end = consumer.endOffsets(List.of(tp), t).getOrDefault(tp, 0L);
                if (at < start || at > end) {
                    String reset = props.getOrDefault("auto.offset.reset", fromBeginning ? "earliest" : "latest");
                    String where = switch (reset) {
                        case "earliest" -> "reading from the log start " + start;
                        case "latest" -> "reading from the end " + end;
                        default -> "the consumer fails";
                    };
                    root.err.println("Offset " + at + " is outside " + tp + "'s offsets " + start + ".." + end
                            + " (log start..end): " + where + " (auto.offset.reset=" + reset + ")");
                }
            }
        }
    }

    /** The loop's periodic commit (see {@link #commitIntervalMs}); a failure is reported once and retried next time. */
    private void commitPeriodically(Consumer<String, String> consumer) {
        try {
            Map<TopicPartition, dev.basalt.client.OffsetAndMetadata> commits = toCommit(consumer, consumer.assignment(), true);
            commits.entrySet().removeIf(e -> e.getValue().equals(committedByLoop.get(e.getKey())));
            if (!commits.isEmpty()) {
                consumer.commitSync(commits);
                committedByLoop.putAll(commits);
            }
            lastCommitError = null;
        } catch (WakeupException e) {
            throw e;
        } catch (RuntimeException e) {
            if (!String.valueOf(e.getMessage()).equals(lastCommitError)) {
                root.err.println("Could not commit the printed offsets (retrying): " + e.getMessage());
            }
            lastCommitError = String.valueOf(e.getMessage());
        }
    }

    /** Prints records until --max-messages, or --timeout-ms without one (then true). */
    private boolean loop(Consumer<String, String> consumer) {
        long lastRecordNanos = System.nanoTime();
        long lastCommitNanos = System.nanoTime();
        long startNanos = System.nanoTime();
        boolean unreadableChecked = false;
        while (maxMessages == null || processed < maxMessages) {
            if (!unreadableChecked && (System.nanoTime() - startNanos) / 1_000_000 >= lookupTimeoutMs) {
                // The others are read meanwhile; say which partitions are not (no leader), once.
                unreadableChecked = true;
                warnUnreadable(consumer);
            }
            if (commitIntervalMs > 0 && System.nanoTime() - lastCommitNanos >= commitIntervalMs * 1_000_000) {
                commitPeriodically(consumer);
                lastCommitNanos = System.nanoTime();
            }
            ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
            for (ConsumerRecord<String, String> r : records) {
                if (maxMessages != null && processed >= maxMessages) {
                    if (group != null) {
                        unprinted.putIfAbsent(new TopicPartition(r.topic(), r.partition()), r.offset());
                    }
                    continue;
                }
                print(r);
                processed++;
                if (group != null) {
                    printed.put(new TopicPartition(r.topic(), r.partition()), new dev.basalt.client.OffsetAndMetadata(r.offset() + 1));
                }
            }
            if (!records.isEmpty()) {
                lastRecordNanos = System.nanoTime();
                root.out.flush();
            } else if (timeoutMs != null && (System.nanoTime() - lastRecordNanos) / 1_000_000 >= timeoutMs) {
                return true;
            }
        }
        return false;
    }

    /** Kafka's console consumer's form: the timestamp's type, a colon, the timestamp in ms. */
    static String timestampField(ConsumerRecord<?, ?> r) {
        return (r.logAppendTime() ? "LogAppendTime:" : "CreateTime:") + r.timestamp();
    }

    private void print(ConsumerRecord<String, String> r) {
        StringBuilder sb = new StringBuilder();
        if (printTimestamp) {
            sb.append(timestampField(r)).append(separator);
        }
        if (printPartition) {
            sb.append(r.partition()).append(separator);
        }
        if (printOffset) {
            sb.append(r.offset()).append(separator);
        }
        if (printKey) {
            sb.append(r.key() == null ? nullLiteral : r.key()).append(separator);
        }
        sb.append(r.value() == null ? nullLiteral : r.value());
        if (printHeaders) {
            sb.append(separator);
            for (int i = 0; i < r.headers().size(); i++) {
                var h = r.headers().get(i);
                sb.append(i == 0 ? "" : ",").append(h.key()).append('=')
                        .append(h.value() == null ? nullLiteral : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        root.out.println(sb);
    }
}

package dev.basalt.cli;

import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.BrokerDescription;
import dev.basalt.client.admin.ConfigEntry;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.admin.NewTopic;
import dev.basalt.client.admin.PartitionDescription;
import dev.basalt.client.admin.TopicCreated;
import dev.basalt.client.admin.TopicDescription;
import dev.basalt.client.Admin;
import dev.basalt.client.TopicExistsException;
import dev.basalt.client.UnknownTopicException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt topics}: list, create, describe, delete and alter topics (in the spirit of
 * kafka-topics.sh). Thread-safety: one invocation per instance.
 */
@Command(name = "topics", mixinStandardHelpOptions = true, description = "List, create, describe, delete or alter topics.")
final class TopicsCommand implements Callable<Integer> {
    static final class Action {
        @Option(names = "--list", required = true, description = "List topic names.")
        boolean list;
        @Option(names = "--create", required = true, description = "Create --topic.")
        boolean create;
        @Option(names = "--describe", required = true, description = "Describe --topic, or every topic.")
        boolean describe;
        @Option(names = "--delete", required = true, description = "Delete --topic (and its data).")
        boolean delete;
        @Option(names = "--alter", required = true, description = "Grow --topic to --partitions, and/or set --config / remove --delete-config.")
        boolean alter;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Action action;

    @Option(names = "--topic", description = "Topic name. With --describe or --delete, a value that cannot be a topic name"
            + " (it has a character other than letters, digits, '.', '_' and '-', such as * + ? [ ] ( ) |) is a regular"
            + " expression naming every topic it matches whole; a legal name is that topic only. With --list: always a regular"
            + " expression that the whole name matches (so a.b lists axb too).")
    String topic;

    @Option(names = "--partitions", description = "Partition count (create: default is the broker's num.partitions; alter: the new total).")
    Integer partitions;

    @Option(names = "--replication-factor", description = "Replicas per partition (default: the broker's default).")
    Integer replicationFactor;

    @Option(names = "--config", paramLabel = "KEY=VALUE", description = "Topic config, repeatable (e.g. --config cleanup.policy=compact).")
    Map<String, String> configs = new LinkedHashMap<>();

    @Option(names = "--delete-config", paramLabel = "KEY", description = "With --alter: remove a topic config override, repeatable.")
    List<String> deleteConfigs = new ArrayList<>();

    @Option(names = "--if-not-exists", description = "With --create: if the topic exists already, say so and exit 0,"
            + " leaving it as it is (its partitions and configs are not compared with the options given).")
    boolean ifNotExists;

    @Option(names = "--if-exists", description = "With --alter or --delete: if the topic does not exist (with --delete, a regular"
            + " expression matches no topic), say so and exit 0.")
    boolean ifExists;

    @Option(names = "--include-internal", description = "With --list or --describe: include internal topics.")
    boolean includeInternal;

    /** Kafka's replication report filters of --describe; at most one at a time, as in kafka-topics.sh. */
    static final class Report {
        @Option(names = "--under-replicated-partitions", required = true,
                description = "With --describe: only partitions whose ISR is smaller than their replica set.")
        boolean underReplicated;
        @Option(names = "--unavailable-partitions", required = true,
                description = "With --describe: only partitions without a leader, or whose leader is offline or fenced,"
                        + " or read-only (the leader kept while its disk is full).")
        boolean unavailable;
        @Option(names = "--under-min-isr-partitions", required = true,
                description = "With --describe: only partitions whose ISR is below min.insync.replicas (acks=all writes refused).")
        boolean underMinIsr;
        @Option(names = "--at-min-isr-partitions", required = true,
                description = "With --describe: only partitions whose ISR is exactly min.insync.replicas.")
        boolean atMinIsr;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Report report;

    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    @Override
    public Integer call() {
        if (timeoutMs <= 0) {
            throw new BasaltCli.UsageException("--timeout-ms must be positive, not " + timeoutMs);
        }
        if (report != null && !action.describe) {
            throw new BasaltCli.UsageException("the partition report filters (--under-replicated-partitions ...) need --describe");
        }
        refuseOptionsTheActionIgnores();
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, BasaltCli.adminTimeouts(timeoutMs)))) {
            AdminWait t = new AdminWait(timeoutMs);
            if (action.list) {
                java.util.regex.Pattern only = listFilter();
                t.get(admin.listTopics(includeInternal)).stream().filter(l -> only == null || only.matcher(l.name()).matches())
                        .forEach(l -> root.out.println(l.name()));
            } else if (action.create) {
                create(admin, t);
            } else if (action.describe) {
                describe(admin, t);
            } else if (action.delete && isPattern(requireTopic())) {
                deleteMatching(admin, t);
            } else if (action.delete) {
                try {
                    t.getAll(admin.deleteTopics(List.of(topic)));
                } catch (UnknownTopicException e) {
                    sayMissing(e, "nothing deleted");
                    return BasaltCli.OK;
                }
                root.out.println("Deleted topic " + topic + ".");
            } else {
                try {
                    alter(admin, t);
                } catch (UnknownTopicException e) {
                    sayMissing(e, "nothing altered");
                }
            }
        }
        return BasaltCli.OK;
    }

    /**
     * An option the chosen action does not use is an error, as in kafka-topics.sh ("Option
     * [partitions] can't be used with option [list]"): found probing, {@code --list --partitions 3}
     * listed every topic as if the option had been read.
     */
    private void refuseOptionsTheActionIgnores() {
        String act = action.list ? "--list" : action.create ? "--create" : action.describe ? "--describe"
                : action.delete ? "--delete" : "--alter";
        // as configs --add-config does (found probing: "retention.ms= 100" was stored as " 100")
        Map<String, String> trimmed = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : configs.entrySet()) {
            if (trimmed.put(e.getKey().trim(), e.getValue() == null ? "" : e.getValue().trim()) != null) {
                throw new BasaltCli.UsageException("config " + e.getKey().trim() + " is given twice in --config");
            }
        }
        configs = trimmed;
        List<String> deletes = new ArrayList<>();
        for (String k : deleteConfigs) {
            if (k.isBlank()) {
                throw new BasaltCli.UsageException("--delete-config takes a key, not an empty string");
            }
            deletes.add(k.trim());
        }
        deleteConfigs = deletes;
        List<String> ignored = new ArrayList<>();
        if (partitions != null && !(action.create || action.alter)) {
            ignored.add("--partitions");
        }
        if (replicationFactor != null && !action.create) {
            ignored.add("--replication-factor" + (action.alter ? " (change replicas with basalt reassign)" : ""));
        }
        if (!configs.isEmpty() && !(action.create || action.alter)) {
            ignored.add("--config");
        }
        if (!deleteConfigs.isEmpty() && !action.alter) {
            ignored.add("--delete-config");
        }
        if (includeInternal && !(action.list || action.describe)) {
            ignored.add("--include-internal");
        }
        if (ifNotExists && !action.create) {
            ignored.add("--if-not-exists");
        }
        if (ifExists && !(action.alter || action.delete)) {
            ignored.add("--if-exists" + (action.create ? " (--create takes --if-not-exists)" : ""));
        }
        if (!ignored.isEmpty()) {
            throw new BasaltCli.UsageException(String.join(", ", ignored) + " cannot be used with " + act);
        }
    }

    /** With --list, --topic filters the names: a name, or a regular expression the whole name matches (as Kafka's). */
    private java.util.regex.Pattern listFilter() {
        return topic == null ? null : pattern("--list");
    }

    private java.util.regex.Pattern pattern(String act) {
        return pattern(topic, act);
    }

    /** {@code --topic} as a regular expression; one that does not compile is a usage error naming {@code act}. */
    static java.util.regex.Pattern pattern(String topic, String act) {
        try {
            return java.util.regex.Pattern.compile(topic);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new BasaltCli.UsageException("--topic with " + act + " is a name or a regular expression: " + e.getDescription()
                    + " in '" + topic + "'");
        }
    }

    /**
     * Whether --topic (with --describe or --delete) is a regular expression, as kafka-topics.sh
     * reads it there: only when it cannot be a topic name. A legal name is that one topic,
     * although '.' is a regex character: {@code --delete --topic a.b} must not delete {@code axb}
     * too (kafka-topics.sh would), and an unknown name stays UNKNOWN_TOPIC (exit 1).
     */
    static boolean isPattern(String topic) {
        return !dev.basalt.common.TopicNames.isLegal(topic);
    }

    /**
     * The topics whose whole name --topic (a regular expression) matches, in the cluster's order;
     * internal ones only when {@code internalToo}. None is an {@link UnknownTopicException}.
     */
    private List<String> matching(Admin admin, AdminWait t, String act, boolean internalToo) {
        return matching(admin, t, topic, act, internalToo, action.describe);
    }

    /**
     * The topics whose whole name {@code regex} matches, in the cluster's order; internal ones only
     * when {@code internalToo}. None is an {@link UnknownTopicException} (whose message points to
     * --include-internal when {@code includeInternalOffered}). Shared by the commands that read
     * --topic as {@link #isPattern} says.
     */
    static List<String> matching(Admin admin, AdminWait t, String regex, String act, boolean internalToo,
                                 boolean includeInternalOffered) {
        java.util.regex.Pattern p = pattern(regex, act);
        List<String> names = t.get(admin.listTopics(internalToo)).stream().map(l -> l.name())
                .filter(n -> p.matcher(n).matches()).toList();
        if (names.isEmpty()) {
            throw new UnknownTopicException("no topic matches the regular expression '" + regex + "'"
                    + (internalToo ? "" : " (internal topics left out" + (includeInternalOffered ? ": --include-internal)" : ")")));
        }
        return names;
    }

    /**
     * The descriptions of topics the user named, one request for all: a name the cluster does not
     * know is an {@link UnknownTopicException} that names it (the cluster's answer names only the
     * first and says UNKNOWN_TOPIC; a listing finds every one).
     */
    static Map<String, TopicDescription> describeNamed(Admin admin, AdminWait t, java.util.Collection<String> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("no topic to describe (an empty request describes every topic)");
        }
        try {
            return t.get(admin.describeTopics(List.copyOf(names)));
        } catch (UnknownTopicException e) {
            Set<String> existing = new java.util.HashSet<>();
            t.get(admin.listTopics(true)).forEach(l -> existing.add(l.name()));
            List<String> missing = names.stream().filter(n -> !existing.contains(n)).toList();
            if (missing.isEmpty()) {
                throw e; // gone and back between the two requests: the cluster's own words
            }
            throw new UnknownTopicException((missing.size() == 1 ? "topic " + missing.get(0) + " does not exist"
                    : "topics " + String.join(", ", missing) + " do not exist"), e);
        }
    }

    /**
     * --delete of every (non-internal) topic --topic matches: says each one deleted on stdout; the
     * first failure ends the command with its error and exit code, after the others are waited for
     * (each one after it said on stderr).
     */
    private void deleteMatching(Admin admin, AdminWait t) {
        List<String> names;
        try {
            names = matching(admin, t, "--delete", false);
        } catch (UnknownTopicException e) {
            sayMissing(e, "nothing deleted");
            return;
        }
        Map<String, java.util.concurrent.CompletableFuture<Void>> futures = admin.deleteTopics(names);
        RuntimeException first = null;
        for (String name : names) {
            try {
                t.getAll(Map.of(name, futures.get(name)));
                root.out.println("Deleted topic " + name + ".");
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e; // the command's error line
                } else {
                    root.err.println("Not deleted: topic " + name + " (" + BasaltCli.oneLine(e) + ")");
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * With --if-exists, a topic that does not exist is no error (kafka-topics.sh's option): says
     * so on stdout and returns; without it, rethrows (exit 1, as before).
     */
    private void sayMissing(UnknownTopicException e, String outcome) {
        if (!ifExists) {
            throw e;
        }
        root.out.println((isPattern(topic) ? "No topic matches '" + topic + "'" : "Topic " + topic + " does not exist") + ": "
                + outcome + " (--if-exists).");
    }

    private String requireTopic() {
        if (topic == null || topic.isEmpty()) {
            throw new BasaltCli.UsageException("--topic is required here");
        }
        return topic;
    }

    private void create(Admin admin, AdminWait t) {
        if (partitions != null && partitions < 1) {
            throw new BasaltCli.UsageException("--partitions must be at least 1 (omit it for the broker's default), got " + partitions);
        }
        if (replicationFactor != null && replicationFactor < 1) {
            throw new BasaltCli.UsageException("--replication-factor must be at least 1 (omit it for the broker's default), got "
                    + replicationFactor);
        }
        NewTopic nt = new NewTopic(requireTopic(), partitions == null ? -1 : partitions,
                replicationFactor == null ? -1 : replicationFactor, configs);
        TopicCreated c;
        try {
            c = t.getAll(admin.createTopics(List.of(nt), false)).get(topic);
        } catch (TopicExistsException e) {
            if (!ifNotExists) {
                throw e;
            }
            root.out.println("Topic " + topic + " already exists: nothing created (--if-not-exists).");
            return;
        }
        root.out.println("Created topic " + c.name() + " (" + BasaltCli.count(c.partitions(), "partition") + ", replication factor "
                + c.replicationFactor() + ", id " + c.topicId() + ").");
        if (configs == null || !configs.containsKey("min.insync.replicas")) {
            warnIfDefaultMinIsrAboveReplicas(admin, t, c.name(), c.replicationFactor());
        }
    }

    /**
     * The same warning when the topic takes min.insync.replicas from the brokers' default (found
     * probing: --replication-factor 1 on a cluster with min.insync.replicas=2 was created without
     * a word, and every acks=all write to it was then refused). Read back from the new topic, so
     * it is the value the topic has; if it cannot be read, no warning (the topic was created).
     */
    private void warnIfDefaultMinIsrAboveReplicas(Admin admin, AdminWait t, String name, int replicationFactor) {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, name);
        List<ConfigEntry> entries;
        try {
            entries = t.get(admin.describeConfigs(List.of(resource), List.of("min.insync.replicas")))
                    .getOrDefault(resource, List.of());
        } catch (RuntimeException e) {
            return;
        }
        for (ConfigEntry e : entries) {
            if (e.name().equals("min.insync.replicas") && e.value() != null && e.value().matches("\\d+")
                    && Long.parseLong(e.value()) > replicationFactor) {
                root.err.println("WARNING: min.insync.replicas is " + e.value() + " (the brokers' default), above the"
                        + " replication factor " + replicationFactor + ": every acks=all write to " + name + " is refused (NOT_ENOUGH_REPLICAS); give --replication-factor " + e.value()
                        + " or more, or --config min.insync.replicas=" + replicationFactor);
            }
        }
    }

    /**
     * Kafka's layout: a summary line per topic, then one tab-separated line per partition with
     * its leader, leader epoch, replicas, ISR, eligible leader replicas (KIP-966) and offline
     * replicas, and a Status field naming what is wrong (under-replicated, under-min-isr,
     * unavailable) when anything is. With a report filter only the matching partition lines are
     * printed, without the summaries (as kafka-topics.sh does).
     */
    private void describe(Admin admin, AdminWait t) {
        // first: an answer naming no active controller (an isolated broker's) makes the admin client
        // find a broker that has one, and the topics are then read from that broker (found by review)
        // fenced brokers count as offline leaders: a partition led by one is unavailable
        dev.basalt.client.admin.ClusterDescription cluster = t.get(admin.describeCluster(true));
        List<String> names = topic == null ? List.of() : isPattern(topic) ? matching(admin, t, "--describe", includeInternal)
                : List.of(topic);
        Map<String, TopicDescription> topics = t.get(admin.describeTopics(names));
        Set<Integer> live = cluster.liveBrokerIds();
        // "topic-partition@broker" of every replica its broker reported offline only for a full disk
        Set<String> outOfSpace = new java.util.HashSet<>();
        cluster.brokers().forEach(b -> b.offlineReplicas().stream().filter(BrokerDescription.OfflineReplica::outOfSpaceOnly)
                .forEach(o -> outOfSpace.add(o.topic() + "-" + o.partition() + "@" + b.id())));
        if (cluster.controllerId() < 0) {
            root.err.println(ClusterCommand.NO_CONTROLLER_WARNING);
        }
        for (TopicDescription d : topics.values()) {
            if (d.internal() && !includeInternal && topic == null) {
                continue;
            }
            if (report == null) {
                StringJoiner cfg = new StringJoiner(",");
                d.configs().forEach((k, v) -> cfg.add(k + "=" + v));
                // Partitions differ after a reassignment changed some replica sets: show the range, not
                // partition 0's. Replicas a running move is adding do not count (kafka-topics.sh's rule).
                java.util.IntSummaryStatistics rfs = d.partitions().stream().mapToInt(PartitionDescription::replicationFactor)
                        .summaryStatistics();
                String rf = d.partitions().isEmpty() ? "0" : rfs.getMin() == rfs.getMax() ? String.valueOf(rfs.getMin())
                        : rfs.getMin() + "-" + rfs.getMax();
                root.out.println("Topic: " + d.name() + "\tTopicId: " + d.topicId() + "\tPartitionCount: " + d.partitions().size()
                        + "\tReplicationFactor: " + rf + "\tConfigs: " + cfg);
            }
            for (PartitionDescription p : d.partitions()) {
                boolean leaderOutOfSpace = outOfSpace.contains(d.name() + "-" + p.partition() + "@" + p.leaderId());
                if (selected(p, live)) {
                    root.out.println(partitionLine(d.name(), p, live, leaderOutOfSpace));
                }
            }
        }
    }

    private boolean selected(PartitionDescription p, Set<Integer> live) {
        if (report == null) {
            return true;
        }
        if (report.underReplicated) {
            return p.underReplicated();
        }
        if (report.unavailable) {
            return p.unavailable(live); // read-only partitions too: their leader is listed offline
        }
        if (report.underMinIsr) {
            return p.underMinIsr();
        }
        return p.atMinIsr();
    }

    /**
     * One partition's line. {@code leaderOutOfSpace}: its leader's broker reported that replica
     * offline only for a full disk; a live such leader makes the partition {@code read-only}
     * (reads served, appends refused) rather than {@code unavailable}.
     */
    static String partitionLine(String topicName, PartitionDescription p, Set<Integer> live, boolean leaderOutOfSpace) {
        StringJoiner status = new StringJoiner(",");
        if (p.readOnly(live, leaderOutOfSpace)) {
            status.add("read-only");
        } else if (p.unavailable(live)) {
            status.add("unavailable");
        }
        if (p.underReplicated()) {
            status.add("under-replicated");
        }
        if (p.underMinIsr()) {
            status.add("under-min-isr");
        }
        if (p.atMinIsr() && p.underReplicated()) {
            // a replica lost and one more loss refuses acks=all writes (a partition whose replication
            // factor equals its min ISR is at it by configuration: not marked)
            status.add("at-min-isr");
        }
        return "\tTopic: " + topicName + "\tPartition: " + p.partition() + "\tLeader: " + (p.leaderId() < 0 ? "none" : p.leaderId())
                + "\tLeaderEpoch: " + p.leaderEpoch() + "\tReplicas: " + join(p.replicas()) + "\tIsr: " + join(p.isr())
                + "\tElr: " + join(p.eligibleLeaderReplicas()) + "\tOffline: " + join(p.offlineReplicas())
                + (p.reassigning() ? "\tAdding Replicas: " + join(p.addingReplicas()) + "\tRemoving Replicas: "
                        + join(p.removingReplicas()) : "")
                + (status.length() == 0 ? "" : "\tStatus: " + status);
    }

    private static String join(List<Integer> ids) {
        StringJoiner j = new StringJoiner(",");
        ids.forEach(i -> j.add(String.valueOf(i)));
        return j.toString();
    }

    private void alter(Admin admin, AdminWait t) {
        if (isPattern(requireTopic())) {
            throw new BasaltCli.UsageException("--alter takes one topic's name, not a regular expression: '" + topic
                    + "' cannot be a topic name (legal: letters, digits, '.', '_' and '-')");
        }
        if (partitions == null && configs.isEmpty() && deleteConfigs.isEmpty()) {
            throw new BasaltCli.UsageException("--alter needs --partitions, --config or --delete-config");
        }
        for (String key : deleteConfigs) {
            if (configs.containsKey(key)) {
                throw new BasaltCli.UsageException("config " + key + " is both set (--config) and removed (--delete-config): give one");
            }
        }
        if (partitions != null) {
            t.getAll(admin.createPartitions(Map.of(topic, partitions), false));
            root.out.println("Topic " + topic + " now has " + BasaltCli.count(partitions, "partition") + ".");
        }
        if (!configs.isEmpty() || !deleteConfigs.isEmpty()) {
            List<AlterConfigOp> ops = new ArrayList<>();
            configs.forEach((k, v) -> ops.add(AlterConfigOp.set(k, v)));
            new java.util.LinkedHashSet<>(deleteConfigs).forEach(k -> ops.add(AlterConfigOp.delete(k)));
            t.getAll(admin.alterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, topic), ops), false));
            root.out.println("Updated configs of topic " + topic + ".");
        }
    }
}

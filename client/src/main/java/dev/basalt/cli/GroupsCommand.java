package dev.basalt.cli;

import dev.basalt.client.Consumer;
import dev.basalt.client.Admin;
import dev.basalt.client.GroupAdmin;
import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.ByteArrayDeserializer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt groups}: consumer groups, in the spirit of kafka-consumer-groups.sh — {@code --list};
 * {@code --describe --group G} per partition (GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
 * CONSUMER-ID HOST CLIENT-ID), or {@code --members} / {@code --state}; {@code --reset-offsets} of
 * topics ({@code --topic T[:P,P...]}, repeatable), of every topic the group has committed offsets
 * in ({@code --all-topics}) or of the partitions a CSV names ({@code --from-file}) to earliest,
 * latest, an offset, a time, a duration back from now, by a shift, to the committed offset or to
 * the CSV's offsets, every one clamped into the log (a dry run unless {@code --execute}, whose plan
 * {@code --export} prints as that CSV; refused while the group has members); {@code --delete}.
 * Thread-safety: one invocation per instance.
 */
@Command(name = "groups", mixinStandardHelpOptions = true, description = "List, describe, reset and delete consumer groups.")
final class GroupsCommand implements Callable<Integer> {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Action action;

    static final class Action {
        @Option(names = "--list", description = "List the groups.")
        boolean list;
        @Option(names = "--describe", description = "Describe a group (with --group).")
        boolean describe;
        @Option(names = "--reset-offsets", description = "Reset a group's offsets (with --group; --topic, --all-topics or"
                + " --from-file; and a --to-*, --shift-by or --by-duration option unless --from-file).")
        boolean reset;
        @Option(names = "--delete", description = "Delete a group without members (with --group).")
        boolean delete;
    }

    @Option(names = "--group", description = "The group.")
    String group;
    @Option(names = "--members", description = "With --describe: one line per member.")
    boolean members;
    @Option(names = "--state", description = "With --describe: the group's state.")
    boolean state;
    @Option(names = "--topic", paramLabel = "T[:P,P...]", description = "With --reset-offsets: a topic (every partition), or"
            + " some of its partitions (t:0,2); repeatable.")
    List<String> topics = new ArrayList<>();
    @Option(names = "--all-topics", description = "With --reset-offsets: every partition of every topic the group has a committed"
            + " offset in (instead of --topic).")
    boolean allTopics;
    @Option(names = "--to-earliest", description = "With --reset-offsets: to each partition's log start offset.") boolean toEarliest;
    @Option(names = "--to-latest", description = "With --reset-offsets: to each partition's log end offset.") boolean toLatest;
    @Option(names = "--to-offset", paramLabel = "N", description = "With --reset-offsets: to offset N (≥ 0; clamped to each"
            + " partition's log start and end).") Long toOffset;
    @Option(names = "--to-datetime", paramLabel = "ISO", description = "With --reset-offsets: to the first record at or after"
            + " this time, e.g. 2026-11-30T12:00:00Z.") String toDatetime;
    @Option(names = "--by-duration", paramLabel = "PnDTnHnMnS", description = "With --reset-offsets: to the first record at or"
            + " after this long before now, an ISO-8601 duration, e.g. PT30M or P1DT2H.") String byDuration;
    @Option(names = "--shift-by", paramLabel = "N", description = "With --reset-offsets: by N from the committed offset"
            + " (negative: back; clamped to the log).") Long shiftBy;
    @Option(names = "--to-current", description = "With --reset-offsets: to the committed offset, clamped into the log (moves"
            + " only offsets that retention or a truncation left outside it; without one: the log end).") boolean toCurrent;
    @Option(names = "--from-file", paramLabel = "CSV", description = "With --reset-offsets: to the offsets of a CSV file, one"
            + " topic,partition,offset line per partition (what --export prints), clamped into the log; instead of --topic.")
    java.nio.file.Path fromFile;
    @Option(names = "--export", description = "With --reset-offsets: print the new offsets as topic,partition,offset lines"
            + " (--from-file's input) instead of the table.") boolean export;
    @Option(names = "--execute", description = "With --reset-offsets: write the offsets (default: a dry run).") boolean execute;
    @Option(names = "--dry-run", description = "With --reset-offsets: only print the new offsets (the default).") boolean dryRun;
    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Per request (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    @Override
    public Integer call() {
        Map<String, String> timeouts = Map.of("request.timeout.ms", String.valueOf(timeoutMs),
                "default.api.timeout.ms", String.valueOf(timeoutMs));
        Map<String, Object> cfg = root.clientConfig(BasaltCli.ClientKind.ADMIN, timeouts);
        Map<String, Object> consumerCfg = root.clientConfig(BasaltCli.ClientKind.CONSUMER, timeouts);
        try (GroupAdmin admin = new GroupAdmin(cfg)) {
            if (action.list) {
                if (group != null) {
                    throw new BasaltCli.UsageException("--list lists every group: drop --group (or use --describe --group)");
                }
                GroupAdmin.GroupList listed = admin.listGroupsFromEachBroker();
                listed.groups().forEach(g -> root.out.println(BasaltCli.printable(g.groupId())));
                warnUnanswered(root, listed);
                return BasaltCli.OK;
            }
            if (group == null) {
                throw new BasaltCli.UsageException("--group is required");
            }
            if (group.isBlank()) {
                throw new BasaltCli.UsageException("--group must not be empty");
            }
            if (members && state) {
                throw new BasaltCli.UsageException("--members and --state exclude each other (one table each)");
            }
            if ((members || state) && !action.describe) {
                throw new BasaltCli.UsageException((members ? "--members" : "--state") + " goes with --describe");
            }
            if (!action.reset) {
                // found probing: `--describe --to-earliest` and `--delete --topic t` ran, the option ignored in silence
                String resetOnly = !topics.isEmpty() ? "--topic" : allTopics ? "--all-topics" : toEarliest ? "--to-earliest"
                        : toLatest ? "--to-latest" : toOffset != null ? "--to-offset" : toDatetime != null ? "--to-datetime"
                        : byDuration != null ? "--by-duration" : shiftBy != null ? "--shift-by" : toCurrent ? "--to-current"
                        : fromFile != null ? "--from-file" : export ? "--export" : execute ? "--execute" : dryRun ? "--dry-run" : null;
                if (resetOnly != null) {
                    throw new BasaltCli.UsageException(resetOnly + " goes with --reset-offsets");
                }
            }
            if (action.delete) {
                admin.deleteGroup(group);
                root.out.println("Deleted group " + group);
                return BasaltCli.OK;
            }
            if (action.describe) {
                describe(admin, consumerCfg);
                return BasaltCli.OK;
            }
            reset(admin, consumerCfg);
            return BasaltCli.OK;
        }
    }

    /**
     * One stderr warning per broker that did not answer a listing (its groups are missing from
     * it); the others' groups are still printed (found probing: with one broker of three stopped,
     * `groups --list` and `lag` printed nothing and exited 3).
     */
    static void warnUnanswered(BasaltCli root, GroupAdmin.GroupList listed) {
        listed.unanswered().forEach((broker, why) -> root.err.println("basalt: warning: broker " + broker
                + " did not answer, so the groups it coordinates are not listed: " + why));
    }

    private void describe(GroupAdmin admin, Map<String, Object> consumerCfg) {
        GroupAdmin.GroupDescription d = admin.describeGroup(group);
        if (state) {
            // COORDINATOR: the broker holding the group (found probing: only /v1/groups named it)
            root.out.printf("%-24s %-12s %-12s %-10s %-10s %s%n", "GROUP", "STATE", "ASSIGNOR", "EPOCH", "#MEMBERS", "COORDINATOR");
            root.out.printf("%-24s %-12s %-12s %-10d %-10d %d%n", group, d.state(), d.assignor(), d.groupEpoch(), d.members().size(),
                    d.coordinator());
            return;
        }
        if (members) {
            List<List<String>> rows = new ArrayList<>();
            rows.add(List.of("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "EPOCH", "STATE", "#PARTITIONS"));
            for (GroupAdmin.MemberDescription m : d.members()) {
                rows.add(List.of(group, m.memberId(), m.instanceId().isEmpty() ? "-" : m.instanceId(), m.host(), m.clientId(),
                        String.valueOf(m.memberEpoch()), m.state(), String.valueOf(m.assignment().size())));
            }
            printAligned(rows);
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> committed = admin.committedOffsets(group);
        Map<TopicPartition, GroupAdmin.MemberDescription> owner = new LinkedHashMap<>();
        d.members().forEach(m -> m.assignment().forEach(tp -> owner.put(tp, m)));
        List<TopicPartition> all = new ArrayList<>(committed.keySet());
        owner.keySet().forEach(tp -> {
            if (!all.contains(tp)) {
                all.add(tp);
            }
        });
        all.sort(Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
        Map<TopicPartition, Long> ends;
        java.util.Set<TopicPartition> gone;
        try (Consumer<byte[], byte[]> c = new Consumer<>(consumerCfg, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             Admin topics = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, Map.of("default.api.timeout.ms",
                     String.valueOf(timeoutMs))))) {
            gone = vanished(topics, all, Duration.ofMillis(timeoutMs));
            ends = c.endOffsetsFound(all.stream().filter(tp -> !gone.contains(tp)).toList(), Duration.ofMillis(timeoutMs));
        }
        List<TopicPartition> endUnknown = all.stream().filter(tp -> !gone.contains(tp) && !ends.containsKey(tp)).toList();
        if (!endUnknown.isEmpty()) {
            // found probing: one leaderless partition failed the whole table
            root.err.println("basalt: warning: the log end of " + endUnknown + " is not known now (no leader answered within "
                    + timeoutMs + " ms): LOG-END-OFFSET and LAG show -");
        }
        if (!gone.isEmpty()) {
            root.err.println("basalt: warning: " + gone.size() + " partitions with committed offsets no longer exist (their topic was"
                    + " deleted or never existed): " + gone);
        }
        root.out.printf("%-24s %-24s %-10s %-15s %-15s %-8s %-38s %-20s %s%n", "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
                "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID");
        for (TopicPartition tp : all) {
            OffsetAndMetadata o = committed.get(tp);
            Long end = ends.get(tp);
            GroupAdmin.MemberDescription m = owner.get(tp);
            root.out.printf("%-24s %-24s %-10d %-15s %-15s %-8s %-38s %-20s %s%n", group, tp.topic(), tp.partition(),
                    o == null ? "-" : o.offset(), end == null ? "-" : end,
                    o == null || end == null ? "-" : Math.max(0, end - o.offset()), m == null ? "-" : m.memberId(),
                    m == null ? "-" : m.host(), m == null ? "-" : m.clientId());
        }
    }

    /** Prints rows as columns as wide as their widest cell (found probing: fixed widths ran headers and ids together). */
    private void printAligned(List<List<String>> rows) {
        int[] widths = new int[rows.get(0).size()];
        for (List<String> r : rows) {
            for (int i = 0; i < r.size(); i++) {
                widths[i] = Math.max(widths[i], r.get(i).length());
            }
        }
        for (List<String> r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                sb.append(r.get(i));
                if (i < r.size() - 1) {
                    sb.append(" ".repeat(widths[i] - r.get(i).length() + 2));
                }
            }
            root.out.println(sb);
        }
    }

    /**
     * The partitions of {@code tps} that do not exist now (topic deleted, or fewer partitions):
     * committed offsets can outlive a topic, and one such partition made the whole group's
     * end-offset lookup fail. One metadata request per topic.
     */
    static java.util.Set<TopicPartition> vanished(Admin admin, java.util.Collection<TopicPartition> tps, Duration timeout) {
        java.util.Set<TopicPartition> out = new java.util.HashSet<>();
        Map<String, List<TopicPartition>> byTopic = new java.util.TreeMap<>();
        tps.forEach(tp -> byTopic.computeIfAbsent(tp.topic(), k -> new ArrayList<>()).add(tp));
        byTopic.forEach((topic, parts) -> {
            int count;
            try {
                count = Admin.get(admin.describeTopics(List.of(topic)), timeout).get(topic).partitions().size();
            } catch (dev.basalt.client.UnknownTopicException | dev.basalt.client.InvalidTopicException e) {
                count = 0;
            }
            for (TopicPartition tp : parts) {
                if (tp.partition() >= count) {
                    out.add(tp);
                }
            }
        });
        return out;
    }

    /** The --reset-offsets options that go together, checked before any request. */
    private void checkResetOptions() {
        int scopes = (topics.isEmpty() ? 0 : 1) + (allTopics ? 1 : 0) + (fromFile != null ? 1 : 0);
        if (fromFile != null && scopes > 1) {
            throw new BasaltCli.UsageException("--from-file names its partitions: it goes without --topic and --all-topics");
        }
        if (scopes == 0) {
            throw new BasaltCli.UsageException("--reset-offsets needs --topic, --all-topics or --from-file");
        }
        if (scopes > 1) {
            throw new BasaltCli.UsageException("--topic and --all-topics exclude each other");
        }
        int targets = (toEarliest ? 1 : 0) + (toLatest ? 1 : 0) + (toOffset != null ? 1 : 0) + (toDatetime != null ? 1 : 0)
                + (byDuration != null ? 1 : 0) + (shiftBy != null ? 1 : 0) + (toCurrent ? 1 : 0) + (fromFile != null ? 1 : 0);
        if (targets != 1) {
            throw new BasaltCli.UsageException(fromFile != null && targets > 1
                    ? "--from-file gives the new offsets: it goes without --to-*, --shift-by and --by-duration"
                    : "give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --by-duration, --shift-by,"
                    + " --to-current, --from-file");
        }
        if (execute && dryRun) {
            throw new BasaltCli.UsageException("--execute and --dry-run exclude each other");
        }
        if (toOffset != null && toOffset < 0) {
            throw new BasaltCli.UsageException("--to-offset must be ≥ 0, not " + toOffset);
        }
    }

    /** The time --to-datetime or --by-duration names, in ms since the epoch; null for the other targets. */
    private Long resetTimeMs() {
        if (toDatetime != null) {
            long ms = TimeArgs.isoToEpochMs("--to-datetime", toDatetime);
            if (ms < 0) {
                throw new BasaltCli.UsageException("--to-datetime " + toDatetime + " is before 1970-01-01T00:00:00Z"
                        + " (record timestamps are not; --to-earliest resets to the log start)");
            }
            return ms;
        }
        if (byDuration == null) {
            return null;
        }
        long backMs;
        try {
            backMs = TimeArgs.duration("--by-duration", byDuration).toMillis();
        } catch (ArithmeticException e) {
            backMs = Long.MAX_VALUE; // longer than since the epoch: the log start
        }
        long now = System.currentTimeMillis(); // the CLI's clock, as Kafka's tool reads it; no record is older than 1970
        return now - Math.min(now, backMs);
    }

    private void reset(GroupAdmin admin, Map<String, Object> consumerCfg) {
        checkResetOptions();
        Long timeMs = resetTimeMs();
        Map<TopicPartition, Long> fileOffsets = fromFile == null ? null : ResetOffsetsSpec.readCsv(fromFile);
        int membersNow;
        try {
            membersNow = admin.describeGroup(group).members().size();
        } catch (dev.basalt.client.GroupNotFoundException e) {
            membersNow = -1;
        } catch (dev.basalt.client.BasaltException e) {
            // only for the warnings: the plan does not need it, and --execute is checked by the coordinator
            membersNow = 0;
            root.err.println("basalt: warning: could not check group " + group + "'s members: " + e.getMessage());
        }
        Map<TopicPartition, OffsetAndMetadata> committed = admin.committedOffsets(group);
        Map<TopicPartition, OffsetAndMetadata> plan = new LinkedHashMap<>();
        List<TopicPartition> uncommitted = new ArrayList<>();
        List<String> clamped = new ArrayList<>();
        Duration t = Duration.ofMillis(timeoutMs);
        try (Consumer<byte[], byte[]> c = new Consumer<>(consumerCfg, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             Admin topicAdmin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, Map.of("default.api.timeout.ms",
                     String.valueOf(timeoutMs))))) {
            List<TopicPartition> tps = partitionsToReset(topicAdmin, committed, fileOffsets);
            Map<TopicPartition, Long> earliest = c.beginningOffsets(tps, t);
            Map<TopicPartition, Long> latest = c.endOffsets(tps, t);
            Map<TopicPartition, Long> byTime = Map.of();
            if (timeMs != null) {
                Map<TopicPartition, Long> q = new LinkedHashMap<>();
                tps.forEach(tp -> q.put(tp, timeMs));
                byTime = c.offsetsForTimes(q, t);
            }
            for (TopicPartition tp : tps) {
                long lo = earliest.get(tp);
                long hi = latest.get(tp);
                OffsetAndMetadata o = committed.get(tp);
                if (o == null && (shiftBy != null || toCurrent)) {
                    uncommitted.add(tp);
                }
                long target = target(lo, hi, o, byTime.get(tp), fileOffsets == null ? null : fileOffsets.get(tp));
                long inLog = Math.max(lo, Math.min(hi, target));
                if (fileOffsets != null && inLog != target) {
                    clamped.add(tp + " " + target + " -> " + inLog);
                }
                plan.put(tp, new OffsetAndMetadata(inLog));
            }
        }
        if (execute) {
            admin.alterOffsets(group, plan); // refused (a group with members): nothing printed as if written
        }
        printPlan(plan, membersNow);
        if (!uncommitted.isEmpty()) {
            root.err.println("basalt: note: no committed offset for " + uncommitted + ": " + (toCurrent
                    ? "--to-current took the log end there (where a consumer with auto.offset.reset=latest starts)"
                    : "--shift-by counted from the log start there"));
        }
        if (!clamped.isEmpty()) {
            root.err.println("basalt: note: offsets of --from-file outside the log were moved into it: " + clamped);
        }
        if (membersNow < 0) {
            root.err.println("basalt: note: group " + group + " did not exist; " + (execute ? "it was created with these offsets"
                    : "--execute creates it with these offsets") + " (its consumers start from them)");
        }
    }

    /**
     * One partition's new offset before it is clamped into [lo, hi] (its log start and end):
     * {@code committed} is the group's offset there (null: none), {@code found} the first offset at
     * or after --to-datetime / --by-duration (null or -1: none, so the log end), {@code fromFile}
     * the CSV's offset.
     */
    private long target(long lo, long hi, OffsetAndMetadata committed, Long found, Long fromFileOffset) {
        if (toEarliest) {
            return lo;
        }
        if (toLatest) {
            return hi;
        }
        if (toOffset != null) {
            return toOffset;
        }
        if (toDatetime != null || byDuration != null) {
            return found == null || found < 0 ? hi : found;
        }
        if (fromFile != null) {
            return fromFileOffset;
        }
        if (toCurrent) {
            return committed == null ? hi : committed.offset();
        }
        long from = committed == null ? lo : committed.offset();
        // saturating: a huge shift forward wrapped to a negative sum, which clamped to the log start
        return shiftBy > 0 && from > Long.MAX_VALUE - shiftBy ? Long.MAX_VALUE
                : shiftBy < 0 && from < Long.MIN_VALUE - shiftBy ? Long.MIN_VALUE : from + shiftBy;
    }

    /**
     * The partitions a reset covers, by topic then number: those --topic names (a whole topic, or
     * the partitions after its ':'), every partition of every topic with a committed offset
     * (--all-topics: topics deleted since are left out, with a warning), or those the CSV names.
     * An unknown topic or partition named by the user is an error before anything is read.
     */
    private List<TopicPartition> partitionsToReset(Admin topicAdmin, Map<TopicPartition, OffsetAndMetadata> committed,
                                                   Map<TopicPartition, Long> fileOffsets) {
        AdminWait wait = new AdminWait(timeoutMs);
        Map<String, java.util.TreeSet<Integer>> wanted = new java.util.TreeMap<>();
        if (fileOffsets != null) {
            fileOffsets.keySet().forEach(tp -> wanted.computeIfAbsent(tp.topic(), k -> new java.util.TreeSet<>()).add(tp.partition()));
        } else if (allTopics) {
            committed.keySet().forEach(tp -> wanted.put(tp.topic(), new java.util.TreeSet<>()));
            if (wanted.isEmpty()) {
                throw new dev.basalt.client.GroupNotFoundException("group " + group + " has no committed offsets: --all-topics"
                        + " selects nothing (name the topics with --topic)");
            }
            java.util.Set<String> existing = new java.util.HashSet<>();
            wait.get(topicAdmin.listTopics(true)).forEach(l -> existing.add(l.name()));
            List<String> gone = wanted.keySet().stream().filter(n -> !existing.contains(n)).toList();
            if (gone.size() == wanted.size()) {
                throw new dev.basalt.client.UnknownTopicException("none of the topics group " + group + " has committed offsets in"
                        + " exists now: " + gone);
            }
            if (!gone.isEmpty()) {
                root.err.println("basalt: warning: group " + group + " has committed offsets in topics that no longer exist,"
                        + " left out: " + gone);
                gone.forEach(wanted::remove);
            }
        } else {
            wanted.putAll(ResetOffsetsSpec.parseTopics(topics));
        }
        Map<String, dev.basalt.client.admin.TopicDescription> described = TopicsCommand.describeNamed(topicAdmin, wait, wanted.keySet());
        List<TopicPartition> out = new ArrayList<>();
        wanted.forEach((name, parts) -> {
            int count = described.get(name).partitions().size();
            List<Integer> missing = parts.stream().filter(p -> p >= count).toList();
            if (!missing.isEmpty()) {
                throw new dev.basalt.client.InvalidPartitionException("topic " + name + " has " + BasaltCli.count(count, "partition")
                        + " (0-" + (count - 1) + "): no partition " + missing.stream().map(String::valueOf)
                        .collect(java.util.stream.Collectors.joining(", ")) + (fileOffsets != null ? " (in --from-file)" : ""));
            }
            if (parts.isEmpty()) {
                for (int p = 0; p < count; p++) {
                    out.add(new TopicPartition(name, p));
                }
            } else {
                parts.forEach(p -> out.add(new TopicPartition(name, p)));
            }
        });
        return out;
    }

    /** The plan on stdout: a table, or with --export the CSV --from-file reads (the dry-run line then on stderr). */
    private void printPlan(Map<TopicPartition, OffsetAndMetadata> plan, int membersNow) {
        if (export) {
            root.out.print(ResetOffsetsSpec.csv(plan));
        } else {
            root.out.printf("%-24s %-24s %-10s %s%n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
            plan.forEach((tp, o) -> root.out.printf("%-24s %-24s %-10d %d%n", group, tp.topic(), tp.partition(), o.offset()));
        }
        if (!execute) {
            (export ? root.err : root.out).println("(dry run: add --execute to write these offsets)");
            if (membersNow > 0) {
                root.err.println("basalt: warning: group " + group + " has " + membersNow + " member(s) now: --execute is refused"
                        + " while it has any (stop its consumers first)");
            }
        }
    }
}

package dev.basalt.cli;

import dev.basalt.client.Consumer;
import dev.basalt.client.Admin;
import dev.basalt.client.GroupAdmin;
import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.ByteArrayDeserializer;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
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
 * CONSUMER-ID HOST CLIENT-ID), or {@code --members} / {@code --state}; {@code --reset-offsets} of one
 * topic to earliest, latest, an offset, a time or by a shift (a dry run unless {@code --execute};
 * refused while the group has members); {@code --delete}. Thread-safety: one invocation per instance.
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
        @Option(names = "--reset-offsets", description = "Reset a group's offsets of a topic (with --group, --topic and a --to-* option).")
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
    @Option(names = "--topic", description = "With --reset-offsets: the topic.")
    String topic;
    @Option(names = "--to-earliest", description = "With --reset-offsets: to each partition's log start offset.") boolean toEarliest;
    @Option(names = "--to-latest", description = "With --reset-offsets: to each partition's log end offset.") boolean toLatest;
    @Option(names = "--to-offset", paramLabel = "N", description = "With --reset-offsets: to offset N (≥ 0; clamped to each"
            + " partition's log start and end).") Long toOffset;
    @Option(names = "--to-datetime", paramLabel = "ISO", description = "With --reset-offsets: to the first record at or after"
            + " this time, e.g. 2026-11-30T12:00:00Z.") String toDatetime;
    @Option(names = "--shift-by", paramLabel = "N", description = "With --reset-offsets: by N from the committed offset"
            + " (negative: back; clamped to the log).") Long shiftBy;
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
                listed.groups().forEach(g -> root.out.println(g.groupId()));
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
                String resetOnly = topic != null ? "--topic" : toEarliest ? "--to-earliest" : toLatest ? "--to-latest"
                        : toOffset != null ? "--to-offset" : toDatetime != null ? "--to-datetime" : shiftBy != null ? "--shift-by"
                        : execute ? "--execute" : dryRun ? "--dry-run" : null;
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

    private void reset(GroupAdmin admin, Map<String, Object> consumerCfg) {
        if (topic == null) {
            throw new BasaltCli.UsageException("--reset-offsets needs --topic");
        }
        int targets = (toEarliest ? 1 : 0) + (toLatest ? 1 : 0) + (toOffset != null ? 1 : 0) + (toDatetime != null ? 1 : 0)
                + (shiftBy != null ? 1 : 0);
        if (targets != 1) {
            throw new BasaltCli.UsageException("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by");
        }
        if (execute && dryRun) {
            throw new BasaltCli.UsageException("--execute and --dry-run exclude each other");
        }
        if (toOffset != null && toOffset < 0) {
            throw new BasaltCli.UsageException("--to-offset must be ≥ 0, not " + toOffset);
        }
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
        Map<TopicPartition, OffsetAndMetadata> plan = new LinkedHashMap<>();
        List<TopicPartition> uncommitted = new ArrayList<>();
        try (Consumer<byte[], byte[]> c = new Consumer<>(consumerCfg, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(topic);
            Duration t = Duration.ofMillis(timeoutMs);
            Map<TopicPartition, Long> earliest = c.beginningOffsets(tps, t);
            Map<TopicPartition, Long> latest = c.endOffsets(tps, t);
            Map<TopicPartition, OffsetAndMetadata> committed = admin.committedOffsets(group);
            Map<TopicPartition, Long> byTime = Map.of();
            if (toDatetime != null) {
                long ms;
                try {
                    ms = OffsetDateTime.parse(toDatetime).toInstant().toEpochMilli();
                } catch (DateTimeParseException e) {
                    try {
                        ms = Instant.parse(toDatetime).toEpochMilli();
                    } catch (DateTimeParseException e2) {
                        throw new BasaltCli.UsageException("--to-datetime must be ISO-8601 with an offset, e.g. 2026-11-30T12:00:00Z");
                    }
                }
                Map<TopicPartition, Long> q = new LinkedHashMap<>();
                for (TopicPartition tp : tps) {
                    q.put(tp, ms);
                }
                byTime = c.offsetsForTimes(q, t);
            }
            for (TopicPartition tp : tps) {
                long lo = earliest.get(tp);
                long hi = latest.get(tp);
                long target;
                if (toEarliest) {
                    target = lo;
                } else if (toLatest) {
                    target = hi;
                } else if (toOffset != null) {
                    target = toOffset;
                } else if (toDatetime != null) {
                    Long found = byTime.get(tp);
                    target = found == null || found < 0 ? hi : found;
                } else {
                    OffsetAndMetadata o = committed.get(tp);
                    if (o == null) {
                        uncommitted.add(tp);
                    }
                    long from = o == null ? lo : o.offset();
                    // saturating: a huge shift forward wrapped to a negative sum, which clamped to the log start
                    target = shiftBy > 0 && from > Long.MAX_VALUE - shiftBy ? Long.MAX_VALUE
                            : shiftBy < 0 && from < Long.MIN_VALUE - shiftBy ? Long.MIN_VALUE : from + shiftBy;
                }
                plan.put(tp, new OffsetAndMetadata(Math.max(lo, Math.min(hi, target))));
            }
        }
        if (execute) {
            admin.alterOffsets(group, plan); // refused (a group with members): nothing printed as if written
        }
        root.out.printf("%-24s %-24s %-10s %s%n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
        plan.forEach((tp, o) -> root.out.printf("%-24s %-24s %-10d %d%n", group, tp.topic(), tp.partition(), o.offset()));
        if (!execute) {
            root.out.println("(dry run: add --execute to write these offsets)");
            if (membersNow > 0) {
                root.err.println("basalt: warning: group " + group + " has " + membersNow + " member(s) now: --execute is refused"
                        + " while it has any (stop its consumers first)");
            }
        }
        if (!uncommitted.isEmpty()) {
            root.err.println("basalt: note: no committed offset for " + uncommitted + ": --shift-by counted from the log start there");
        }
        if (membersNow < 0) {
            root.err.println("basalt: note: group " + group + " did not exist; " + (execute ? "it was created with these offsets"
                    : "--execute creates it with these offsets") + " (its consumers start from them)");
        }
    }
}

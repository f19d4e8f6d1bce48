package dev.basalt.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.basalt.client.Admin;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.AlterConfigOp;
import dev.basalt.client.admin.ConfigResource;
import dev.basalt.client.admin.PartitionReassignment;
import dev.basalt.client.admin.ReassignmentMove;
import dev.basalt.proto.v1.GenerateReassignmentPlanResponse;
import dev.basalt.proto.v1.ReassignmentPlan;
import dev.basalt.proto.v1.TopicPartitionRef;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt reassign}: moves partition replicas between brokers (KIP-455). One partition with
 * {@code --topic --partition --replicas}; a balanced plan with {@code --generate} (printed as JSON);
 * a plan file with {@code --execute} (optionally setting the catch-up throttle); progress with
 * {@code --verify} (bytes copied and an ETA from two samples); {@code --cancel}. Thread-safety: one
 * invocation per instance.
 */
@Command(name = "reassign", mixinStandardHelpOptions = true,
        description = "Move partition replicas between brokers: one partition, or a generated plan.")
final class ReassignCommand implements Callable<Integer> {
    /**
     * Sampling interval of --verify's rate estimate: two seconds, so a catch-up throttle's
     * one-second burst is a smaller part of it (the rate is capped at the throttle anyway).
     */
    static final long VERIFY_SAMPLE_MS = 2_000;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Mode mode;

    static final class Mode {
        @Option(names = "--replicas", split = ",", paramLabel = "ID", description = "Target replicas of --topic/--partition.")
        List<Integer> replicas;
        @Option(names = "--generate", description = "Print a balanced plan (JSON) for --topics over --brokers.")
        boolean generate;
        @Option(names = "--execute", description = "Submit the plan in --plan.")
        boolean execute;
        @Option(names = "--verify", description = "Show the reassignments in progress and their progress.")
        boolean verify;
        @Option(names = "--cancel", description = "Cancel the reassignment of --topic/--partition, or of every partition in --plan.")
        boolean cancel;
    }

    @Option(names = "--topic", description = "Topic of the partition to move or cancel.")
    String topic;
    @Option(names = "--partition", defaultValue = "-1", description = "Partition to move or cancel.")
    int partition;
    @Option(names = "--topics", split = ",", description = "Topics of --generate (and the filter of --verify).")
    List<String> topics = List.of();
    @Option(names = "--brokers", split = ",", description = "Brokers --generate spreads the replicas over.")
    List<Integer> brokers = List.of();
    @Option(names = "--plan", paramLabel = "FILE", description = {"Plan file (JSON) for --execute or --cancel: what --generate"
            + " prints, {\"version\":1,\"partitions\":[{\"partition\":{\"topic\":\"t\",\"partition\":0},"
            + "\"targetReplicas\":[1,2,3]}]}; \"currentReplicas\" is ignored.",
            "Kafka's reassignment file is read too: {\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,"
            + "\"replicas\":[1,2,3]}]} (\"log_dirs\" only as \"any\")."})
    Path plan;
    @Option(names = "--throttle-bytes-per-second",
            description = "With --execute: set reassignment.throttle.bytes.per.second on every broker (0 = unlimited)."
                    + " --verify removes it once no reassignment is left.")
    Long throttleBytesPerSecond; // null: not given
    @Option(names = "--additional",
            description = "With --execute: submit the plan while other reassignments are in progress (without it,"
                    + " --execute refuses then, as Kafka's tool does: a plan and its throttle would change moves under way).")
    boolean additional;
    @Option(names = "--preserve-throttle",
            description = "With --verify: keep the cluster-wide catch-up throttle when no reassignment is left.")
    boolean preserveThrottle;
    @Option(names = "--timeout-ms", defaultValue = "30000", description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    @Override
    public Integer call() {
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, BasaltCli.adminTimeouts(timeoutMs)))) {
            AdminWait t = new AdminWait(timeoutMs);
            if (additional && !mode.execute) {
                throw new BasaltCli.UsageException("--additional goes with --execute only");
            }
            if (throttleBytesPerSecond != null && throttleBytesPerSecond < 0) {
                // found probing: -5 was taken as "not given" and the move ran unthrottled, exit 0
                throw new BasaltCli.UsageException("--throttle-bytes-per-second must be >= 0 (0 = unlimited), not "
                        + throttleBytesPerSecond);
            }
            if (mode.generate) {
                return generate(admin, t);
            }
            if (mode.verify) {
                return verify(admin, t);
            }
            Map<TopicPartition, Optional<List<Integer>>> targets = new LinkedHashMap<>();
            if (mode.replicas != null || (mode.cancel && plan == null)) {
                requireOnePartition();
                targets.put(new TopicPartition(topic, partition), mode.cancel ? Optional.empty()
                        : Optional.of(List.copyOf(mode.replicas)));
            } else {
                if (plan == null) {
                    throw new BasaltCli.UsageException("--execute needs --plan FILE");
                }
                for (GenerateReassignmentPlanResponse.Move m : readPlan(plan).getPartitionsList()) {
                    targets.put(new TopicPartition(m.getPartition().getTopic(), m.getPartition().getPartition()),
                            mode.cancel ? Optional.empty() : Optional.of(m.getTargetReplicasList()));
                }
            }
            if (mode.execute && plan != null) {
                List<String> missing = missingPartitions(admin, t, targets.keySet());
                if (!missing.isEmpty()) {
                    root.err.println("basalt: error: the plan names " + BasaltCli.count(missing.size(), "partition")
                            + " that do" + (missing.size() == 1 ? "es" : "") + " not exist ("
                            + String.join(", ", missing.subList(0, Math.min(10, missing.size())))
                            + (missing.size() > 10 ? ", ..." : "") + "): nothing was submitted and the throttle is unchanged;"
                            + " fix the plan (basalt topics --describe shows the partitions)");
                    return BasaltCli.CLUSTER_ERROR;
                }
            }
            if (mode.execute && !additional) {
                // names only: not every broker's progress (one unreachable broker would delay the refusal)
                List<PartitionReassignment> running = t.get(admin.listPartitionReassignments(List.of(), false));
                if (!running.isEmpty()) {
                    List<String> names = running.stream().map(r -> r.topic() + "-" + r.partition()).toList();
                    root.err.println("basalt: error: " + BasaltCli.count(names.size(), "reassignment") + " in progress ("
                            + String.join(", ", names.subList(0, Math.min(10, names.size())))
                            + (names.size() > 10 ? ", ..." : "") + "): nothing was submitted and the throttle is unchanged;"
                            + " wait until basalt reassign --verify shows none, or add this plan to them with --additional");
                    return BasaltCli.CLUSTER_ERROR;
                }
            }
            Optional<String> throttleBefore = null; // null: not changed here
            if (mode.execute && throttleBytesPerSecond != null) {
                throttleBefore = clusterWideThrottle(admin, t);
                setClusterWideThrottle(admin, t, Optional.of(Long.toString(throttleBytesPerSecond)));
                root.out.println("Catch-up throttle: " + (throttleBytesPerSecond == 0 ? "unlimited"
                        : throttleBytesPerSecond + " bytes/s per broker"));
            }
            List<String> accepted = new java.util.ArrayList<>();
            List<String> notMoving = new java.util.ArrayList<>();
            Map<String, RuntimeException> refused = new LinkedHashMap<>();
            Map<String, RuntimeException> unknown = new LinkedHashMap<>();
            admin.alterPartitionReassignments(targets).forEach((name, f) -> {
                try {
                    t.get(f);
                    accepted.add(name);
                } catch (dev.basalt.client.ReassignmentException e) {
                    // Cancelling a plan: its partitions that finished (were cancelled already, or
                    // never started) have nothing left to cancel; not an error (found probing: a plan whose first
                    // partition had been cancelled by itself exited 1).
                    if (mode.cancel && plan != null && "NO_REASSIGNMENT_IN_PROGRESS".equals(e.reason())) {
                        notMoving.add(name);
                    } else {
                        refused.put(name, e);
                    }
                } catch (dev.basalt.client.DefiniteException e) {
                    refused.put(name, e);
                } catch (dev.basalt.client.BasaltException e) {
                    unknown.put(name, e); // no answer in time, or the connection dropped: it may still apply
                }
            });
            if (!accepted.isEmpty()) {
                root.out.println((mode.cancel ? "Cancelled" : "Started") + " the reassignment of "
                        + BasaltCli.count(accepted.size(), "partition")
                        + (refused.isEmpty() && unknown.isEmpty() ? "" : " (" + String.join(", ", accepted) + ")")
                        + (mode.cancel ? "" : "; follow it with: basalt reassign --verify"));
            }
            if (!notMoving.isEmpty()) {
                root.out.println(BasaltCli.count(notMoving.size(), "partition") + " of the plan not being reassigned"
                        + " (finished, cancelled already, or never started): " + String.join(", ", notMoving.subList(0, Math.min(10, notMoving.size())))
                        + (notMoving.size() > 10 ? ", ..." : ""));
            }
            if (refused.isEmpty() && unknown.isEmpty()) {
                return BasaltCli.OK;
            }
            if (accepted.isEmpty() && unknown.isEmpty() && refused.size() == 1 && throttleBefore == null) {
                throw refused.values().iterator().next();
            }
            refused.values().forEach(e -> root.err.println("basalt: error: " + BasaltCli.oneLine(e)));
            unknown.values().forEach(e -> root.err.println("basalt: error: " + BasaltCli.oneLine(e)));
            if (accepted.isEmpty() && unknown.isEmpty() && throttleBefore != null) {
                // Nothing moves: the throttle must not stay behind to slow some later move.
                putThrottleBack(admin, t, throttleBefore);
            }
            if (!unknown.isEmpty()) {
                root.err.println("basalt: error: the outcome for " + BasaltCli.count(unknown.size(), "partition") + " is unknown: it may"
                        + " still apply; check with basalt reassign --verify before retrying"
                        + (throttleBefore != null ? " (the catch-up throttle stays set)" : ""));
                return BasaltCli.TIMEOUT_OR_UNKNOWN;
            }
            root.err.println("basalt: error: " + BasaltCli.count(refused.size(), "partition") + " refused"
                    + (accepted.isEmpty() ? "; nothing was " + (mode.cancel ? "cancelled" : "moved")
                    : "; the others were " + (mode.cancel ? "cancelled" : "started")));
            return BasaltCli.CLUSTER_ERROR;
        }
    }

    /**
     * The partitions of a plan that do not exist now (unknown topic, or a partition number past the
     * topic's count), as topic-partition names. A plan is checked whole before anything is
     * submitted, as Kafka's tool does: the controller judges each partition on its own, so a typo
     * in one entry would otherwise start the others' moves and leave the plan half applied.
     */
    private static List<String> missingPartitions(Admin admin, AdminWait t, java.util.Collection<TopicPartition> wanted) {
        Map<String, Integer> counts = new java.util.HashMap<>();
        for (dev.basalt.client.admin.TopicListing l : t.get(admin.listTopics(true))) {
            counts.put(l.name(), l.partitionCount());
        }
        List<String> missing = new java.util.ArrayList<>();
        for (TopicPartition tp : wanted) {
            if (tp.partition() >= counts.getOrDefault(tp.topic(), 0)) {
                missing.add(tp.topic() + "-" + tp.partition());
            }
        }
        return missing;
    }

    /**
     * Puts the cluster-wide throttle back after a plan moved nothing, unless it no longer holds
     * the value this run set (another operator changed it meanwhile: theirs stays).
     */
    private void putThrottleBack(Admin admin, AdminWait t, Optional<String> before) {
        String mine = Long.toString(throttleBytesPerSecond);
        try {
            Optional<String> now = clusterWideThrottle(admin, t);
            if (!now.equals(Optional.of(mine))) {
                root.out.println("Catch-up throttle left at " + now.map(v -> v + " bytes/s per broker").orElse("unset")
                        + ": it was changed by someone else meanwhile");
                return;
            }
            setClusterWideThrottle(admin, t, before);
            root.out.println("Catch-up throttle put back to " + before.map(v -> v + " bytes/s per broker")
                    .orElse("unset (unlimited)") + ": no partition was moved");
        } catch (dev.basalt.client.BasaltException e) {
            root.err.println("basalt: warning: could not put the catch-up throttle back (" + BasaltCli.oneLine(e) + "); it is "
                    + mine + " bytes/s per broker: set " + THROTTLE_KEY + " on broker resource \"\" yourself");
        }
    }

    private static final String THROTTLE_KEY = "reassignment.throttle.bytes.per.second";
    private static final ConfigResource CLUSTER_WIDE = new ConfigResource(ConfigResource.Type.BROKER, "");

    /** The cluster-wide catch-up throttle if one is set dynamically (what --execute sets). */
    private static Optional<String> clusterWideThrottle(Admin admin, AdminWait t) {
        return t.get(admin.describeConfigs(List.of(CLUSTER_WIDE), List.of(THROTTLE_KEY)))
                .getOrDefault(CLUSTER_WIDE, List.of()).stream()
                .filter(e -> e.name().equals(THROTTLE_KEY) && "DYNAMIC_DEFAULT_BROKER_CONFIG".equals(e.source()))
                .map(dev.basalt.client.admin.ConfigEntry::value).findFirst();
    }

    /** Sets the cluster-wide catch-up throttle, or removes it (empty). */
    private static void setClusterWideThrottle(Admin admin, AdminWait t, Optional<String> value) {
        AlterConfigOp op = value.map(v -> AlterConfigOp.set(THROTTLE_KEY, v)).orElse(AlterConfigOp.delete(THROTTLE_KEY));
        t.getAll(admin.alterConfigs(Map.of(CLUSTER_WIDE, List.of(op)), false));
    }

    private void requireOnePartition() {
        if (topic == null || partition < 0) {
            throw new BasaltCli.UsageException("name the partition with --topic T --partition P");
        }
    }

    private int generate(Admin admin, AdminWait t) {
        if (topics.isEmpty() || brokers.isEmpty()) {
            throw new BasaltCli.UsageException("--generate needs --topics T1,T2 and --brokers 1,2,3");
        }
        List<ReassignmentMove> moves = t.get(admin.generateReassignmentPlan(topics, brokers));
        ReassignmentPlan.Builder p = ReassignmentPlan.newBuilder().setVersion(1);
        for (ReassignmentMove m : moves) {
            p.addPartitionsBuilder().setPartition(TopicPartitionRef.newBuilder().setTopic(m.topic()).setPartition(m.partition()))
                    .addAllCurrentReplicas(m.current()).addAllTargetReplicas(m.target());
        }
        try {
            // every field, zeros included: a plan edited by hand should show "partition": 0 rather than leave it out
            root.out.println(JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(p));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("cannot print the plan", e);
        }
        return BasaltCli.OK;
    }

    static ReassignmentPlan readPlan(Path file) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            java.util.Optional<String> twice = duplicateKey(text);
            if (twice.isPresent()) {
                throw new BasaltCli.UsageException(file + ": key " + twice.get() + " (JSON readers keep one of the two"
                        + " silently; which one was meant is unclear)");
            }
            com.google.protobuf.Struct.Builder raw = com.google.protobuf.Struct.newBuilder();
            JsonFormat.parser().merge(text, raw);
            if (isKafkaFormat(raw.getFieldsMap().get("partitions"))) {
                return fromKafkaFormat(file, raw.build());
            }
            ReassignmentPlan.Builder b = ReassignmentPlan.newBuilder();
            JsonFormat.parser().merge(text, b);
            if (b.getVersion() != 1) {
                throw new BasaltCli.UsageException(file + ": plan version " + b.getVersion() + ", expected 1");
            }
            checkEntries(file, text, b);
            return b.build();
        } catch (InvalidProtocolBufferException e) {
            // JsonFormat wraps the JSON parser's exception: its message starts with that class's name
            String why = String.valueOf(e.getMessage()).replaceFirst("^[a-z][\\w.]*\\.[A-Z]\\w*(Exception|Error): ", "")
                    .replaceFirst("^Cannot find field: (\\w+) in message [\\w.]+$", "unknown key \"$1\" (an entry is"
                            + " {\"partition\": {\"topic\": ..., \"partition\": ...}, \"targetReplicas\": [...]},"
                            + " or in Kafka's format {\"topic\": ..., \"partition\": ..., \"replicas\": [...]})");
            throw new BasaltCli.UsageException(file + " is not a reassignment plan: " + why);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + BasaltCli.ioReason(e), e);
        }
    }

    /**
     * The first key that appears twice in one JSON object, and where ({@code "replicas" appears
     * twice in partitions[1]}); empty when there is none, or when the text is not JSON (the parse
     * that follows says why). Found probing a cluster: a plan entry with two "replicas" was
     * accepted, and the last one moved the partition.
     */
    static java.util.Optional<String> duplicateKey(String json) {
        try (com.google.gson.stream.JsonReader r = new com.google.gson.stream.JsonReader(new java.io.StringReader(json))) {
            return duplicateKey(r, "", 0);
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    /** Deeper than a plan ever is (protobuf's JSON parser refuses past 100 too): not walked, the parse that follows says why. */
    private static final int JSON_DEPTH_MAX = 100;

    private static java.util.Optional<String> duplicateKey(com.google.gson.stream.JsonReader r, String path, int depth)
            throws IOException {
        if (depth > JSON_DEPTH_MAX) {
            throw new IOException("nested deeper than " + JSON_DEPTH_MAX);
        }
        switch (r.peek()) {
            case BEGIN_OBJECT -> {
                r.beginObject();
                java.util.Set<String> keys = new java.util.HashSet<>();
                while (r.hasNext()) {
                    String key = r.nextName();
                    if (!keys.add(key)) {
                        return java.util.Optional.of("\"" + key + "\" appears twice in " + (path.isEmpty() ? "the top level" : path));
                    }
                    java.util.Optional<String> inner = duplicateKey(r, path.isEmpty() ? key : path + "." + key, depth + 1);
                    if (inner.isPresent()) {
                        return inner;
                    }
                }
                r.endObject();
            }
            case BEGIN_ARRAY -> {
                r.beginArray();
                for (int i = 0; r.hasNext(); i++) {
                    java.util.Optional<String> inner = duplicateKey(r, path + "[" + i + "]", depth + 1);
                    if (inner.isPresent()) {
                        return inner;
                    }
                }
                r.endArray();
            }
            default -> r.skipValue();
        }
        return java.util.Optional.empty();
    }

    /** Kafka's file names each entry's topic at the entry's top level ({@code "topic": "t"}); ours nests it in "partition". */
    private static boolean isKafkaFormat(com.google.protobuf.Value partitions) {
        if (partitions == null || !partitions.hasListValue()) {
            return false;
        }
        for (com.google.protobuf.Value e : partitions.getListValue().getValuesList()) {
            if (e.hasStructValue() && e.getStructValue().containsFields("topic")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Kafka's reassignment file ({@code kafka-reassign-partitions --reassignment-json-file}):
     * {@code {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3],"log_dirs":[...]}]}}.
     * Every entry must have this shape (a file mixing both shapes is refused); log_dirs are
     * accepted only as "any", since replicas are placed by broker only.
     */
    private static ReassignmentPlan fromKafkaFormat(Path file, com.google.protobuf.Struct raw) {
        com.google.protobuf.Value version = raw.getFieldsMap().get("version");
        if (version != null && (!version.hasNumberValue() || version.getNumberValue() != 1)) {
            throw new BasaltCli.UsageException(file + ": plan version " + jsonText(version) + ", expected 1");
        }
        ReassignmentPlan.Builder b = ReassignmentPlan.newBuilder().setVersion(1);
        java.util.Set<String> seen = new java.util.HashSet<>();
        List<com.google.protobuf.Value> entries = raw.getFieldsMap().get("partitions").getListValue().getValuesList();
        for (int i = 0; i < entries.size(); i++) {
            String where = file + ": entry " + (i + 1);
            if (!entries.get(i).hasStructValue() || !entries.get(i).getStructValue().containsFields("topic")) {
                throw new BasaltCli.UsageException(where + " must be {\"topic\": ..., \"partition\": ..., \"replicas\": [...]}"
                        + " like the other entries");
            }
            Map<String, com.google.protobuf.Value> e = entries.get(i).getStructValue().getFieldsMap();
            for (String key : e.keySet()) {
                if (!List.of("topic", "partition", "replicas", "log_dirs").contains(key)) {
                    throw new BasaltCli.UsageException(where + " has an unknown key \"" + key + "\" (expected topic, partition,"
                            + " replicas, log_dirs)");
                }
            }
            com.google.protobuf.Value topicValue = e.get("topic");
            if (!topicValue.hasStringValue() || topicValue.getStringValue().isEmpty()) {
                throw new BasaltCli.UsageException(where + ": \"topic\" must be a topic name");
            }
            String topicName = topicValue.getStringValue();
            int partitionId = wholeNumber(e.get("partition"), where + ": \"partition\"");
            com.google.protobuf.Value replicas = e.get("replicas");
            if (replicas == null || !replicas.hasListValue() || replicas.getListValue().getValuesCount() == 0) {
                throw new BasaltCli.UsageException(where + " (" + topicName + "-" + partitionId + ") has no \"replicas\"");
            }
            List<Integer> target = new java.util.ArrayList<>();
            for (com.google.protobuf.Value r : replicas.getListValue().getValuesList()) {
                target.add(wholeNumber(r, where + ": a replica"));
            }
            com.google.protobuf.Value dirs = e.get("log_dirs");
            if (dirs != null && (!dirs.hasListValue() || dirs.getListValue().getValuesList().stream()
                    .anyMatch(d -> !d.hasStringValue() || !d.getStringValue().equals("any")))) {
                throw new BasaltCli.UsageException(where + ": \"log_dirs\" may only be \"any\" (replicas are placed by broker;"
                        + " each node has one data directory)");
            }
            if (dirs != null && dirs.getListValue().getValuesCount() != target.size()) {
                throw new BasaltCli.UsageException(where + ": \"log_dirs\" has " + dirs.getListValue().getValuesCount()
                        + " entries for " + BasaltCli.count(target.size(), "replica") + " (one per replica, or leave it out)");
            }
            if (!seen.add(topicName + "-" + partitionId)) {
                throw new BasaltCli.UsageException(file + ": " + topicName + "-" + partitionId + " appears more than once");
            }
            b.addPartitionsBuilder().setPartition(TopicPartitionRef.newBuilder().setTopic(topicName).setPartition(partitionId))
                    .addAllTargetReplicas(target);
        }
        return b.build();
    }

    /** A JSON value as written in a file (for messages); whole numbers without a fraction. */
    private static String jsonText(com.google.protobuf.Value v) {
        if (v.hasNumberValue() && v.getNumberValue() == Math.rint(v.getNumberValue()) && Math.abs(v.getNumberValue()) < 1e15) {
            return Long.toString((long) v.getNumberValue());
        }
        try {
            return JsonFormat.printer().omittingInsignificantWhitespace().print(v);
        } catch (InvalidProtocolBufferException e) {
            return v.toString();
        }
    }

    /** A JSON number that is a whole number from 0 to Integer.MAX_VALUE. */
    private static int wholeNumber(com.google.protobuf.Value v, String what) {
        if (v == null || !v.hasNumberValue()) {
            throw new BasaltCli.UsageException(what + " must be a number" + (v == null ? " (it is missing)" : ""));
        }
        double d = v.getNumberValue();
        if (d != Math.rint(d) || d < 0 || d > Integer.MAX_VALUE) {
            throw new BasaltCli.UsageException(what + " must be a whole number from 0, not " + jsonText(v));
        }
        return (int) d;
    }

    /**
     * What the typed parse cannot see: protobuf reads a missing number as 0, so an entry without
     * "partition" would move partition 0 (found probing a cluster). Each entry must name its topic,
     * partition and target replicas, each partition once, and the plan must move something.
     */
    private static void checkEntries(Path file, String text, ReassignmentPlan.Builder plan) throws InvalidProtocolBufferException {
        com.google.protobuf.Struct.Builder raw = com.google.protobuf.Struct.newBuilder();
        JsonFormat.parser().merge(text, raw);
        com.google.protobuf.Value entries = raw.getFieldsMap().get("partitions");
        if (plan.getPartitionsCount() == 0 || entries == null) {
            throw new BasaltCli.UsageException(file + ": the plan moves no partition (\"partitions\" is empty or missing)");
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (int i = 0; i < plan.getPartitionsCount(); i++) {
            com.google.protobuf.Struct entry = entries.getListValue().getValues(i).getStructValue();
            com.google.protobuf.Value ref = entry.getFieldsMap().get("partition");
            boolean named = ref != null && ref.getStructValue().containsFields("topic") && ref.getStructValue().containsFields("partition");
            if (!named) {
                throw new BasaltCli.UsageException(file + ": entry " + (i + 1) + " must name \"partition\": {\"topic\": ..., "
                        + "\"partition\": ...}");
            }
            var move = plan.getPartitions(i);
            if (move.getTargetReplicasCount() == 0) {
                throw new BasaltCli.UsageException(file + ": entry " + (i + 1) + " (" + move.getPartition().getTopic() + "-"
                        + move.getPartition().getPartition() + ") has no \"targetReplicas\"");
            }
            if (!seen.add(move.getPartition().getTopic() + "-" + move.getPartition().getPartition())) {
                throw new BasaltCli.UsageException(file + ": " + move.getPartition().getTopic() + "-" + move.getPartition().getPartition()
                        + " appears more than once");
            }
        }
    }

    /** Two samples {@link #VERIFY_SAMPLE_MS} apart give the copy rate and so the ETA ({@link CopyRate}). */
    private int verify(Admin admin, AdminWait t) {
        List<PartitionReassignment> first = t.get(admin.listPartitionReassignments(topics));
        long firstAt = System.nanoTime();
        if (first.isEmpty()) {
            return noneInProgress(admin, t);
        }
        try {
            Thread.sleep(VERIFY_SAMPLE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<PartitionReassignment> second = t.get(admin.listPartitionReassignments(topics));
        long windowMs = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - firstAt);
        if (second.isEmpty()) {
            return noneInProgress(admin, t); // they finished between the two samples (found probing)
        }
        CopyRate.Estimate rate = CopyRate.estimate(first, second, windowMs, throttles(admin, t, second));
        long remaining = 0;
        boolean known = true;
        root.out.printf("%-30s %-14s %-10s %-10s %-16s %-16s%n", "PARTITION", "TARGET", "ADDING", "REMOVING", "RECORDS-COPIED",
                "BYTES-COPIED");
        for (PartitionReassignment r : second) {
            PartitionReassignment.ReplicaProgress lead = r.progress().get(r.leader());
            StringBuilder records = new StringBuilder();
            StringBuilder bytes = new StringBuilder();
            for (int id : r.adding()) {
                PartitionReassignment.ReplicaProgress p = r.progress().get(id);
                records.append(records.length() == 0 ? "" : " ").append(p == null || lead == null ? "?"
                        : (p.logEndOffset() - lead.logStartOffset()) + "/" + (lead.logEndOffset() - lead.logStartOffset()));
                bytes.append(bytes.length() == 0 ? "" : " ").append(p == null || lead == null ? "?"
                        : p.sizeBytes() + "/" + lead.sizeBytes());
            }
            long left = r.bytesRemaining();
            known &= left >= 0;
            remaining += Math.max(0, left);
            root.out.printf("%-30s %-14s %-10s %-10s %-16s %-16s%n", r.topic() + "-" + r.partition(), r.target(), r.adding(),
                    r.removing(), records, bytes);
        }
        root.out.println();
        root.out.println(BasaltCli.count(second.size(), "partition") + " reassigning; " + (known ? remaining + " bytes left" : "some brokers did not report")
                + CopyRate.describe(rate));
        return BasaltCli.OK;
    }

    /**
     * The catch-up throttle (bytes/s) of each broker being added to, where one is set (its own
     * value, else the cluster-wide one); none when they cannot be read (the rate is then not capped).
     */
    private Map<Integer, Long> throttles(Admin admin, AdminWait t, List<PartitionReassignment> reassigning) {
        java.util.Set<Integer> adding = new java.util.TreeSet<>();
        reassigning.forEach(r -> adding.addAll(r.adding()));
        List<ConfigResource> brokers = adding.stream().map(id -> new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(id))).toList();
        Map<Integer, Long> out = new java.util.HashMap<>();
        try {
            t.get(admin.describeConfigs(brokers, List.of(THROTTLE_KEY))).forEach((resource, entries) -> entries.stream()
                    .filter(e -> e.name().equals(THROTTLE_KEY)).findFirst().ifPresent(e -> {
                        try {
                            out.put(Integer.parseInt(resource.name()), Long.parseLong(e.value().trim()));
                        } catch (NumberFormatException notANumber) {
                            // not a throttle this command can apply: the rate stays as measured
                        }
                    }));
        } catch (dev.basalt.client.BasaltException e) {
            return Map.of(); // the progress is still worth printing
        }
        return out;
    }

    private int noneInProgress(Admin admin, AdminWait t) {
        root.out.println("No reassignment in progress" + (topics.isEmpty() ? "." : " for " + String.join(", ", topics) + "."));
        if (topics.isEmpty() || t.get(admin.listPartitionReassignments(List.of())).isEmpty()) {
            removeThrottle(admin, t);
        }
        return BasaltCli.OK;
    }

    /**
     * Once no reassignment is left anywhere, removes the cluster-wide catch-up throttle that
     * --execute sets (as Kafka's --verify removes its throttles), unless --preserve-throttle.
     * Values set for one broker are left alone.
     */
    private void removeThrottle(Admin admin, AdminWait t) {
        Optional<String> set;
        try {
            set = clusterWideThrottle(admin, t);
            if (set.isEmpty()) {
                return;
            }
            if (preserveThrottle) {
                root.out.println("The catch-up throttle stays at " + set.get() + " bytes/s per broker (--preserve-throttle).");
                return;
            }
            setClusterWideThrottle(admin, t, Optional.empty());
        } catch (dev.basalt.client.BasaltException e) {
            root.err.println("basalt: warning: could not check or remove the catch-up throttle (" + BasaltCli.oneLine(e)
                    + "); remove " + THROTTLE_KEY + " on broker resource \"\" once no reassignment is left");
            return;
        }
        // Someone may have started a move between the listing and the removal: theirs keeps its throttle.
        if (!t.get(admin.listPartitionReassignments(List.of())).isEmpty()) {
            setClusterWideThrottle(admin, t, set);
            root.out.println("A reassignment started meanwhile: the catch-up throttle stays at " + set.get() + " bytes/s per broker.");
            return;
        }
        root.out.println("Removed the catch-up throttle (" + THROTTLE_KEY + " was " + set.get() + " bytes/s per broker).");
    }

}

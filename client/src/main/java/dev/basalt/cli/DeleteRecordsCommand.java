package dev.basalt.cli;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.basalt.client.Admin;
import dev.basalt.client.InvalidPartitionException;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.admin.DeletedRecords;
import dev.basalt.client.admin.PartitionDescription;
import dev.basalt.client.admin.TopicDescription;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt delete-records}: deletes partitions' records below an offset, in the spirit of
 * kafka-delete-records.sh, with {@link Admin#deleteRecords}: each partition's log start moves up to
 * the offset (-1: the high watermark, every committed record), consumers and
 * {@code get-offsets --time earliest} then start there.
 *
 * <p>The partitions and offsets come from {@code --offset-json-file}, in Kafka's format
 * ({@code {"partitions":[{"topic":"t","partition":0,"offset":10}],"version":1}}), or from
 * {@code --topic T [--partition P ...] --offset O} (every partition of the topic without
 * {@code --partition}). One line per partition on stdout, by topic then partition number, as
 * Kafka's tool prints them: {@code partition: t-0<TAB>low_watermark: 10}, or
 * {@code partition: t-0<TAB>error: ...} for one whose records were not deleted. When any was not,
 * stderr says how many and the exit code is the highest of theirs (1 refused, 3 cannot connect, 4
 * timed out or outcome unknown: REQUEST_TIMED_OUT, the replicas had not followed in time, and a leader
 * change before they do would undo the deletion).
 *
 * <p>Thread-safety: one invocation per instance.
 */
@Command(name = "delete-records", mixinStandardHelpOptions = true,
        description = "Delete partitions' records below an offset (their log start moves up to it), as"
                + " kafka-delete-records.sh: one 'partition: T-P<TAB>low_watermark: N' line each.")
final class DeleteRecordsCommand implements Callable<Integer> {
    @Option(names = "--offset-json-file", paramLabel = "FILE", description = "The partitions and offsets, in Kafka's format:"
            + " {\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 10}], \"version\": 1} (offset -1: the high"
            + " watermark, every committed record; \"version\" may be left out).")
    Path offsetJsonFile;

    @Option(names = "--topic", paramLabel = "TOPIC", description = "Instead of a file: the topic (a name, not a regular expression).")
    String topic;

    @Option(names = {"--partition", "--partitions"}, paramLabel = "P", split = ",", description = "With --topic: these"
            + " partitions, repeatable or comma-separated as get-offsets takes them (default: every partition of the topic).")
    List<Integer> partitions;

    @Option(names = "--offset", paramLabel = "OFFSET", description = "With --topic: delete the records below this offset;"
            + " -1: below the high watermark (every committed record).")
    Long offset;

    @Option(names = "--timeout-ms", defaultValue = "30000", paramLabel = "MS", description = "Give up after this long; the leaders wait up to"
            + " about that for their replicas to follow (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    BasaltCli root;

    /** The most partitions a file may name (the brokers take at most 10,000 per request; the client splits larger sets). */
    static final int FILE_PARTITIONS_MAX = 100_000;

    @Override
    public Integer call() {
        AdminWait wait = new AdminWait(timeoutMs); // refuses --timeout-ms <= 0 before any request
        checkOptions();
        Map<TopicPartition, Long> offsets = offsetJsonFile != null ? readOffsetFile(offsetJsonFile) : null;
        try (Admin admin = new Admin(root.clientConfig(BasaltCli.ClientKind.ADMIN, BasaltCli.adminTimeouts(timeoutMs)))) {
            long lookupMs = 0;
            if (offsets == null) {
                long startNs = System.nanoTime();
                offsets = fromTopic(admin, wait);
                lookupMs = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            }
            // --timeout-ms bounds the whole command: the deletion gets what the topic lookup left of it.
            long leftMs = Math.max(1, timeoutMs - lookupMs);
            Map<TopicPartition, CompletableFuture<DeletedRecords>> futures = admin.deleteRecords(offsets,
                    java.time.Duration.ofMillis(leftMs));
            Map<TopicPartition, CompletableFuture<DeletedRecords>> sorted = new TreeMap<>(futures);
            int code = BasaltCli.OK;
            int failed = 0;
            for (Map.Entry<TopicPartition, CompletableFuture<DeletedRecords>> e : sorted.entrySet()) {
                try {
                    DeletedRecords d = wait.get(e.getValue());
                    root.out.println("partition: " + e.getKey() + "\tlow_watermark: " + d.lowWatermark());
                } catch (RuntimeException ex) {
                    failed++;
                    code = Math.max(code, BasaltCli.exitCodeOf(ex));
                    root.out.println("partition: " + e.getKey() + "\terror: " + BasaltCli.oneLine(ex));
                    if (root.verbose) {
                        ex.printStackTrace(root.err);
                    }
                }
            }
            if (failed > 0) {
                root.err.println("basalt: error: the records of " + failed + " of " + BasaltCli.count(sorted.size(), "partition")
                        + " were not deleted (see their error lines)");
            }
            return code;
        }
    }

    /** One way to name the partitions, and what it needs, before any request. */
    private void checkOptions() {
        if (offsetJsonFile != null && (topic != null || partitions != null || offset != null)) {
            throw new BasaltCli.UsageException("--offset-json-file names the partitions and offsets: --topic, --partition and"
                    + " --offset cannot be used with it");
        }
        if (offsetJsonFile != null) {
            return;
        }
        if (topic == null) {
            throw new BasaltCli.UsageException(partitions != null || offset != null
                    ? "--partition and --offset need --topic" : "give --offset-json-file FILE, or --topic T [--partition P] --offset O");
        }
        if (topic.isEmpty()) {
            throw new BasaltCli.UsageException("--topic must name a topic");
        }
        if (offset == null) {
            throw new BasaltCli.UsageException("--topic needs --offset O (the records below O are deleted; -1: every committed"
                    + " record)");
        }
        if (offset < -1) {
            throw new BasaltCli.UsageException("--offset must be an offset from 0, or -1 for the high watermark, not " + offset);
        }
        if (partitions != null) {
            for (Integer p : partitions) {
                if (p == null || p < 0) {
                    throw new BasaltCli.UsageException("--partition takes partition numbers (0 or more), not " + p);
                }
            }
        }
    }

    /** --topic's partitions (all, or those of --partition: each one the topic must have) at --offset. */
    private Map<TopicPartition, Long> fromTopic(Admin admin, AdminWait wait) {
        TopicDescription d = TopicsCommand.describeNamed(admin, wait, List.of(topic)).get(topic);
        TreeSet<Integer> have = new TreeSet<>();
        d.partitions().stream().map(PartitionDescription::partition).forEach(have::add);
        TreeSet<Integer> wanted = partitions == null ? have : new TreeSet<>(partitions);
        List<String> lacking = wanted.stream().filter(p -> !have.contains(p)).map(String::valueOf).toList();
        if (!lacking.isEmpty()) {
            throw new InvalidPartitionException("topic " + topic + " has " + BasaltCli.count(have.size(), "partition")
                    + (have.isEmpty() ? "" : " (0-" + (have.size() - 1) + ")") + ": no partition " + String.join(", ", lacking));
        }
        Map<TopicPartition, Long> out = new LinkedHashMap<>();
        wanted.forEach(p -> out.put(new TopicPartition(topic, p), offset));
        return out;
    }

    /**
     * Kafka's offset file ({@code kafka-delete-records --offset-json-file}): an object with
     * "partitions", a list of {"topic", "partition", "offset"} objects, and "version" (1; may be left
     * out, as Kafka's tool allows). Anything else, a key twice in one object, a partition named
     * twice or a number that is not a whole number in range is a usage error naming the file and
     * the entry; a file that cannot be read is an I/O error.
     */
    static Map<TopicPartition, Long> readOffsetFile(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new BasaltCli.UsageException(file + " is not UTF-8 text, so not an offset JSON file");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + BasaltCli.ioReason(e), e);
        }
        try (JsonReader r = new JsonReader(new StringReader(text))) {
            r.setLenient(false);
            Map<TopicPartition, Long> out = readTop(file, r);
            boolean more;
            try {
                more = r.peek() != JsonToken.END_DOCUMENT;
            } catch (com.google.gson.stream.MalformedJsonException e) {
                more = true; // what a strict reader says of a second top-level value
            }
            if (more) {
                throw new BasaltCli.UsageException(file + " is not valid JSON: there is more after the top-level object");
            }
            return out;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            // gson's words (they say where: "at line 1 column 9 path $.partitions"), without its advice to parse leniently
            String why = String.valueOf(e.getMessage()).replace("Use JsonReader.setLenient(true) to accept malformed JSON", "malformed JSON")
                    .replaceFirst("^End of input", "the file ends too soon");
            throw new BasaltCli.UsageException(file + " is not valid JSON: " + why);
        }
    }

    private static final String SHAPE = "{\"partitions\": [{\"topic\": \"t\", \"partition\": 0, \"offset\": 10}], \"version\": 1}";

    private static Map<TopicPartition, Long> readTop(Path file, JsonReader r) throws IOException {
        if (r.peek() != JsonToken.BEGIN_OBJECT) {
            throw new BasaltCli.UsageException(file + ": expected a JSON object " + SHAPE + ", found " + describe(r.peek()));
        }
        r.beginObject();
        Set<String> keys = new HashSet<>();
        Map<TopicPartition, Long> out = null;
        while (r.hasNext()) {
            String key = r.nextName();
            if (!keys.add(key)) {
                throw new BasaltCli.UsageException(file + ": key \"" + key + "\" appears twice at the top level");
            }
            switch (key) {
                case "version" -> {
                    long version = wholeNumber(r, "\"version\"", Long.MIN_VALUE, Long.MAX_VALUE);
                    if (version != 1) {
                        throw new BasaltCli.UsageException(file + ": version " + version + " is not supported (expected 1)");
                    }
                }
                case "partitions" -> out = readEntries(file, r);
                default -> throw new BasaltCli.UsageException(file + ": unknown key \"" + key + "\" at the top level (expected"
                        + " \"partitions\" and \"version\": " + SHAPE + ")");
            }
        }
        r.endObject();
        if (out == null) {
            throw new BasaltCli.UsageException(file + ": no \"partitions\" key (expected " + SHAPE + ")");
        }
        if (out.isEmpty()) {
            throw new BasaltCli.UsageException(file + ": \"partitions\" is empty: no records to delete");
        }
        return out;
    }

    private static Map<TopicPartition, Long> readEntries(Path file, JsonReader r) throws IOException {
        if (r.peek() != JsonToken.BEGIN_ARRAY) {
            throw new BasaltCli.UsageException(file + ": \"partitions\" must be a list of {\"topic\", \"partition\", \"offset\"}"
                    + " objects, not " + describe(r.peek()));
        }
        Map<TopicPartition, Long> out = new LinkedHashMap<>();
        r.beginArray();
        for (int i = 1; r.hasNext(); i++) {
            String where = file + ": entry " + i + " of \"partitions\"";
            if (i > FILE_PARTITIONS_MAX) {
                throw new BasaltCli.UsageException(file + ": more than " + FILE_PARTITIONS_MAX + " partitions");
            }
            if (r.peek() != JsonToken.BEGIN_OBJECT) {
                throw new BasaltCli.UsageException(where + " must be {\"topic\": ..., \"partition\": ..., \"offset\": ...}, not "
                        + describe(r.peek()));
            }
            r.beginObject();
            Set<String> keys = new HashSet<>();
            String topicName = null;
            Long partition = null;
            Long offset = null;
            while (r.hasNext()) {
                String key = r.nextName();
                if (!keys.add(key)) {
                    throw new BasaltCli.UsageException(where + ": key \"" + key + "\" appears twice");
                }
                switch (key) {
                    case "topic" -> {
                        if (r.peek() != JsonToken.STRING) {
                            throw new BasaltCli.UsageException(where + ": \"topic\" must be a string, not " + describe(r.peek()));
                        }
                        topicName = r.nextString();
                        if (topicName.isEmpty()) {
                            throw new BasaltCli.UsageException(where + ": \"topic\" is empty");
                        }
                    }
                    case "partition" -> partition = wholeNumber(r, where + ": \"partition\"", 0, Integer.MAX_VALUE);
                    case "offset" -> offset = wholeNumber(r, where + ": \"offset\"", -1, Long.MAX_VALUE);
                    default -> throw new BasaltCli.UsageException(where + " has an unknown key \"" + key + "\" (expected topic,"
                            + " partition, offset)");
                }
            }
            r.endObject();
            List<String> missing = new ArrayList<>();
            if (topicName == null) {
                missing.add("\"topic\"");
            }
            if (partition == null) {
                missing.add("\"partition\"");
            }
            if (offset == null) {
                missing.add("\"offset\"");
            }
            if (!missing.isEmpty()) {
                throw new BasaltCli.UsageException(where + " has no " + String.join(", ", missing));
            }
            TopicPartition tp = new TopicPartition(topicName, partition.intValue());
            if (out.put(tp, offset) != null) {
                throw new BasaltCli.UsageException(file + ": " + tp + " appears more than once");
            }
        }
        r.endArray();
        return out;
    }

    /** A JSON number that is a whole number from {@code min} to {@code max}; its text is read as written (no rounding). */
    private static long wholeNumber(JsonReader r, String what, long min, long max) throws IOException {
        if (r.peek() != JsonToken.NUMBER) {
            throw new BasaltCli.UsageException(what + " must be a number, not " + describe(r.peek()));
        }
        String text = r.nextString();
        long v;
        try {
            if (!text.matches("-?[0-9]+")) {
                throw new NumberFormatException(text);
            }
            v = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new BasaltCli.UsageException(what + " must be a whole number" + (min == -1 ? " from -1" : min == 0 ? " from 0" : "")
                    + ", not " + text);
        }
        if (v < min || v > max) {
            throw new BasaltCli.UsageException(what + " must be " + (min == -1 ? "an offset from 0, or -1 for the high watermark"
                    : "a whole number from " + min + " to " + max) + ", not " + text);
        }
        return v;
    }

    /** A JSON token as a user reads it in a message. */
    private static String describe(JsonToken t) {
        return switch (t) {
            case BEGIN_ARRAY -> "a list";
            case BEGIN_OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "true or false";
            case NULL -> "null";
            case END_DOCUMENT -> "nothing (the file is empty)";
            default -> t.name();
        };
    }
}

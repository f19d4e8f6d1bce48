package dev.basalt.cli;

import dev.basalt.client.OffsetAndMetadata;
import dev.basalt.client.TopicPartition;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The text forms of {@code groups --reset-offsets}, with no cluster in sight: {@code --topic
 * T[:P,P...]} selections, and the CSV of {@code --export} (written) and {@code --from-file} (read),
 * one {@code topic,partition,offset} line per partition as kafka-consumer-groups.sh writes and
 * reads it for one group (no header; its four-column form, with the group first, is for several
 * groups at once and is refused here: the group is {@code --group}).
 *
 * <p>Thread-safety: stateless.
 */
final class ResetOffsetsSpec {
    /** Lines a --from-file CSV may have: far more partitions than a group reads, and a bound on what is held in memory. */
    static final int FROM_FILE_LINES_MAX = 100_000;

    private ResetOffsetsSpec() {
    }

    /**
     * Each {@code --topic} value as topic → partitions, an empty set meaning every partition.
     * Topic names cannot hold ':' (letters, digits, '.', '_', '-'), so the first one starts the
     * partition list. The same topic twice is the union of both (a whole topic wins).
     */
    static Map<String, TreeSet<Integer>> parseTopics(List<String> specs) {
        Map<String, TreeSet<Integer>> out = new TreeMap<>();
        for (String spec : specs) {
            int colon = spec.indexOf(':');
            String topic = colon < 0 ? spec : spec.substring(0, colon);
            if (topic.isEmpty()) {
                throw new BasaltCli.UsageException("--topic takes T or T:P[,P...], not '" + spec + "'");
            }
            TreeSet<Integer> parts = new TreeSet<>();
            if (colon >= 0) {
                for (String p : spec.substring(colon + 1).split(",", -1)) {
                    parts.add(partition(p.trim(), "--topic " + spec));
                }
            }
            TreeSet<Integer> had = out.get(topic);
            if (had == null) {
                out.put(topic, parts);
            } else if (had.isEmpty() || parts.isEmpty()) {
                had.clear(); // the whole topic
            } else {
                had.addAll(parts);
            }
        }
        return out;
    }

    private static int partition(String p, String where) {
        if (!p.matches("\\d{1,10}")) {
            throw new BasaltCli.UsageException(where + ": '" + p + "' is not a partition number (0 or more)");
        }
        long n = Long.parseLong(p);
        if (n > Integer.MAX_VALUE) {
            throw new BasaltCli.UsageException(where + ": partition " + p + " is out of range");
        }
        return (int) n;
    }

    /**
     * Reads a --from-file CSV: {@code topic,partition,offset} per line; blank lines are skipped.
     * A line that is not that, a partition given twice, an offset below 0 or more than
     * {@link #FROM_FILE_LINES_MAX} lines is a usage error naming the file and line; a file that
     * cannot be read is an {@link UncheckedIOException} (exit 5).
     */
    static Map<TopicPartition, Long> readCsv(Path file) {
        Map<TopicPartition, Long> out = new TreeMap<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                lineNo++;
                if (lineNo > FROM_FILE_LINES_MAX) {
                    throw new BasaltCli.UsageException("--from-file " + file + " has more than " + FROM_FILE_LINES_MAX + " lines");
                }
                if (line.isBlank()) {
                    continue;
                }
                parseLine(line, file + ":" + lineNo, out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --from-file " + file + ": " + BasaltCli.ioReason(e), e);
        }
        if (out.isEmpty()) {
            throw new BasaltCli.UsageException("--from-file " + file + " names no partition (lines: topic,partition,offset)");
        }
        return out;
    }

    private static void parseLine(String line, String where, Map<TopicPartition, Long> out) {
        String[] f = line.split(",", -1);
        if (f.length != 3) {
            throw new BasaltCli.UsageException(where + ": expected topic,partition,offset"
                    + (f.length == 4 ? " (one group's lines, without the group column: the group is --group)" : "")
                    + ", not '" + line + "'");
        }
        String topic = f[0].trim();
        if (topic.isEmpty()) {
            throw new BasaltCli.UsageException(where + ": no topic in '" + line + "'");
        }
        int partition = partition(f[1].trim(), where);
        String o = f[2].trim();
        long offset;
        try {
            offset = Long.parseLong(o);
        } catch (NumberFormatException e) {
            throw new BasaltCli.UsageException(where + ": '" + o + "' is not an offset (a whole number, 0 or more)");
        }
        if (offset < 0) {
            throw new BasaltCli.UsageException(where + ": offset " + offset + " is below 0");
        }
        TopicPartition tp = new TopicPartition(topic, partition);
        if (out.put(tp, offset) != null) {
            throw new BasaltCli.UsageException(where + ": " + tp + " is given twice");
        }
    }

    /** The --export CSV of a plan: {@code topic,partition,offset} lines, as {@link #readCsv} reads them. */
    static String csv(Map<TopicPartition, OffsetAndMetadata> plan) {
        StringBuilder sb = new StringBuilder();
        plan.forEach((tp, o) -> sb.append(tp.topic()).append(',').append(tp.partition()).append(',').append(o.offset()).append('\n'));
        return sb.toString();
    }
}

package dev.basalt.cli;

import dev.basalt.client.BasaltException;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.RecordMetadata;
import dev.basalt.client.RecordTooLargeException;
import dev.basalt.client.serialization.StringSerializer;
import dev.basalt.record.Header;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt produce}: one record per line of stdin (like kafka-console-producer). With
 * {@code --headers-delimiter}, the line starts with its headers; with {@code --key-separator},
 * the text before the first separator is the key; {@code --null-marker} sends a null key,
 * value (a tombstone) or header value. Stops at end of
 * input, after every record was acknowledged; the first failure ends the command with its
 * exit code. Thread-safety: one invocation per instance.
 */
@Command(name = "produce", mixinStandardHelpOptions = true, description = "Send one record per stdin line to a topic.")
final class ProduceCommand implements Callable<Integer> {
    @Option(names = "--topic", required = true, description = "Topic to write to.")
    String topic;

    @Option(names = "--key-separator", paramLabel = "S", description = "Split each line at the first S into key and value.")
    String keySeparator;

    @Option(names = "--null-marker", paramLabel = "S",
            description = "A key, value or header value that is exactly S is sent as null: a value of S is a tombstone"
                    + " (consume prints nulls as 'null', or its --null-literal: --null-marker null reads its output back).")
    String nullMarker;

    @Option(names = "--headers-delimiter", paramLabel = "S",
            description = "Each line starts with its headers, ended by the first S: key=value pairs joined by commas (the"
                    + " form consume --print-headers prints after the value; an empty list: no headers; a header value cannot"
                    + " contain a comma), then the key (with --key-separator) and the value. Every line must contain S,"
                    + " even one without headers (it starts with S): the first line without it stops the command"
                    + " (exit 2), the lines before it sent.")
    String headersDelimiter;

    @Option(names = "--acks", defaultValue = "all", description = "0, 1 or all (default: ${DEFAULT-VALUE}).")
    String acks;

    @Option(names = "--partition", description = "Write every record to this partition (default: by key, sticky without key).")
    Integer partition;

    @Option(names = "--linger-ms", defaultValue = "5", description = "Batch wait (default: ${DEFAULT-VALUE}).")
    long lingerMs;

    @Option(names = "--producer-property", paramLabel = "KEY=VALUE", description = "Any producer config, repeatable.")
    Map<String, String> props = new LinkedHashMap<>();

    @Option(names = "--timeout-ms", defaultValue = "10000",
            description = "How long to wait for the topic's metadata or for buffer space (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--delivery-timeout-ms", defaultValue = "120000",
            description = "Bound from reading a line to its acknowledgement, retries included (default: ${DEFAULT-VALUE});"
                    + " below 30 s plus --linger-ms it also shortens request.timeout.ms to fit.")
    long deliveryTimeoutMs;

    @ParentCommand
    BasaltCli root;

    private static final long REQUEST_TIMEOUT_MS_DEFAULT = 30_000;

    @Override
    public Integer call() {
        if (timeoutMs <= 0) {
            throw new BasaltCli.UsageException("--timeout-ms must be positive, not " + timeoutMs);
        }
        Map<String, String> overrides = new LinkedHashMap<>();
        overrides.put("acks", acks);
        overrides.put("linger.ms", String.valueOf(lingerMs));
        overrides.put("max.block.ms", String.valueOf(timeoutMs));
        if (deliveryTimeoutMs <= lingerMs) {
            throw new BasaltCli.UsageException("--delivery-timeout-ms must be more than --linger-ms (" + lingerMs + ")");
        }
        if (keySeparator != null && keySeparator.isEmpty()) {
            throw new BasaltCli.UsageException("--key-separator must not be empty (every key would be empty)");
        }
        if (headersDelimiter != null && headersDelimiter.isEmpty()) {
            throw new BasaltCli.UsageException("--headers-delimiter must not be empty (every header list would be empty)");
        }
        overrides.put("delivery.timeout.ms", String.valueOf(deliveryTimeoutMs));
        // The producer refuses delivery.timeout.ms < linger.ms + request.timeout.ms (Kafka's rule):
        // a shorter delivery bound shortens the request timeout to fit, unless one was given (then
        // a conflict is refused by name).
        boolean requestTimeoutGiven = props.containsKey("request.timeout.ms")
                || root.clientConfig(BasaltCli.ClientKind.PRODUCER, Map.of()).containsKey("request.timeout.ms");
        if (!requestTimeoutGiven && deliveryTimeoutMs - lingerMs < REQUEST_TIMEOUT_MS_DEFAULT) {
            overrides.put("request.timeout.ms", String.valueOf(deliveryTimeoutMs - lingerMs));
        }
        overrides.putAll(props);
        if (partition != null && partition < 0) {
            throw new BasaltCli.UsageException("--partition must be at least 0, not " + partition); // before connecting
        }
        AtomicReference<Throwable> firstFailure = new AtomicReference<>();
        Map<String, Object> producerConfig = root.clientConfig(BasaltCli.ClientKind.PRODUCER, overrides);
        try (Producer<String, String> producer = new Producer<>(producerConfig, new StringSerializer(),
                new StringSerializer())) {
            // the producer has checked the value: a number of bytes, at most 256 MiB
            Object requestBytesMax = producerConfig.get(dev.basalt.client.ProducerConfig.MAX_REQUEST_SIZE);
            if (requestBytesMax != null) {
                lineCharsMax = Integer.parseInt(requestBytesMax.toString().trim());
            }
            int count = producer.partitionCount(topic);
            if (partition != null && partition >= count) {
                // the topic's partitions are the cluster's answer, as for consume (found probing:
                // the same mistake exited 2 here and 1 there)
                throw new dev.basalt.client.InvalidPartitionException("topic " + topic + " has partitions 0.." + (count - 1)
                        + ", not " + partition);
            }
            String badLine = sendLines(producer, firstFailure);
            producer.flush();
            Throwable f = firstFailure.get();
            if (f instanceof BasaltException b) {
                if (firstFailedLine.get() > 0) {
                    // found probing: a batch refused as invalid fails every record in it, so the
                    // line named first may not be the one at fault (the error names its position)
                    root.err.println("basalt: the first record that failed was line " + firstFailedLine.get()
                            + (b instanceof dev.basalt.client.InvalidRecordException
                            ? " (its whole batch was refused: the record at fault may be a later line)"
                            : ""));
                }
                throw b;
            }
            if (tooLarge != null) {
                throw tooLarge; // after the flush: the lines before it are written
            }
            if (badLine != null) {
                throw new BasaltCli.UsageException(badLine);
            }
        }
        return BasaltCli.OK;
    }

    /**
     * Sends stdin's lines until its end, the first failure or the first line without the key
     * separator; returns null, or what is wrong with that line (the lines before it are sent).
     */
    private String sendLines(Producer<String, String> producer, AtomicReference<Throwable> firstFailure) {
        LineReader in = new LineReader(new BufferedReader(new InputStreamReader(root.in, StandardCharsets.UTF_8)));
        String line;
        long lineNumber = 0;
        try {
            while ((line = in.next(lineCharsMax)) != null && firstFailure.get() == null) {
                lineNumber++;
                if (line == TOO_LONG) {
                    // found probing: a 200 MB line without a newline was read whole before its size
                    // was checked, and the CLI died of OutOfMemoryError with a stack trace
                    tooLarge = new RecordTooLargeException("line " + lineNumber + ": longer than " + lineCharsMax
                            + " characters, more than max.request.size (" + lineCharsMax + " bytes) allows; stopped there, "
                            + (lineNumber - 1) + " line(s) before it were sent", null);
                    return null;
                }
                String rest = line;
                List<Header> headers = List.of();
                if (headersDelimiter != null) {
                    int at = rest.indexOf(headersDelimiter);
                    if (at < 0) {
                        // found probing: the help did not say that a line without headers still needs the delimiter
                        return badLine(lineNumber, "has no headers delimiter '" + headersDelimiter + "' (with --headers-delimiter"
                                + " every line must contain it; a line without headers starts with it)", line);
                    }
                    List<Header> parsed = new ArrayList<>();
                    String problem = parseHeaders(rest.substring(0, at), parsed);
                    if (problem != null) {
                        return badLine(lineNumber, problem, line);
                    }
                    headers = parsed;
                    rest = rest.substring(at + headersDelimiter.length());
                }
                String key = null;
                String value = rest;
                if (keySeparator != null) {
                    int at = rest.indexOf(keySeparator);
                    if (at < 0) {
                        return badLine(lineNumber, "has no key separator '" + keySeparator + "'", line);
                    }
                    key = orNull(rest.substring(0, at));
                    value = rest.substring(at + keySeparator.length());
                }
                value = orNull(value);
                CompletableFuture<RecordMetadata> f = producer.send(new ProducerRecord<>(topic, partition, null, key, value, headers));
                RecordTooLargeException refused = refusedAtOnce(f);
                if (refused != null) {
                    // found probing: the error did not say which line, nor what had been sent before it
                    tooLarge = new RecordTooLargeException("line " + lineNumber + ": " + refused.getMessage() + "; stopped there, "
                            + (lineNumber - 1) + " line(s) before it were sent", refused);
                    return null;
                }
                long sentLine = lineNumber;
                f.whenComplete((m, e) -> {
                    if (e != null && firstFailure.compareAndSet(null, e)) {
                        firstFailedLine.set(sentLine);
                    }
                });
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read stdin: " + e.getMessage(), e);
        }
        return null;
    }

    /** What {@link LineReader#next} returns for a line longer than its bound (compared by identity). */
    static final String TOO_LONG = new String("line too long");

    /**
     * Lines of a reader, ended by \n, \r or \r\n as {@link BufferedReader#readLine} ends them, each
     * read only up to a bound: {@link #TOO_LONG} once a line passes it (the rest is not read: nothing
     * after it is sent). A line ended by \r is returned at once, the \n that may follow it skipped
     * by the next call (no waiting for the next character of a live pipe).
     */
    static final class LineReader {
        private final BufferedReader in;
        private boolean skipLf;

        LineReader(BufferedReader in) {
            this.in = in;
        }

        /** The next line, or null at the end of the input. */
        String next(int charsMax) throws IOException {
            int c = in.read();
            if (skipLf && c == '\n') {
                c = in.read();
            }
            skipLf = false;
            if (c < 0) {
                return null;
            }
            StringBuilder line = new StringBuilder();
            while (c >= 0 && c != '\n' && c != '\r') {
                if (line.length() >= charsMax) {
                    return TOO_LONG;
                }
                line.append((char) c);
                c = in.read();
            }
            skipLf = c == '\r';
            return line.toString();
        }
    }

    private static String badLine(long lineNumber, String problem, String line) {
        String shown = line.length() > LINE_SHOWN_CHARS_MAX ? line.substring(0, LINE_SHOWN_CHARS_MAX) + "..." : line;
        return "line " + lineNumber + " " + problem + "; stopped there, " + (lineNumber - 1) + " line(s) before it were sent: "
                + shown;
    }

    /** The text as sent: null if it is the null marker. */
    private String orNull(String text) {
        return text.equals(nullMarker) ? null : text;
    }

    /** Parses "k=v,k2=v2" into {@code out}; returns what is wrong with it, or null. */
    private String parseHeaders(String text, List<Header> out) {
        if (text.isEmpty()) {
            return null;
        }
        for (String pair : text.split(",", -1)) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                return "has a header '" + pair + "' that is not key=value (headers: k=v pairs joined by commas)";
            }
            if (out.size() >= HEADERS_PER_LINE_MAX) {
                return "has more than " + HEADERS_PER_LINE_MAX + " headers";
            }
            String v = orNull(pair.substring(eq + 1));
            out.add(new Header(pair.substring(0, eq), v == null ? null : v.getBytes(StandardCharsets.UTF_8)));
        }
        return null;
    }

    /** The producer's refusal of a record too large to send, which it answers before sending anything; else null. */
    private static RecordTooLargeException refusedAtOnce(CompletableFuture<RecordMetadata> f) {
        if (!f.isCompletedExceptionally()) {
            return null;
        }
        try {
            f.join();
            return null;
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
            return e.getCause() instanceof RecordTooLargeException r ? r : null;
        }
    }

    /** A line too large to send, found before it was sent (set by sendLines, thrown after the flush). */
    private RecordTooLargeException tooLarge;
    /**
     * Longest input line read: max.request.size, in characters (each at least one byte of the
     * request), so a longer line is refused without being read whole.
     */
    private int lineCharsMax = 1024 * 1024;
    /** The line of the first send that failed in flight (0 while none did). */
    private final java.util.concurrent.atomic.AtomicLong firstFailedLine = new java.util.concurrent.atomic.AtomicLong();

    /** Headers one line may carry. */
    private static final int HEADERS_PER_LINE_MAX = 1000;

    /** How much of a malformed line the error shows. */
    private static final int LINE_SHOWN_CHARS_MAX = 200;
}

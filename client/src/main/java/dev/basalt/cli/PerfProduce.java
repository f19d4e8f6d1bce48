package dev.basalt.cli;

import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.serialization.ByteArraySerializer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt perf produce}: sends --records keyless records of --record-size random bytes as
 * fast as possible (or at --throughput records/s) and reports throughput and send→ack latency
 * like Kafka's ProducerPerformance. Thread-safety: one invocation per instance.
 */
@Command(name = "produce", mixinStandardHelpOptions = true, description = "Producer throughput and send-to-ack latency.")
final class PerfProduce implements Callable<Integer> {
    @Mixin
    PerfCommand.Common common;

    @Option(names = "--record-size", required = true, description = "Value bytes per record.")
    int recordSize;

    @Option(names = "--acks", defaultValue = "1", description = "0, 1 or all (default: ${DEFAULT-VALUE}).")
    String acks;

    @Option(names = "--batch-size", defaultValue = "65536", description = "batch.size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--linger-ms", defaultValue = "5", description = "linger.ms (default: ${DEFAULT-VALUE}).")
    long lingerMs;

    @Option(names = "--buffer-memory", defaultValue = "33554432",
            description = "buffer.memory (default: ${DEFAULT-VALUE}, Kafka's default, so latencies under full load compare).")
    long bufferMemory;

    @Option(names = "--throughput", defaultValue = "-1", description = "Records per second cap; -1 = unlimited (default).")
    long throughput;

    @Option(names = "--producer-property", paramLabel = "KEY=VALUE", description = "Any producer config, repeatable.")
    Map<String, String> props = new LinkedHashMap<>();

    @ParentCommand
    PerfCommand perf;

    @Override
    public Integer call() {
        common.validate();
        if (recordSize < 0) {
            throw new BasaltCli.UsageException("--record-size must be >= 0");
        }
        if (throughput == 0 || throughput < -1) {
            throw new BasaltCli.UsageException("--throughput must be -1 (unlimited) or a positive number of records per second, not "
                    + throughput);
        }
        String idempotence = props.get("enable.idempotence");
        String acksSet = props.getOrDefault("acks", acks).trim(); // --producer-property acks=... wins, as it does below
        if (idempotence != null && idempotence.trim().equalsIgnoreCase("true") && !acksSet.equals("all") && !acksSet.equals("-1")) {
            // perf's --acks defaults to 1 (Kafka's tool's habit), the producer's to all: name the option, not just the config
            throw new BasaltCli.UsageException("--producer-property enable.idempotence=true needs --acks all (acks is " + acksSet
                    + (props.containsKey("acks") ? "" : "; perf's --acks defaults to 1") + ")");
        }
        BasaltCli root = perf.root;
        Map<String, String> cfg = new LinkedHashMap<>();
        cfg.put("acks", acks);
        cfg.put("batch.size", String.valueOf(batchSize));
        cfg.put("linger.ms", String.valueOf(lingerMs));
        cfg.put("buffer.memory", String.valueOf(bufferMemory));
        cfg.put("max.request.size", String.valueOf(Math.max(1 << 20, batchSize * 4)));
        cfg.putAll(props);
        long requestBytesMax;
        try {
            requestBytesMax = Long.parseLong(cfg.get("max.request.size").trim());
        } catch (NumberFormatException e) {
            throw new BasaltCli.UsageException("max.request.size must be a number of bytes, not " + cfg.get("max.request.size"));
        }
        if (recordSize > requestBytesMax) {
            // Checked before the payload is allocated: --record-size 999999999 ran out of heap.
            throw new BasaltCli.UsageException("--record-size " + recordSize + " is over max.request.size " + requestBytesMax
                    + ": every record would be refused (raise it with --producer-property max.request.size=N)");
        }
        PerfCommand.ensureTopic(root, common);
        // Letters A-Z, as Kafka's perf tool sends: printable, one line per record when consumed
        // (random bytes held newlines, so `consume | wc -l` counted about twice the records).
        byte[] payload = new byte[recordSize];
        SplittableRandom letters = new SplittableRandom(1);
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) ('A' + letters.nextInt(26));
        }
        AtomicReference<Throwable> firstError = new AtomicReference<>();
        LatencyStats stats;
        try (Producer<byte[], byte[]> producer = new Producer<>(root.clientConfig(BasaltCli.ClientKind.PRODUCER, cfg), new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.partitionCount(common.topic);
            stats = new LatencyStats("sent", common.records, 500_000, common.reportingIntervalMs, root.out, System.nanoTime());
            LatencyStats ticked = stats;
            java.util.concurrent.ScheduledExecutorService ticker = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "basalt-perf-progress");
                t.setDaemon(true);
                return t;
            });
            try {
                ticker.scheduleWithFixedDelay(() -> ticked.tick(sent.get() - ticked.count() - ticked.errors(),
                                producer.lastRetriedError().orElse(null), System.nanoTime()),
                        1, 1, java.util.concurrent.TimeUnit.SECONDS);
                sendAll(producer, payload, stats, firstError);
                producer.flush();
            } finally {
                ticker.shutdownNow();
            }
            stats.printTotal(System.nanoTime());
            printMetrics(root.out, "Producer metrics", producer.metrics());
        }
        if (stats.errors() > 0) {
            // The error itself follows as the command's error line.
            root.err.println(stats.errors() + " of the " + sent.get() + " records sent failed"
                    + (sent.get() < common.records ? "; sending stopped after the first failure (" + common.records + " asked for)" : ""));
        }
        PerfCommand.rethrow(firstError.get());
        return BasaltCli.OK;
    }

    /** The client's own metrics() in one line, values rounded: {@code name=value, ...}. */
    static void printMetrics(java.io.PrintStream out, String title, Map<String, Double> metrics) {
        StringBuilder b = new StringBuilder(title).append(':');
        metrics.forEach((k, v) -> b.append(' ').append(k).append('=')
                .append(v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf(v.longValue()) : String.format(java.util.Locale.ROOT, "%.2f", v)));
        out.println(b);
    }

    /** Records handed to the producer so far (the progress line's pending count). */
    private final java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();

    private void sendAll(Producer<byte[], byte[]> producer, byte[] payload, LatencyStats stats, AtomicReference<Throwable> firstError) {
        long start = System.nanoTime();
        for (long i = 0; i < common.records && firstError.get() == null; i++) {
            if (throughput > 0) {
                long due = start + (long) (i * 1e9 / throughput);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
            long sendNanos = System.nanoTime();
            sent.incrementAndGet();
            producer.send(new ProducerRecord<>(common.topic, null, null, null, payload, null)).whenComplete((m, e) -> {
                long now = System.nanoTime();
                if (e != null) {
                    stats.error();
                    firstError.compareAndSet(null, e);
                } else {
                    stats.record((now - sendNanos) / 1_000, payload.length, now);
                }
            });
        }
    }
}

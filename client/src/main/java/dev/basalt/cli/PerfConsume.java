package dev.basalt.cli;

import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.ConsumerRecords;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.ByteArrayDeserializer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt perf consume}: reads --records records from the beginning of every partition
 * of the topic and reports throughput like Kafka's ConsumerPerformance. The latency columns
 * are the time each poll() call took to return records (the consumer's wait), since records
 * produced before the run have no meaningful end-to-end latency; use {@code perf e2e} for that.
 * Thread-safety: one invocation per instance.
 */
@Command(name = "consume", mixinStandardHelpOptions = true, description = "Consumer throughput from the beginning of a topic.")
final class PerfConsume implements Callable<Integer> {
    @Mixin
    PerfCommand.Common common;

    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Give up when no record arrived for this long (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--fetch-max-bytes", defaultValue = "52428800", description = "fetch.max.bytes (default: ${DEFAULT-VALUE}).")
    int fetchMaxBytes;

    @Option(names = "--max-partition-fetch-bytes", defaultValue = "1048576",
            description = "max.partition.fetch.bytes (default: ${DEFAULT-VALUE}).")
    int partitionFetchBytes;

    @Option(names = "--consumer-property", paramLabel = "KEY=VALUE", description = "Any consumer config, repeatable.")
    Map<String, String> props = new LinkedHashMap<>();

    @ParentCommand
    PerfCommand perf;

    @Override
    public Integer call() {
        common.validate();
        BasaltCli root = perf.root;
        Map<String, String> cfg = new LinkedHashMap<>();
        cfg.put("auto.offset.reset", "earliest");
        cfg.put("fetch.max.bytes", String.valueOf(fetchMaxBytes));
        cfg.put("max.partition.fetch.bytes", String.valueOf(partitionFetchBytes));
        cfg.put("max.poll.records", "10000");
        cfg.put("default.api.timeout.ms", "15000");
        cfg.putAll(props);
        try (Consumer<byte[], byte[]> consumer = new Consumer<>(root.clientConfig(BasaltCli.ClientKind.CONSUMER, cfg), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(common.topic);
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            LatencyStats stats = new LatencyStats("consumed", common.records, 500_000, common.reportingIntervalMs, root.out,
                    System.nanoTime());
            long consumed = consume(consumer, stats);
            stats.printTotal(System.nanoTime());
            PerfProduce.printMetrics(root.out, "Consumer metrics", consumer.metrics());
            if (consumed < common.records) {
                root.err.println("only " + consumed + " of " + common.records + " records arrived (no record for " + timeoutMs + " ms)");
                throw new dev.basalt.client.ClientTimeoutException("consumed " + consumed + " of " + common.records + " records");
            }
        }
        return BasaltCli.OK;
    }

    private long consume(Consumer<byte[], byte[]> consumer, LatencyStats stats) {
        long consumed = 0;
        long lastProgress = System.nanoTime();
        while (consumed < common.records) {
            long pollStart = System.nanoTime();
            ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
            long now = System.nanoTime();
            long pollMicros = (now - pollStart) / 1_000;
            int n = 0;
            long bytes = 0;
            for (ConsumerRecord<byte[], byte[]> r : records) {
                if (consumed + n >= common.records) {
                    break;
                }
                bytes += Math.max(0, r.serializedValueSize()) + Math.max(0, r.serializedKeySize());
                n++;
            }
            stats.recordAll(pollMicros, n, bytes, now);
            consumed += n;
            if (!records.isEmpty()) {
                lastProgress = now;
            } else if ((now - lastProgress) / 1_000_000 >= timeoutMs) {
                break;
            }
        }
        return consumed;
    }
}

package dev.basalt.cli;

import dev.basalt.client.ClientTimeoutException;
import dev.basalt.client.Consumer;
import dev.basalt.client.ConsumerRecord;
import dev.basalt.client.Producer;
import dev.basalt.client.ProducerRecord;
import dev.basalt.client.TopicPartition;
import dev.basalt.client.serialization.ByteArrayDeserializer;
import dev.basalt.client.serialization.ByteArraySerializer;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code basalt perf e2e}: like Kafka's EndToEndLatency, sends one record at a time, waits for
 * its acknowledgement, then polls until a consumer of the topic receives it; the latency is
 * from send to receipt. Each record carries its sequence number in its first 8 bytes, so a
 * stale record is never mistaken for the one awaited. Thread-safety: one invocation per instance.
 */
@Command(name = "e2e", mixinStandardHelpOptions = true, description = "End-to-end latency: send one record, consume it, repeat.")
final class PerfEndToEnd implements Callable<Integer> {
    @Mixin
    PerfCommand.Common common;

    @Option(names = "--record-size", defaultValue = "1024", description = "Value bytes per record, >= 8 (default: ${DEFAULT-VALUE}).")
    int recordSize;

    @Option(names = "--acks", defaultValue = "1", description = "0, 1 or all (default: ${DEFAULT-VALUE}).")
    String acks;

    @Option(names = "--batch-size", defaultValue = "65536", description = "batch.size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--linger-ms", defaultValue = "0", description = "linger.ms (default: ${DEFAULT-VALUE}).")
    long lingerMs;

    @Option(names = "--fetch-max-wait-ms", defaultValue = "500", description = "The consumer's fetch.max.wait.ms (default:"
            + " ${DEFAULT-VALUE}, a long poll the broker answers when the record arrives). Kafka's EndToEndLatency uses 0"
            + " (no long poll); with 0 Basalt's consumer measured slower (bench/RESULTS.md).")
    long fetchMaxWaitMs;

    @Option(names = "--warmup-records", defaultValue = "0", description = "Records sent and received first, not counted"
            + " (default: ${DEFAULT-VALUE}, like Kafka's EndToEndLatency). The first ~100 records of a fresh client JVM run"
            + " while its code compiles and make most of a 5,000-record run's slowest 1%% (bench/RESULTS.md); a few hundred"
            + " here measure the steady state.")
    long warmupRecords;

    @Option(names = "--timeout-ms", defaultValue = "10000", description = "Fail when a record is not received within this (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @ParentCommand
    PerfCommand perf;

    @Override
    public Integer call() {
        common.validate();
        if (recordSize < 8) {
            throw new BasaltCli.UsageException("--record-size must be at least 8 (the sequence number)");
        }
        if (warmupRecords < 0) {
            throw new BasaltCli.UsageException("--warmup-records must be 0 or more");
        }
        BasaltCli root = perf.root;
        PerfCommand.ensureTopic(root, common);
        Map<String, String> pcfg = new LinkedHashMap<>();
        pcfg.put("acks", acks);
        pcfg.put("batch.size", String.valueOf(batchSize));
        pcfg.put("linger.ms", String.valueOf(lingerMs));
        Map<String, String> ccfg = new LinkedHashMap<>();
        ccfg.put("auto.offset.reset", "latest");
        ccfg.put("fetch.max.wait.ms", String.valueOf(fetchMaxWaitMs));
        ccfg.put("default.api.timeout.ms", "15000");
        try (Producer<byte[], byte[]> producer = new Producer<>(root.clientConfig(BasaltCli.ClientKind.PRODUCER, pcfg), new ByteArraySerializer(), new ByteArraySerializer());
             Consumer<byte[], byte[]> consumer = new Consumer<>(root.clientConfig(BasaltCli.ClientKind.CONSUMER, ccfg), new ByteArrayDeserializer(),
                     new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(common.topic);
            consumer.assign(parts);
            consumer.seekToEnd(parts);
            parts.forEach(consumer::position);
            byte[] payload = new byte[recordSize];
            new SplittableRandom(2).nextBytes(payload);
            for (long i = 0; i < warmupRecords; i++) {
                roundTrip(producer, consumer, payload, i);
            }
            if (warmupRecords > 0) {
                root.out.printf("Warm-up: %d records sent and received, not counted%n", warmupRecords);
            }
            LatencyStats stats = new LatencyStats("received", common.records, 500_000, common.reportingIntervalMs, root.out,
                    System.nanoTime());
            for (long i = 0; i < common.records; i++) {
                long start = System.nanoTime();
                roundTrip(producer, consumer, payload, warmupRecords + i);
                long now = System.nanoTime();
                stats.record((now - start) / 1_000, payload.length, now);
            }
            stats.printTotal(System.nanoTime());
            double[] p = stats.percentilesMillis(0.5, 0.99, 0.999);
            root.out.printf("Avg latency: %.4f ms%n", stats.avgMillis());
            root.out.printf("Percentiles: 50th = %.3f, 99th = %.3f, 99.9th = %.3f (ms)%n", p[0], p[1], p[2]);
            PerfProduce.printMetrics(root.out, "Producer metrics", producer.metrics());
            PerfProduce.printMetrics(root.out, "Consumer metrics", consumer.metrics());
        }
        return BasaltCli.OK;
    }

    /** Sends record {@code sequence}, waits for its acknowledgement, then polls until it is consumed. */
    private void roundTrip(Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> consumer, byte[] payload, long sequence) {
        ByteBuffer.wrap(payload).putLong(0, sequence);
        Producer.await(producer.send(new ProducerRecord<>(common.topic, payload)), Duration.ofMillis(timeoutMs + 30_000));
        awaitReceipt(consumer, sequence);
    }

    private void awaitReceipt(Consumer<byte[], byte[]> consumer, long sequence) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                if (r.value() != null && r.value().length >= 8 && ByteBuffer.wrap(r.value()).getLong(0) == sequence) {
                    return;
                }
            }
        }
        throw new ClientTimeoutException("record " + sequence + " was acknowledged but not consumed within " + timeoutMs + " ms");
    }
}
